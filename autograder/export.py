"""``rnn-course export``: the grades out of the gradebook, with the points given by hand in
Formgrader."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .course import CourseError


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
