"""``collect``: one notebook's per-cell results, from the gradebook's scores and the messages
the grading worker returned with the notebook (autograder/grade.py).

A gradebook in SQLite written through nbgrader's API, no kernel: runs in seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbgrader.api
import pytest
from nbgrader.api import Gradebook

from autograder.grade import collect
from autograder.results import CellResult, NotebookResult
from autograder.submissions import Submission

LESSON = "03-rnn-cell"
# grade_id: (cell type, max score, solution cell?)
CELLS = {
    "q03_code_by_hand": ("code", 2, True),  # an answer in code, graded by hand
    "q03_why": ("markdown", 3, True),  # a free-text answer
    "t03_full": ("code", 3, False),
    "t03_none": ("code", 1, False),
    "t03_part": ("code", 2, False),
    "t03_quiet": ("code", 1, False),
    "t03_said": ("code", 1, False),
}


def _alembic_head() -> str:
    """What nbgrader's ``get_alembic_version`` finds by running ``alembic heads``, read in
    this process (a new interpreter importing nbgrader takes seconds)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite://") as ini:
        return ScriptDirectory.from_config(Config(ini)).get_current_head()


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    """Lesson 03 with the cells of :data:`CELLS`, ann's submission autograded: her tests'
    scores set, her answers graded by hand still waiting (made once)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nbgrader.api, "get_alembic_version", _alembic_head)
        Gradebook(f"sqlite:///{path}").close()
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment(LESSON)
        gb.add_notebook(LESSON, LESSON)
        for name, (cell_type, points, solution) in CELLS.items():
            gb.add_grade_cell(name, LESSON, LESSON, max_score=points, cell_type=cell_type)
            if solution:
                gb.add_solution_cell(name, LESSON, LESSON)
        gb.add_student("ann")
        gb.add_submission(LESSON, "ann")
        scores = {"t03_full": 3, "t03_none": 0, "t03_part": 1, "t03_quiet": 0, "t03_said": 0}
        for name in CELLS:
            grade = gb.find_grade(name, LESSON, LESSON, "ann")
            grade.auto_score = scores.get(name)
            grade.needs_manual_grade = name not in scores
        gb.db.commit()
    return path


@pytest.fixture
def db_url(gradebook: Path, tmp_path: Path) -> str:
    """A copy of :func:`gradebook` of this test's own."""
    shutil.copy(gradebook, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def said(grade_id: str, error: str = "", printed: str = "", solution: bool = False) -> dict:
    """One cell as the worker returns it."""
    return {"grade_id": grade_id, "solution": solution, "error": error, "printed": printed}


WORKER_CELLS = [
    said("q03_code_by_hand", solution=True), said("q03_why", solution=True),
    said("t03_full"), said("t03_none", error="ValueError: h has shape (2, 3), expected (3, 2)"),
    said("t03_part", printed="2 of 4 cases right"), said("t03_quiet"),
    said("t03_said", printed="h[1] is off by W_hh"),
]


def _collect(db_url, cells, status="graded", reason="") -> NotebookResult:
    result = NotebookResult("ann", LESSON, status, reason)
    collect(db_url, Submission("ann", LESSON, Path("unused.ipynb")), result, cells)
    return result


def test_scores_statuses_and_messages_of_a_graded_notebook(db_url):
    result = _collect(db_url, WORKER_CELLS)
    assert result.cells == [  # by grade id
        CellResult("q03_code_by_hand", "manual", None, 2, "needs manual grading", ""),
        CellResult("q03_why", "manual", None, 3, "needs manual grading", ""),
        CellResult("t03_full", "test", 3, 3, "passed", ""),
        CellResult("t03_none", "test", 0, 1, "failed",
                   "ValueError: h has shape (2, 3), expected (3, 2)"),
        CellResult("t03_part", "test", 1, 2, "partial", "2 of 4 cases right"),
        CellResult("t03_quiet", "test", 0, 1, "failed", "the test did not pass."),
        CellResult("t03_said", "test", 0, 1, "failed", "h[1] is off by W_hh"),
    ]
    assert (result.score, result.max_score) == (4.0, 13.0)


def test_a_score_given_by_hand_counts(db_url):
    with Gradebook(db_url) as gb:
        for name, score in (("q03_why", 2.5), ("t03_part", 2)):  # as Formgrader stores them
            grade = gb.find_grade(name, LESSON, LESSON, "ann")
            grade.manual_score, grade.needs_manual_grade = score, False
        gb.db.commit()
    cells = {c.grade_id: c for c in _collect(db_url, WORKER_CELLS).cells}
    assert (cells["q03_why"].score, cells["q03_why"].status) == (2.5, "graded")
    assert (cells["t03_part"].score, cells["t03_part"].status) == (2, "passed")
    assert cells["q03_code_by_hand"].score is None  # still waiting for its grader
    assert _collect(db_url, WORKER_CELLS).score == 3 + 2.5 + 2


def test_a_notebook_that_did_not_run_is_not_graded_and_says_why(db_url):
    result = _collect(db_url, None, "timeout", "the notebook ran longer than 600 s")
    assert [(c.grade_id, c.status, c.message) for c in result.cells] == [
        (name, "needs manual grading" if name.startswith("q") else "not graded",
         "the notebook ran longer than 600 s") for name in sorted(CELLS)]
    assert [c.kind for c in result.cells] == ["manual"] * 2 + ["test"] * 5
    assert result.status == "timeout" and result.max_score == 13.0


def test_missing_and_extra_cells_of_the_notebook(db_url):
    """A cell the worker did not report is judged by its score alone, with no message; one
    the gradebook does not know is left out (it earns nothing)."""
    cells = [c for c in WORKER_CELLS if c["grade_id"] not in ("t03_none", "q03_code_by_hand")]
    cells += [said("t03_planted", printed="ok"), said("q03_extra", solution=True)]
    result = _collect(db_url, cells)
    by_id = {c.grade_id: c for c in result.cells}
    assert sorted(by_id) == sorted(CELLS)
    assert (by_id["t03_none"].status, by_id["t03_none"].message) == ("failed", "")
    # without the worker's word, an answer graded by hand is known from the gradebook alone
    assert (by_id["q03_code_by_hand"].kind, by_id["q03_code_by_hand"].status) == (
        "manual", "needs manual grading")
    assert (result.score, result.max_score) == (4.0, 13.0)


def test_a_submission_missing_from_the_gradebook_adds_nothing(db_url):
    result = NotebookResult("bo", LESSON, "missing", "no 03-rnn-cell.ipynb was submitted")
    collect(db_url, Submission("bo", LESSON, Path("unused.ipynb")), result, None)
    assert result.cells == [] and (result.score, result.max_score) == (0.0, 0.0)
