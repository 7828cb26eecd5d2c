"""Per-student feedback HTML: every test's result and message, never hidden test source or
reference answers, never a traceback."""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .grade import NotebookResult

_ICON = {"passed": "✔", "partial": "◐", "failed": "✘", "needs manual grading": "✎",
         "not graded": "✘", "graded": "✔"}


def _visible_sources(release_nb) -> dict[str, str]:
    return {
        c.metadata.nbgrader["grade_id"]: c.source for c in release_nb.cells
        if "nbgrader" in c.metadata and "grade_id" in c.metadata.nbgrader
    }


def _summary_cell(result: NotebookResult):
    rows = "".join(
        f"<tr><td><code>{html.escape(c.grade_id)}</code></td><td>{_ICON.get(c.status, '')} "
        f"{html.escape(c.status)}</td><td>{'' if c.score is None else f'{c.score:g}'} / "
        f"{c.max_score:g}</td><td>{html.escape(c.message)}</td></tr>"
        for c in result.cells
    )
    head = f"# Feedback: {result.lesson} — {result.student}\n\n"
    if result.status != "graded":
        head += f"**This notebook could not be graded normally ({result.status}): " \
                f"{html.escape(result.reason)}.**\n\n"
    head += f"**Score: {result.score:g} / {result.max_score:g}**\n\n"
    table = ("<table><tr><th>cell</th><th>result</th><th>points</th><th>message</th></tr>"
             f"{rows}</table>")
    return nbformat.v4.new_markdown_cell(head + table)


def feedback_notebook(ws: Path, result: NotebookResult):
    """The autograded notebook, made safe to show: test cells show only their visible part,
    errors become their one-line message, and each graded cell is followed by its result."""
    release = ws / "lessons" / result.lesson / f"{result.lesson}.ipynb"
    graded = ws / "autograded" / result.student / result.lesson / f"{result.lesson}.ipynb"
    visible = _visible_sources(nbformat.read(str(release), as_version=4))
    by_id = {c.grade_id: c for c in result.cells}
    nb = nbformat.v4.new_notebook()
    nb.cells.append(_summary_cell(result))
    if result.status != "graded" or not graded.is_file():
        return nb
    src = nbformat.read(str(graded), as_version=4)
    nb.metadata = src.metadata
    for cell in src.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid in visible and meta.get("locked"):
            cell.source = visible[gid]  # hidden tests removed, as in the release
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    continue  # the message is in the result line below
                outputs.append(out)
            cell.outputs = outputs
        nb.cells.append(cell)
        if gid in by_id and meta.get("grade"):
            c = by_id[gid]
            pts = "" if c.score is None else f"{c.score:g}"
            line = f"**{_ICON.get(c.status, '')} `{gid}`: {c.status}, {pts} / {c.max_score:g}**"
            if c.message:
                line += f" — {html.escape(c.message)}"
            nb.cells.append(nbformat.v4.new_markdown_cell(line))
    return nb


def write_feedback(ws: Path, result: NotebookResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = feedback_notebook(ws, result)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path = folder / f"{result.lesson}.html"
    path.write_text(body, encoding="utf-8")
    return path
