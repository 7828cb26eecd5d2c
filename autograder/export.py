"""``rnn-course export``: the grades out of the gradebook, with the points given by hand in
Formgrader.

``rnn-course grade`` scores every test cell and writes ``grades.csv`` once; the free-text
answers are then scored by hand in Formgrader (``make instructor``), which writes the
points into the same gradebook. ``rnn-course export --grading grading/`` writes
``grading/grades.csv`` again, nbgrader's CSV export, whose ``score`` counts a manual score in
place of the automatic one.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .course import CourseError, tools_on_path


def gradebook_url(grading: Path, db_url: str | None = None) -> str:
    """The gradebook of the grading folder ``grading`` (``rnn-course grade --out``)."""
    return db_url or os.environ.get("RNN_COURSE_DB_URL") or \
        f"sqlite:///{Path(grading).resolve() / 'gradebook.db'}"


def export_command(grading: str, out: str | None = None, db_url: str | None = None) -> int:
    """Write nbgrader's CSV export of the gradebook: each row's score counts the points
    given by hand in Formgrader (a manual score replaces the automatic one)."""
    from .grade import export_csv

    folder = Path(grading)
    url = gradebook_url(folder, db_url)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise CourseError(f"{folder}: no gradebook.db here; grade first: "
                          f"rnn-course grade submitted/ --out {grading}")
    tools_on_path()  # nbgrader's Gradebook runs alembic by name
    from nbgrader.api import Gradebook

    path = Path(out) if out else folder / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    export_csv(url, path)
    with Gradebook(url) as gb:
        by_hand = sum(1 for a in gb.assignments for s in a.submissions for n in s.notebooks
                      for g in n.grades if g.manual_score is not None)
    with open(path, newline="", encoding="utf-8") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    print(f"wrote {path}: {rows} rows (one per student and lesson); "
          f"scores given by hand in Formgrader: {by_hand}")
    return 0
