"""Classic mistakes planted into the solutions: each must be named by its test's message.

Every lesson's reference module lists, next to the cases its tests use, the classic mistakes
of each exercise as :class:`Planted` entries in ``PLANTED``. ``tests/test_mistakes.py``
replaces the answer cell of the solution with each entry's code, runs the test cell, and
checks that the failure names the mistake.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    """One classic mistake of one exercise.

    ``answer``: grade id of the answer cell (``q03_step``); ``code``: that whole cell as a
    student who makes the mistake writes it; ``test``: grade id of the test cell that must
    catch it (``t03_step``); ``says``: words its failure message must contain
    (case-insensitive); ``hidden``: True when only the hidden part of the test can see the
    mistake (the visible part checks only the form), so it is named when graded, not in
    validate.
    """

    answer: str
    code: str
    test: str
    says: str
    name: str = ""
    hidden: bool = False


def answer_source(notebook, grade_id: str) -> str:
    """The answer cell ``grade_id`` of the solution ``notebook`` (a path) as a student would
    hand it in: without its ``### BEGIN/END SOLUTION`` lines."""
    import json
    from pathlib import Path

    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            src = "".join(cell["source"])
            return "\n".join(ln for ln in src.splitlines()
                             if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    raise KeyError(f"{Path(notebook).name} has no answer cell {grade_id!r}")


def plant(notebook, answer: str, test: str, says: str, name: str, *edits: tuple[str, str],
          hidden: bool = False) -> Planted:
    """A :class:`Planted` whose code is the answer cell with each ``(old, new)`` edit made
    once; fails if an ``old`` is not in the cell (the solution changed under it)."""
    src = answer_source(notebook, answer)
    for old, new in edits:
        if old not in src:
            raise ValueError(f"planted mistake {name!r}: {old!r} is not in the answer cell "
                             f"{answer}")
        src = src.replace(old, new, 1)
    return Planted(answer=answer, code=src, test=test, says=says, name=name, hidden=hidden)
