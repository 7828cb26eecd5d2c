"""A lesson's hand-outs (earlier lessons' code released beside its notebook) are importable
where the notebook runs: in the grading kernel's folder, in the judge that runs the setup and
test cells, and in ``rnn-course validate``, which runs a notebook in its own folder."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

LESSON = "99-handouts"
HELPER = "def twice(x):\n    return 2 * x\n"


def _cell(source: str, gid: str, **meta):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, "locked": False,
                                 "solution": False, "grade": False, **meta}
    return cell


def _notebook(answer: str, hidden: bool = True):
    test = "check_equal(answer_fn(3), helper.twice(3), 'answer_fn(3)')\n"
    if hidden:
        test += ("### BEGIN HIDDEN TESTS\n"
                 "check_equal(answer_fn(5), helper.twice(5), 'answer_fn(5)')\n"
                 "### END HIDDEN TESTS\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        _cell("import helper\nfrom rnnkit.checks import check_equal", "setup", locked=True),
        _cell(answer, "q99_answer", solution=True),
        _cell(test, "t99_answer", grade=True, locked=True, points=1),
    ]
    return nb


def _grade(tmp_path: Path, answer: str) -> list[dict]:
    from autograder.grade import GradeSettings, run_worker
    from autograder.submissions import Submission

    ws = tmp_path / "ws"
    for folder, hidden in (("lessons", False), ("solutions", True)):
        (ws / folder / LESSON).mkdir(parents=True)
        nbformat.write(_notebook(answer, hidden), str(ws / folder / LESSON / f"{LESSON}.ipynb"))
    (ws / "lessons" / LESSON / "helper.py").write_text(HELPER)
    sub = ws / "submitted" / "ann" / LESSON
    sub.mkdir(parents=True)
    nbformat.write(_notebook(answer, False), str(sub / f"{LESSON}.ipynb"))
    info = run_worker(ws, Submission("ann", LESSON, sub / f"{LESSON}.ipynb"), GradeSettings(),
                      [], None)
    assert info.get("success"), info
    graded = ws / "autograded" / "ann" / LESSON / f"{LESSON}.ipynb"
    cells = json.loads(graded.read_text())["cells"]
    return [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]


def test_grading_kernel_and_judge_import_the_handouts(tmp_path):
    errors = _grade(tmp_path, "import helper\n\ndef answer_fn(x):\n    return helper.twice(x)\n")
    assert errors == [], errors


def test_a_wrong_answer_still_fails_with_handouts(tmp_path):
    errors = _grade(tmp_path, "import helper\n\ndef answer_fn(x):\n    return helper.twice(x) + 1\n")
    assert [e["ename"] for e in errors] == ["CheckFailed"], errors
    assert "answer_fn(3)" in errors[0]["evalue"]


def test_validate_imports_handouts_beside_the_notebook(tmp_path):
    from rnnkit.validate import validate_notebook

    folder = tmp_path / LESSON
    folder.mkdir()
    path = folder / f"{LESSON}.ipynb"
    nbformat.write(_notebook("def answer_fn(x):\n    return 2 * x\n", False), str(path))
    (folder / "helper.py").write_text(HELPER)
    rows = validate_notebook(path, timeout=60)
    assert ("t99_answer", "passed", "") in rows, rows
    (folder / "helper.py").unlink()
    rows = validate_notebook(path, timeout=60)
    assert any(status != "passed" for _, status, _ in rows), rows


@pytest.mark.parametrize("lesson", __import__("conftest").lessons())
def test_handouts_are_written_beside_every_solution(lesson):
    """The session fixture writes each lesson's hand-outs before any test runs a solution."""
    from autograder.course import source_notebook
    from autograder.release import handouts

    folder = source_notebook(lesson).parent
    for name, text in handouts(lesson).items():
        assert (folder / name).read_text(encoding="utf-8") == text
