"""``rnn-course grade --regrade`` keeps the scores an instructor gave by hand in Formgrader.

One lesson, one student (every answer right) is graded; a score is then given by hand the
way Formgrader's grading page stores it (nbgrader's Gradebook: ``manual_score`` set,
``needs_manual_grade`` cleared), for the free-text answer and over an autograded test's
score; the class is graded again with ``--regrade``. Both hand scores stay in the gradebook
and in ``grades.csv`` and ``report.json``, and nothing asks to be graded by hand again.
"""

from __future__ import annotations

import csv
import json

import nbformat
from test_instructor import FREE_TEXT, LESSON, _rnn_course, student_notebook


def _give_by_hand(url: str, student: str, scores: dict[str, float]) -> None:
    """What Formgrader's grade API does with a score typed on its grading page."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        for grade_id, score in scores.items():
            grade = gb.find_grade(grade_id, LESSON, LESSON, student)
            grade.manual_score = score
            grade.needs_manual_grade = False
        gb.db.commit()


def _hand_grades(url: str, student: str) -> dict[str, tuple]:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        nb = gb.find_submission_notebook(LESSON, LESSON, student)
        return {g.name: (g.manual_score, g.needs_manual_grade) for g in nb.grades
                if g.manual_score is not None or g.needs_manual_grade}


def _report_cells(out) -> dict[str, dict]:
    report = json.loads((out / "report.json").read_text())
    [sub] = report["submissions"]
    return {c["grade_id"]: c for c in sub["cells"]}


def test_regrade_keeps_the_scores_given_by_hand(tmp_path):
    sub = tmp_path / "submitted" / "ann" / LESSON
    sub.mkdir(parents=True)
    nbformat.write(student_notebook(), str(sub / f"{LESSON}.ipynb"))
    out = tmp_path / "grading"
    url = f"sqlite:///{out / 'gradebook.db'}"
    first = _rnn_course("grade", "submitted/", "--out", "grading/", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    cells = _report_cells(out)
    assert cells[FREE_TEXT]["status"] == "needs manual grading"
    test = next(g for g, c in cells.items() if c["kind"] == "test" and c["max_score"] >= 1)
    assert cells[test]["status"] == "passed"
    auto_total = sum(c["score"] or 0 for c in cells.values())

    half = cells[FREE_TEXT]["max_score"] / 2
    lowered = cells[test]["max_score"] - 1  # the instructor takes a point off a test
    _give_by_hand(url, "ann", {FREE_TEXT: half, test: lowered})
    assert _hand_grades(url, "ann") == {FREE_TEXT: (half, False), test: (lowered, False)}

    again = _rnn_course("grade", "submitted/", "--out", "grading/", "--regrade", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already graded" not in again.stdout  # it did grade again
    assert _hand_grades(url, "ann") == {FREE_TEXT: (half, False), test: (lowered, False)}
    with open(out / "grades.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert float(row["score"]) == auto_total + half - 1
    cells = _report_cells(out)
    assert (cells[FREE_TEXT]["score"], cells[FREE_TEXT]["status"]) == (half, "graded")
    assert cells[test]["score"] == lowered
