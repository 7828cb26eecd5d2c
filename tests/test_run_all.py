"""A fresh notebook as a student meets it: every failed check and every unanswered exercise
shows as one sentence, and Run All goes on past them in JupyterLab while unattended runs
(``rnn-course validate``, nbconvert, grading) still see each failure.

The kernel-level tests talk to a real IPython kernel as JupyterLab does (``allow_stdin`` and
``stop_on_error`` set) and as nbclient and the grader do (``allow_stdin`` off). The browser
test opens an untouched lesson in JupyterLab in headless Chromium, runs *Run All* and checks
that no traceback appears and that the figures after the first exercise are drawn
(lesson 03; ``RNN_COURSE_RUN_ALL_LESSON=NN-name`` picks another).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from support import ROOT, free_port

from rnnkit.checks import failure_sentence

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="the real-browser test needs Debian's chromium at /usr/bin/chromium "
           "(apt-get install chromium); it always runs in CI",
)
LESSON = os.environ.get("RNN_COURSE_RUN_ALL_LESSON", "03-rnn-cell")
TRACEBACK_MARKS = ("Traceback", "Cell In[", "-" * 40, "most recent call last")


@pytest.fixture(scope="module")
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code: str, person: bool) -> tuple[str, list[dict]]:
    """(reply status, error outputs) of one execute request; ``person``: as JupyterLab sends
    it (input allowed, stop on error), else as nbclient and the grader send it."""
    msg_id = kc.execute(code, allow_stdin=person, stop_on_error=True)
    errors = []
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        if msg["msg_type"] == "error":
            errors.append(msg["content"])
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]["status"], errors


def test_failures_show_as_one_sentence_and_do_not_stop_a_person(kernel):
    assert _run(kernel, "import rnnkit\nrng = rnnkit.setup_notebook()", True)[0] == "ok"
    _run(kernel, "import numpy as np\nfrom rnnkit.checks import check_close\n"
                 "def rnn_step_forward(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
         True)
    cases = [
        ("rnn_step_forward(1)", "rnn_step_forward is not answered yet"),
        ("# YOUR CODE HERE\nraise NotImplementedError()", "this exercise is not answered yet"),
        ("print(shape_XW)", "`shape_XW` is not defined yet"),
        ("check_close(np.zeros(2), np.ones(2), 'h_next')", "h_next is wrong at index (0,)"),
    ]
    for code, says in cases:
        for person in (True, False):
            status, errors = _run(kernel, code, person)
            assert len(errors) == 1, (code, errors)
            shown = "\n".join(errors[0]["traceback"])
            assert says in shown and not any(m in shown for m in TRACEBACK_MARKS), shown
            assert len(errors[0]["traceback"]) == 1
            # a person's Run All goes on; validate, nbconvert and the grader see the failure
            assert status == ("ok" if person else "error"), (code, person, status)


def test_other_errors_keep_their_traceback_and_stop_run_all(kernel):
    _run(kernel, "import rnnkit\nrnnkit.setup_notebook()", True)
    status, errors = _run(kernel, "def f(x):\n    return x @ x\nf(3)", True)
    assert status == "error" and errors[0]["ename"] == "TypeError"
    assert any("Cell In[" in line or "Traceback" in line for line in errors[0]["traceback"])
    # NotImplementedError from library code is not an unanswered exercise
    status, errors = _run(kernel, "import logging\nlogging.Handler().emit(None)", True)
    assert status == "error" and len(errors[0]["traceback"]) > 1


def test_failure_sentence_is_the_one_wording():
    assert failure_sentence("CheckFailed", "h_next is wrong.") == "h_next is wrong."
    assert failure_sentence("NotImplementedError", "", where="test") == \
        "an exercise this test relies on is not answered yet."
    assert failure_sentence("NotImplementedError", "Vocab.encode").startswith(
        "Vocab.encode is not answered yet")
    assert "`H` is not defined yet" in failure_sentence("NameError", "name 'H' is not defined")
    assert failure_sentence("ValueError", "bad shape") == "ValueError: bad shape"


def test_validate_still_sees_every_failure(tmp_path):
    """``rnn-course validate`` (nbclient) runs every cell and reports each failure."""
    from rnnkit.validate import validate_notebook

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}

    def cell(src, gid, **meta):
        c = nbformat.v4.new_code_cell(src)
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": False, "grade": False,
                                  "locked": True, "schema_version": 3, **meta}
        return c

    nb.cells = [
        cell("import rnnkit\nfrom rnnkit.checks import check_true\nrnnkit.setup_notebook()",
             "setup"),
        cell("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", "q99_f",
             solution=True, locked=False),
        cell("check_true(f(1) == 2, 'f(1) should be 2.')", "t99_f", grade=True, points=1),
        cell("check_true(False, 'always wrong.')", "t99_g", grade=True, points=1),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    rows = {gid: (status, msg) for gid, status, msg in validate_notebook(path, timeout=60)}
    assert rows["t99_f"][0] == "failed" and rows["t99_g"] == ("failed", "always wrong.")


# ---------------------------------------------------------------- in a real browser


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
        return r.read()


def _write_settings(settings: Path) -> None:
    """Every cell in the DOM (no windowing), no news pop-up."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for rel, value in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@contextlib.contextmanager
