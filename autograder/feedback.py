"""Per-student feedback HTML: every test's result and message, never hidden test source or
reference answers, never a traceback.

Everything a student controls is shown as text: outputs keep only their plain text and PNG
or JPEG images (no HTML, SVG, Markdown, JavaScript or widget output is rendered), a markdown
cell that is not the lesson's own is shown as escaped text, the notebook's metadata (widget
state) is the lesson's, and every page carries a Content-Security-Policy that allows no
script at all, as a second line."""

from __future__ import annotations

import base64
import binascii
import html
import re
import secrets
import signal
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests

from rnnkit.limits import LIMITS

from .results import NotebookResult
from .workspace import Workspace

CSP = ("default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       "font-src data:")
_SAFE_IMAGES = ("image/png", "image/jpeg")
MAX_TEXT = LIMITS.feedback_chars  # characters of one output kept in the page


def _text(value) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[… cut]"


def _safe_output(out):
    """A student's output as text and safe images only; None when nothing is left."""
    kind = out.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name="stdout" if out.get("name") != "stderr"
                                      else "stderr", text=_text(out.get("text", "")))
    if kind not in ("display_data", "execute_result"):
        return None
    data = out.get("data", {}) or {}
    kept = {}
    for mime in _SAFE_IMAGES:
        raw = data.get(mime)
        if isinstance(raw, str) and len(raw) < 4 * 1024 * 1024:
            try:
                base64.b64decode(raw.replace("\n", ""), validate=True)
            except (binascii.Error, ValueError):
                continue
            kept[mime] = raw
            break
    if "text/plain" in data:
        kept["text/plain"] = _text(data["text/plain"])
    elif not kept and data:
        kept["text/plain"] = "[output of type " + ", ".join(sorted(map(str, data)))[:200] + \
            " not shown]"
    if not kept:
        return None
    return nbformat.v4.new_output("display_data", data=kept)


def _placeholder(markup: str):
    """A markdown cell that the page shows as ``markup`` (HTML we built, with every
    student-controlled part escaped): the markdown renderer only sees a token, so markdown
    syntax in student text is never interpreted and never costs time."""
    token = "rnncoursehtml" + secrets.token_hex(12)
    cell = nbformat.v4.new_markdown_cell(token)
    cell.metadata["rnn_course_html"] = {"token": token, "html": markup}
    return cell


def _as_text_cell(source: str):
    """A cell showing ``source`` verbatim as escaped text."""
    return _placeholder('<pre class="student-text">' + html.escape(_text(source)) + "</pre>")


def _html_line(text: str):
    """One line of our own, with student-controlled parts already escaped."""
    return _placeholder("<div>" + text.replace("\n", "<br>") + "</div>")


_ICON = {"passed": "✔", "partial": "◐", "failed": "✘", "needs manual grading": "✎",
         "not graded": "✘", "graded": "✔"}


def _summary_cell(result: NotebookResult):
    rows = "".join(
        f"<tr><td><code>{html.escape(c.grade_id)}</code></td><td>{_ICON.get(c.status, '')} "
        f"{html.escape(c.status)}</td><td>{'' if c.score is None else f'{c.score:g}'} / "
        f"{c.max_score:g}</td><td>{html.escape(c.message)}</td></tr>"
        for c in result.cells
    )
    e = html.escape
    head = f"<h1>Feedback: {e(result.lesson)} — {e(result.student)}</h1>"
    if result.status != "graded":
        head += f"<p><b>This notebook could not be graded normally ({e(result.status)}): " \
                f"{e(result.reason)}.</b></p>"
    head += f"<p><b>Score: {result.score:g} / {result.max_score:g}</b></p>"
    table = ("<table><tr><th>cell</th><th>result</th><th>points</th><th>message</th></tr>"
             f"{rows}</table>")
    return _html_line(head + table)


def feedback_notebook(ws: Workspace, result: NotebookResult):
    """The autograded notebook, made safe to show: test cells show only their visible part,
    errors become their one-line message, and each graded cell is followed by its result."""
    release = ws.notebook("release", result.lesson)
    graded = ws.notebook("autograded", result.lesson, result.student)
    release_nb = nbformat.read(str(release), as_version=4)
    lesson_markdown = {c.source for c in release_nb.cells if c.cell_type == "markdown"}
    by_id = {c.grade_id: c for c in result.cells}
    nb = nbformat.v4.new_notebook()
    nb.metadata = {k: v for k, v in release_nb.metadata.items() if k in ("kernelspec",
                                                                          "language_info")}
    nb.cells.append(_summary_cell(result))
    if result.status != "graded" or not graded.is_file():
        return nb
    src = nbformat.read(str(graded), as_version=4)
    hidden_tests = ClearHiddenTests()  # as nbgrader's release removes them
    for i, cell in enumerate(src.cells):
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid is not None and meta.get("locked"):  # a lesson cell: the lesson's source
            hidden_tests.preprocess_cell(cell, {}, i)
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    continue  # the message is in the result line below
                safe = _safe_output(out)
                if safe is not None:
                    outputs.append(safe)
            new = nbformat.v4.new_code_cell(_text(cell.source))
            new.outputs = outputs
            nb.cells.append(new)
        elif cell.cell_type == "markdown" and cell.source in lesson_markdown and not \
                cell.get("attachments"):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source))
        else:  # a student's markdown or raw cell: shown as text, never rendered
            nb.cells.append(_as_text_cell(cell.source))
        if gid in by_id and meta.get("grade"):
            c = by_id[gid]
            pts = "" if c.score is None else f"{c.score:g}"
            line = (f"<b>{_ICON.get(c.status, '')} <code>{html.escape(str(gid))}</code>: "
                    f"{html.escape(c.status)}, {pts} / {c.max_score:g}</b>")
            if c.message:
                line += f" — {html.escape(c.message)}"
            nb.cells.append(_html_line(line))
    return nb


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)


def render_page(nb) -> str:
    """The page: nbconvert's lab template with no script, and the policy first in head."""
    blocks = {}
    for cell in nb.cells:
        spec = cell.metadata.pop("rnn_course_html", None)
        if spec:
            blocks[spec["token"]] = spec["html"]
    exporter = HTMLExporter(template_name="lab", exclude_input_prompt=False)
    body, _ = exporter.from_notebook_node(nb)
    body = _SCRIPT.sub("", body)  # our template's own scripts (MathJax, require.js)
    if blocks:
        body = re.sub(r"(?:<p>)?(rnncoursehtml[0-9a-f]{24})(?:</p>)?",
                      lambda m: blocks.get(m.group(1), ""), body)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    return body.replace("<head>", "<head>\n" + meta, 1) if "<head>" in body else meta + body


RENDER_SECONDS = 60


class RenderTimeout(Exception):
    pass


def write_feedback(ws: Workspace, result: NotebookResult,
                   seconds: float = RENDER_SECONDS) -> Path:
    """Write one student's page into the workspace's feedback folder, within ``seconds``
    (main thread: an alarm; elsewhere without one)."""
    path = ws.feedback_page(result.lesson, result.student)
    path.parent.mkdir(parents=True, exist_ok=True)

    def expired(*_):
        raise RenderTimeout(f"rendering took longer than {seconds:g} s")

    import threading

    timed = threading.current_thread() is threading.main_thread()
    if timed:
        old = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        nb = feedback_notebook(ws, result)
        body = render_page(nb)
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    path.write_text(body, encoding="utf-8")
    return path
