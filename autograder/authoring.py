"""Write lesson source notebooks with correct nbgrader metadata.

A lesson is a list of cells; each helper adds one cell with the metadata nbgrader needs::

    nb = LessonBuilder()
    nb.md("# 01 · Sequences")
    nb.setup("import numpy as np\\nimport rnnkit\\nrng = rnnkit.setup_notebook(0)")
    nb.answer("q01_one_hot", "def one_hot(ids, V):\\n    ### BEGIN SOLUTION\\n ...")
    nb.test("t01_one_hot", "check_close(...)\\n### BEGIN HIDDEN TESTS\\n...", points=2)
    nb.write("solutions/01-sequences/01-sequences.ipynb")

Cell ids are derived from grade ids (or a counter), so rewriting a lesson gives the same file.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["LessonBuilder"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


class LessonBuilder:
    """Collects cells and writes an nbgrader source notebook."""

    def __init__(self) -> None:
        self.cells: list = []
        self._n = 0
        self._ids: set[str] = set()

    def _auto_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n:03d}"

    def _add(self, cell, grade_id: str) -> None:
        if grade_id in self._ids:
            raise ValueError(f"grade_id {grade_id!r} is used twice.")
        self._ids.add(grade_id)
        cell["id"] = grade_id.replace("_", "-")
        self.cells.append(cell)

    def md(self, text: str) -> None:
        """A read-only explanation cell."""
        gid = self._auto_id("md")
        cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
        cell.metadata.update(_meta(gid, grade=False, solution=False, locked=True))
        self._add(cell, gid)

    def code(self, source: str, grade_id: str | None = None) -> None:
        """A read-only code cell (a demonstration or a plot)."""
        gid = grade_id or self._auto_id("code")
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.metadata.update(_meta(gid, grade=False, solution=False, locked=True))
        self._add(cell, gid)

    def setup(self, source: str) -> None:
        """The read-only first code cell: imports and seeds."""
        self.code(source, grade_id="setup")

    def scratch(self, source: str = "") -> None:
        """An editable cell with no grading role (for the student to experiment)."""
        gid = self._auto_id("scratch")
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        self._add(cell, gid)

    def answer(self, grade_id: str, source: str) -> None:
        """An autograded answer: code between ``### BEGIN SOLUTION`` / ``### END SOLUTION``."""
        if "### BEGIN SOLUTION" not in source:
            raise ValueError(f"{grade_id}: an answer cell needs a ### BEGIN SOLUTION block.")
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
        self._add(cell, grade_id)

    def test(self, grade_id: str, source: str, points: float) -> None:
        """A locked, autograded test cell; hidden parts go between ``### BEGIN/END HIDDEN TESTS``."""
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True,
                                   points=points))
        self._add(cell, grade_id)

    def manual(self, grade_id: str, model_answer: str, points: float, rubric: str) -> None:
        """A manually graded free-text answer (markdown); model answer and rubric stay in the
        source, the student sees "YOUR ANSWER HERE"."""
        text = (
            "### BEGIN SOLUTION\n"
            f"**Model answer.** {model_answer.strip()}\n\n"
            f"**Rubric ({points:g} points).** {rubric.strip()}\n"
            "### END SOLUTION"
        )
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False,
                                   points=points))
        self._add(cell, grade_id)

    def notebook(self):
        nb = nbformat.v4.new_notebook()
        nb.cells = self.cells
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        nb.metadata["language_info"] = {"name": "python"}
        return nb

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = self.notebook()
        nbformat.validate(nb)
        nbformat.write(nb, str(path))
        return path
