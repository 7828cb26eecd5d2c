"""A class of one lesson and one student (every answer right), graded by ``rnn-course grade``:
its feedback shows each test as released, without its hidden part; ``--regrade`` keeps the
scores an instructor gave by hand in Formgrader.

A score is given by hand the way Formgrader's grading page stores it (nbgrader's Gradebook:
``manual_score`` set, ``needs_manual_grade`` cleared), for the free-text answer and over an
autograded test's score; the class is graded again with ``--regrade``. Both hand scores stay
in the gradebook and in ``grades.csv`` and ``report.json``, and nothing asks to be graded by
hand again.
"""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from conftest import rnn_course
from support import ROOT
from test_instructor import FREE_TEXT, LESSON, grade_a_class


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


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``submitted/ann/LESSON`` graded into ``grading/``; the class folder."""
    return grade_a_class(tmp_path_factory.mktemp("class"))


def test_feedback_shows_the_tests_as_released(graded):
    from autograder.feedback import feedback_notebook
    from autograder.results import load_finished, notebook_digest
    from autograder.workspace import Workspace

    out = graded / "grading"
    ws = Workspace(out / "nbgrader", out / "feedback")
    digest = notebook_digest(graded / "submitted" / "ann" / LESSON / f"{LESSON}.ipynb",
                             ws.notebook("source", LESSON))
    result = load_finished(out, "ann", LESSON, digest)
    shown = [c.source for c in feedback_notebook(ws, result).cells if c.cell_type == "code"]
    release = nbformat.read(str(ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"), 4)
    source = nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), 4)
    tests = [c for c in source.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert tests  # the lesson has hidden tests to hide
    released = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
                if c.metadata.get("nbgrader", {}).get("locked")}
    everywhere = {t.strip() for c in release.cells for t in c.source.splitlines()}
    for cell in tests:
        assert released[cell.metadata["nbgrader"]["grade_id"]] in shown
        hidden = cell.source.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS")[0]
        secret = {t.strip() for t in hidden.splitlines()[1:-1]} - everywhere - {""}
        assert secret, cell.source  # lines only the hidden part holds
        for line in secret:
            assert not any(line in text for text in shown), line
    assert not any("HIDDEN TESTS" in text for text in shown)


def test_regrade_keeps_the_scores_given_by_hand(graded):
    out = graded / "grading"
    url = f"sqlite:///{out / 'gradebook.db'}"
    cells = _report_cells(out)
    assert cells[FREE_TEXT]["status"] == "needs manual grading"
    test = next(g for g, c in cells.items() if c["kind"] == "test" and c["max_score"] >= 1)
    assert cells[test]["status"] == "passed"
    auto_total = sum(c["score"] or 0 for c in cells.values())

    half = cells[FREE_TEXT]["max_score"] / 2
    lowered = cells[test]["max_score"] - 1  # the instructor takes a point off a test
    _give_by_hand(url, "ann", {FREE_TEXT: half, test: lowered})
    assert _hand_grades(url, "ann") == {FREE_TEXT: (half, False), test: (lowered, False)}

    again = rnn_course("grade", "submitted/", "--out", "grading/", "--regrade", cwd=graded)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already graded" not in again.stdout  # it did grade again
    assert _hand_grades(url, "ann") == {FREE_TEXT: (half, False), test: (lowered, False)}
    with open(out / "grades.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert float(row["score"]) == auto_total + half - 1
    cells = _report_cells(out)
    assert (cells[FREE_TEXT]["score"], cells[FREE_TEXT]["status"]) == (half, "graded")
    assert cells[test]["score"] == lowered
