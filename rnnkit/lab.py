"""The course's JupyterLab server extension: nbgrader's *Validate* button runs
``rnn-course validate``.

nbgrader's lab extension posts the open notebook's path to ``/assignments/validate`` and
shows the answer in a dialog. Stock nbgrader answers with the source and the coloured
traceback of every failing cell; this handler answers with exactly the lines
``rnn-course validate`` prints (:func:`rnnkit.validate.report`): one per test, the same
sentence for every exercise not answered yet, then the count. A notebook that passes shows
nbgrader's own "Success!" message.

The course's Jupyter configuration (``rnnkit/labconfig`` for students, the instructor's and
the hub's folders written by ``autograder``) enables this module and disables
``nbgrader.server_extensions.validate_assignment``, whose handlers would otherwise answer
first; ``/nbgrader_version`` (the button's version check) is nbgrader's own handler.

The dialog's text is the report in one ``<pre>``; nbgrader's dialog puts a heading ("The
following cell failed:") and an error box around it, which a style rule sent with the answer
hides while the dialog is open.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

# nbgrader's dialog: <div id="validation-message"> holds, per failed entry, a <div><p>heading
# </p></div>, a <div class="jp-RenderedText"><pre>source</pre></div> and the same for the
# error (set as HTML). Only the report (the first <pre>) stays visible.
_ONLY_THE_REPORT = (
    "<style>#validation-message > div:not(.jp-RenderedText),"
    " #validation-message > div.jp-RenderedText:nth-child(3n) { display: none; }"
    " #validation-message pre { white-space: pre-wrap; }</style>"
)


def validation_answer(path: Path, timeout: int) -> dict:
    """What the Validate dialog is sent for the notebook at ``path``: nbgrader's format,
    ``{"success": True, "value": {...}}`` or ``{"success": False, "value": message}``."""
    from .validate import report, validate_notebook

    try:
        rows = validate_notebook(path, timeout=timeout)
    except ValueError as e:
        return {"success": False, "value": str(e)}
    lines, status = report(rows)
    if status == 0:
        return {"success": True, "value": {}}  # nbgrader's "Success! ..." dialog
    return {"success": True, "value": {"failed": [
        {"source": "\n".join(lines), "error": _ONLY_THE_REPORT},
    ]}}


class ValidateHandler(JupyterHandler):
    """``POST /assignments/validate`` with ``path`` (relative to the server's root)."""

    @web.authenticated
    async def post(self):
        path = self.get_argument("path", None)
        if path is None:
            path = (self.get_json_body() or {}).get("path")
        if not path:
            raise web.HTTPError(400, "no notebook path given")
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "the notebook is outside the server's folder")
        timeout = int(os.environ.get("RNN_COURSE_CELL_TIMEOUT", "120"))
        answer = await asyncio.to_thread(validation_answer, target, timeout)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


def _jupyter_server_extension_points():
    return [{"module": "rnnkit.lab"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from nbgrader.server_extensions.validate_assignment.handlers import NbGraderVersionHandler

    webapp = serverapp.web_app
    base = webapp.settings["base_url"]
    webapp.add_handlers(".*$", [
        (url_path_join(base, "assignments/validate"), ValidateHandler),
        (url_path_join(base, "nbgrader_version"), NbGraderVersionHandler),
    ])
    serverapp.log.info("rnnkit.lab: Validate runs `rnn-course validate`")

