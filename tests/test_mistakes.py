"""Every classic mistake listed in a lesson's reference is named by its test.

For each lesson, every :class:`autograder.mistakes.Planted` entry of its reference module's
``PLANTED`` is planted into the solution notebook: the answer cell is replaced by the entry's
code, the cells up to the test cell run, and the test cell runs — its visible part, or the
whole cell with its hidden tests when the entry says ``hidden=True``. The test must fail and
its message must contain the entry's ``says`` (case-insensitive). One kernel runs each lesson:
the solution once, then each mistake and the answer put back (conftest's ``solution_kernel``,
which tests/test_copy.py uses next).

Every answer cell that holds a function or a value must list at least one planted mistake;
free-text answers (markdown cells graded by hand) and multiple choice answers (``mcq_k``,
explained option by option, see ``tests/test_mcq.py``) are exempt.

Run one lesson with ``pytest tests/test_mistakes.py -k 03``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, NotebookKernel, lessons

from autograder.assemble import defined_names
from autograder.mistakes import Planted

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                    re.M | re.S)
MCQ = re.compile(r"^mcq_\d+$")


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def visible_part(source: str) -> str:
    """A test cell as the student sees it: without its hidden tests."""
    return HIDDEN.sub("", source)


def exercises_needing_mistakes(cells) -> list[str]:
    """Grade ids of the answer cells that hold a function or a value (not free text, not
    only MCQ answers)."""
    out = []
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution") or cell.cell_type != "code":
            continue
        names = defined_names(cell.source)
        if names and not all(MCQ.match(n) for n in names):
            out.append(meta["grade_id"])
    return out


def check_planted(notebook: Path, planted: list[Planted], timeout: float = 120,
                  kernel: NotebookKernel | None = None) -> list[str]:
    """Plant each mistake into the solution ``notebook``; return one line per mistake that its
    test does not name (empty when all are named). ``kernel``: one that has run the solution
    already (it is left with every answer put back); by default a kernel of its own."""
    cells = nbformat.read(str(notebook), as_version=4).cells
    index = {_gid(c): i for i, c in enumerate(cells) if _gid(c)}
    problems = []
    for p in planted:
        for gid in (p.answer, p.test):
            if gid not in index:
                problems.append(f"{p.answer} -> {p.test}: {notebook.name} has no cell {gid}")
    if problems:
        return problems
    own = kernel is None
    if own:
        kernel = NotebookKernel(notebook.parent, timeout)
    try:
        failed = kernel.run_notebook(cells) if own else None  # the solution, once
        if failed:
            return [f"the solution itself fails in {failed}"]
        for p in planted:
            a, t = index[p.answer], index[p.test]
            between = [c for c in cells[a + 1:t] if c.cell_type == "code" and not _is_test(c)]
            label = f"{p.answer} ({p.name or p.says!r}) -> {p.test}"
            err = kernel.run(p.code)
            if err and err[0] != "NotImplementedError":
                problems.append(f"{label}: the planted code itself raises {err[0]}: {err[1]}")
            else:
                for c in between:
                    kernel.run(c.source)
                test = cells[t].source if p.hidden else visible_part(cells[t].source)
                err = kernel.run(test)
                where = "its test (hidden part included)" if p.hidden else "its visible test"
                if err is None:
                    problems.append(f"{label}: {where} passes with the mistake planted.")
                elif err[0] != "CheckFailed":
                    problems.append(f"{label}: {where} raises {err[0]}: {err[1]!r} instead of "
                                    "naming the mistake.")
                elif p.says.lower() not in err[1].lower():
                    problems.append(f"{label}: {where} says {err[1]!r}, which does not contain "
                                    f"{p.says!r}.")
            kernel.run(cells[a].source)  # the answer back, and what was built on it
            for c in between:
                kernel.run(c.source)
    finally:
        if own:
            kernel.close()
    return problems


def _reference(lesson: str):
    from autograder.release import reference_module

    return reference_module(lesson)


def _source(lesson: str) -> Path:
    return ROOT / "solutions" / lesson / f"{lesson}.ipynb"


@pytest.mark.parametrize("lesson", lessons())
def test_every_exercise_lists_its_classic_mistakes(lesson):
    planted = list(getattr(_reference(lesson), "PLANTED", []))
    cells = nbformat.read(str(_source(lesson)), as_version=4).cells
    covered = {p.answer for p in planted}
    missing = [g for g in exercises_needing_mistakes(cells) if g not in covered]
    assert not missing, (f"{lesson}: no planted mistake (PLANTED in "
                         f"autograder/reference/l{lesson.replace('-', '_')}.py) for {missing}")


@pytest.mark.parametrize("solution_kernel", lessons(), indirect=True)
def test_every_planted_mistake_is_named(solution_kernel):
    lesson = solution_kernel.lesson
    planted = list(getattr(_reference(lesson), "PLANTED", []))
    if not planted:
        pytest.fail(f"{lesson}: its reference lists no PLANTED mistakes")
    problems = check_planted(_source(lesson), planted, kernel=solution_kernel)
    assert not problems, f"{lesson}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- the driver itself


def _toy_notebook(folder: Path) -> Path:
    def cell(src, gid, **meta):
        c = nbformat.v4.new_code_cell(src)
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": False, "grade": False,
                                  "locked": True, "schema_version": 3, **meta}
        return c

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        cell("import numpy as np\nimport rnnkit\nfrom rnnkit.checks import check_close, "
             "check_true\nrnnkit.setup_notebook()", "setup"),
        cell("def softmax(z):\n    ### BEGIN SOLUTION\n    e = np.exp(z - z.max(-1, keepdims=True))"
             "\n    return e / e.sum(-1, keepdims=True)\n    ### END SOLUTION", "q99_softmax",
             solution=True, locked=False),
        cell("_z = np.array([[1.0, 2.0], [0.0, 0.0]])\nprobs = softmax(_z)", "code-003"),
        cell("check_close(probs, [[0.26894142, 0.73105858], [0.5, 0.5]], 'softmax', mistakes=["
             "(np.exp(_z) / np.exp(_z).sum(), 'it is normalised over the whole array.')])\n"
             "### BEGIN HIDDEN TESTS\n"
             "check_true(np.isfinite(softmax(np.array([[1000.0, 1000.0]]))).all(), 'softmax "
             "of large scores overflows: subtract the max first.')\n### END HIDDEN TESTS", "t99_softmax", grade=True, points=1),
        cell("### BEGIN SOLUTION\nmcq_1 = {'A'}\n### END SOLUTION", "q99_mcq", solution=True,
             locked=False),
    ]
    path = folder / "toy.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_the_driver_finds_named_unnamed_and_uncaught_mistakes(tmp_path):
    path = _toy_notebook(tmp_path)
    whole = "def softmax(z):\n    e = np.exp(z)\n    return e / e.sum()\n"
    naive = "def softmax(z):\n    e = np.exp(z)\n    return e / e.sum(-1, keepdims=True)\n"
    planted = [
        Planted("q99_softmax", whole, "t99_softmax", "whole array", "sum over everything"),
        Planted("q99_softmax", naive, "t99_softmax", "subtract the max", "overflow",
                hidden=True),
        Planted("q99_softmax", whole, "t99_softmax", "wrong axis", "says something else"),
        Planted("q99_softmax", naive, "t99_softmax", "subtract the max", "visible misses it"),
        Planted("q99_softmax", "def softmax(z):\n    return z +\n", "t99_softmax", "x",
                "does not parse"),
    ]
    problems = check_planted(path, planted)
    assert len(problems) == 3, problems
    assert "does not contain 'wrong axis'" in problems[0]
    assert "visible test passes with the mistake planted" in problems[1]
    assert "raises SyntaxError" in problems[2]
    assert check_planted(path, planted[:2]) == []
    # the answer was put back between mistakes: a right answer after a wrong one is not blamed
    assert check_planted(path, [planted[0], Planted("q99_softmax", whole, "t99_nope", "x")]) \
        == ["q99_softmax -> t99_nope: toy.ipynb has no cell t99_nope"]
    cells = nbformat.read(str(path), as_version=4).cells
    assert exercises_needing_mistakes(cells) == ["q99_softmax"]