def _lab(tmp_path: Path, folder: Path):
    """JupyterLab on 127.0.0.1 serving a copy of ``folder``; yields (base URL, token)."""
    root = tmp_path / "course"
    shutil.copytree(folder, root / folder.name)
    home = tmp_path / "jupyter"
    _write_settings(home / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
               IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "jupyterlab.log"
    log = log_path.open("w")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.news_url=",
           "--ServerApp.allow_root=True"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited early:\n" + log_path.read_text()[-3000:])
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not answer within 90 s.") from None
                time.sleep(0.5)
        yield base, token
    finally:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(req, timeout=10).close()  # noqa: S310 - loopback only
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


_STATE = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
  const prompts = code.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  const firstExercise = cells.findIndex(c => c.classList.contains('jp-CodeCell') &&
      (c.querySelector('.jp-InputArea') || {}).textContent.includes('raise NotImplementedError'));
  const plotsAfter = cells.slice(firstExercise + 1)
      .filter(c => c.querySelector('.js-plotly-plot .main-svg')).length;
  const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output'))
      .map(o => o.textContent);
  return {prompts, firstExercise, plotsAfter, outputs,
          errors: document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length};
}"""


@needs_browser
def test_run_all_on_an_untouched_lesson_in_a_real_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    folder = ROOT / "lessons" / LESSON
    ARTIFACTS.mkdir(exist_ok=True)
    with _lab(tmp_path, folder) as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{base}/lab/tree/{LESSON}/{LESSON}.ipynb?token={token}",
                      wait_until="domcontentloaded", timeout=60_000)
            page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=90_000)
            with contextlib.suppress(Exception):  # a fresh server asks which kernel to use
                page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=15_000)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
                timeout=90_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            # every code cell has run (a number in its prompt, none waiting or running)
            try:
                page.wait_for_function(
                    "() => { const p = Array.from(document.querySelectorAll("
                    "'.jp-Notebook .jp-CodeCell .jp-InputPrompt'), e => e.textContent); "
                    "return p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t)); }",
                    timeout=240_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / f"run-all-{LESSON}-stuck.png"))
                state = page.evaluate(_STATE)
                raise AssertionError(f"Run All did not run every cell: prompts "
                                     f"{state['prompts']}, outputs {state['outputs'][-3:]}") from None
            page.wait_for_timeout(1500)  # figures draw after their output arrives
            state = page.evaluate(_STATE)
            page.screenshot(path=str(ARTIFACTS / f"run-all-{LESSON}.png"), full_page=False)
        finally:
            browser.close()
    assert state["firstExercise"] >= 0, "the lesson has no unanswered exercise"
    shown = [o for o in state["outputs"] if any(m in o for m in TRACEBACK_MARKS)]
    assert not shown, f"a traceback is shown after Run All: {shown[0][:500]}"
    assert state["errors"] > 0, "an untouched lesson should say that exercises are not answered"
    assert all("✘" in o for o in state["outputs"] if "Error" in o[:40]), state["outputs"]
    assert state["plotsAfter"] >= 1, "no figure was drawn after the first exercise"
