"""A class: grades out of the gradebook (``rnn-course export``) and a JupyterHub for the
course on this machine (``rnn-course hub ...``, ``make hub``)."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from .course import CourseError

# ---------------------------------------------------------------- export


def gradebook_url(grading: Path, db_url: str | None = None) -> str:
    """The gradebook of the grading folder ``grading`` (``rnn-course grade --out``)."""
    return db_url or os.environ.get("RNN_COURSE_DB_URL") or \
        f"sqlite:///{Path(grading).resolve() / 'gradebook.db'}"


def export_command(grading: str, out: str | None = None, db_url: str | None = None) -> int:
    """Write nbgrader's CSV export of the gradebook: each row's score counts the points
    given by hand in Formgrader (a manual score replaces the automatic one)."""
    from nbgrader.api import Gradebook

    from .grade import export_csv

    folder = Path(grading)
    url = gradebook_url(folder, db_url)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise CourseError(f"{folder}: no gradebook.db here; grade first: "
                          f"rnn-course grade submitted/ --out {grading}")
    path = Path(out) if out else folder / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    export_csv(url, path)
    with Gradebook(url) as gb:
        by_hand = sum(1 for a in gb.assignments for s in a.submissions for n in s.notebooks
                      for g in n.grades if g.manual_score is not None)
    with open(path, newline="", encoding="utf-8") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    print(f"wrote {path}: {rows} rows (student and lesson), {by_hand} answers graded by hand "
          "in Formgrader counted")
    return 0


# ---------------------------------------------------------------- hub


def add_hub_commands(sub) -> None:
    h = sub.add_parser("hub", help="run the course on JupyterHub for a class (instructor)")
    h.set_defaults(hub_command=None)


def hub_command(args) -> int:
    print("rnn-course hub: not available yet.", file=sys.stderr)
    return 2
