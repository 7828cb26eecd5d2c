"""Build the notebook that is graded from the lesson and a student's submission.

Only the student's *answers* are taken from the submission; everything else comes from the
lesson. Cells are matched by nbgrader grade id:

* read-only cells (explanations, the setup cell, demonstrations, test cells) come from the
  source, whatever the submission did to them (edited, emptied, deleted, moved, duplicated,
  metadata changed); test cells get their hidden parts back;
* each answer cell takes the source text of a submission cell with that grade id (the first
  one changed from the stub, if several); when no cell carries the id — metadata stripped
  by another editor, or changed — the first cell that defines the same names as the
  answer (``def word_tokens``, ``mcq_1 = ...``) stands for it; a deleted answer is the
  unanswered stub, so it earns nothing;
* cells the student added (no known grade id, or a duplicate) are kept, in the student's
  order, after the lesson cell they followed — an honest helper cell still runs;
* cell metadata, kernel spec and notebook metadata are the lesson's; cell ids are made unique
  by nbformat's own ``normalize``.
"""

from __future__ import annotations

import ast
import copy
import re
import warnings

import nbformat
import nbformat.validator

from rnnkit.validate import is_grade, is_solution  # nbgrader.utils' own tests, written out


def _gid(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    gid = meta.get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test(cell) -> bool:
    """An autograded test cell: graded code that is not an answer."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def is_answer(cell) -> bool:
    return is_solution(cell)


def defined_names(source: str) -> set[str]:
    """Top-level names a cell defines (functions, classes, assignments), not imports."""
    names: set[str] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a half-written answer: find its definitions line by line
        found = re.findall(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", source, re.M)
        return {a or b for a, b in found if not (a or b).startswith("_")}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def _text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def pick_answers(release, source, submitted) -> tuple[dict[str, int], set[int]]:
    """Which submission cell (by index) answers each answer cell of the lesson."""
    stubs = {_gid(c): c.source for c in release.cells if _gid(c) and is_answer(c)}
    wanted = {_gid(c): defined_names(c.source) for c in source.cells
              if _gid(c) in stubs and c.cell_type == "code"}
    chosen: dict[str, int] = {}
    for i, cell in enumerate(submitted.cells):
        g = _gid(cell)
        if g in stubs:
            if g not in chosen or (_text(submitted.cells[chosen[g]]) == stubs[g]
                                   and _text(cell) != stubs[g]):
                chosen[g] = i
    used = set(chosen.values())
    known = {_gid(c) for c in release.cells if _gid(c)}
    for g, names in wanted.items():
        if g in chosen or not names:
            continue
        for i, cell in enumerate(submitted.cells):
            if i in used or _gid(cell) in known or cell.get("cell_type") != "code":
                continue
            if names <= defined_names(_text(cell)):
                chosen[g] = i
                used.add(i)
                break
    return chosen, used


def assemble(release, source, submitted) -> nbformat.NotebookNode:
    """``release``: the student version (its answer cells carry nbgrader's checksums);
    ``source``: the instructor version (test cells with hidden tests); ``submitted``: the
    student's notebook, any shape. Returns the notebook to execute."""
    source_tests = {_gid(c): c for c in source.cells if _gid(c) and is_test(c)}
    known = {_gid(c) for c in release.cells if _gid(c)}
    chosen, used = pick_answers(release, source, submitted)
    by_index = {i: g for g, i in chosen.items()}
    answers = {g: _text(submitted.cells[i]) for g, i in chosen.items()}
    extra_after: dict[str | None, list] = {}
    last_known: str | None = None
    placed: set[str] = set()
    lesson_sources = {c.source for c in release.cells} | {c.source for c in source.cells}
    for i, cell in enumerate(submitted.cells):
        gid = _gid(cell)
        if i in by_index:
            last_known = by_index[i]
            continue
        if gid in known and gid not in placed and gid not in chosen:
            placed.add(gid)  # a lesson cell: it is replaced by the lesson's own
            last_known = gid
            continue
        src = _text(cell)
        if src in lesson_sources:
            continue  # a copy of a lesson cell (e.g. metadata stripped): the lesson's runs
        kind = cell.get("cell_type")
        if kind == "code":
            extra_after.setdefault(last_known, []).append(nbformat.v4.new_code_cell(src))
        elif kind == "markdown":
            extra_after.setdefault(last_known, []).append(nbformat.v4.new_markdown_cell(src))
    nb = copy.deepcopy(release)
    cells = []
    for cell in nb.cells:
        gid = _gid(cell)
        if gid and is_test(cell) and gid in source_tests:
            cell.source = source_tests[gid].source
        elif gid and is_answer(cell) and gid in answers:
            cell.source = answers[gid]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        cells.extend(extra_after.get(gid, []) if gid else [])
    # cells the student put before the first lesson cell run after the setup cell
    lead = extra_after.get(None, [])
    if lead:
        setup_at = next((i for i, c in enumerate(cells) if _gid(c) == "setup"), 0)
        cells[setup_at + 1:setup_at + 1] = lead
    nb.cells = cells
    with warnings.catch_warnings():  # nbformat warns about each id it gives or changes
        warnings.simplefilter("ignore")
        _, nb = nbformat.validator.normalize(nb)  # a cell id missing or seen before: a new one
    return nbformat.from_dict(nb)
