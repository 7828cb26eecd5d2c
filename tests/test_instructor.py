"""The instructor's lab (``make instructor``) and Validate in a real browser.

One server for the module: ``make instructor`` with ``GRADING`` and ``SUBMITTED`` set to a
class graded by ``rnn-course grade`` (one submission of lesson 03, the solution), on
127.0.0.1 with a random port and token and temporary Jupyter folders. In headless Debian
Chromium (Playwright):

* the instructor opens *Nbgrader → Formgrader* and sees every lesson;
* gives the free-text answer (d2l exercise 2) a score on Formgrader's grading page, and
  ``rnn-course export`` writes that score into the grades;
* presses *Validate* on a notebook with one wrong answer and reads exactly the lines
  ``rnn-course validate`` prints for it, one per test.

Screenshots go to ``test-artifacts/``. Skipped only when /usr/bin/chromium is missing and CI
is not set.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LESSON = "03-rnn-cell"
FREE_TEXT = "q03_d2l_2"
WRONG = ("q03_shapes", 'shape_XW = (8, 16)\nshape_XW_plus_b = (8, 16)\nshape_H = "(8, 16)"\n'
         "shape_O = (8, 10)\n")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="the real-browser test needs Debian's chromium at /usr/bin/chromium "
           "(apt-get install chromium); it always runs in CI",
)
SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def _env() -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, token: str, method: str = "GET", body: dict | None = None):
    req = urllib.request.Request(url, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback only
        return json.loads(r.read() or b"null")


def student_notebook(wrong: tuple[str, str] | None = None):
    """Lesson 03 as released, every answer filled in from the solution; ``wrong`` replaces
    one answer cell's source."""
    sol = {c.metadata["nbgrader"]["grade_id"]: c.source for c in
           nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), 4).cells
           if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(str(ROOT / "lessons" / LESSON / f"{LESSON}.ipynb"), 4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sol:
            cell.source = SOLUTION_MARK.sub("", sol[gid])
        if wrong and gid == wrong[0]:
            cell.source = wrong[1]
    return nb


@pytest.fixture(scope="module")
def instructor_lab(tmp_path_factory):
    """``make instructor`` on a graded class; yields (base URL, token, class folder)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    tmp = tmp_path_factory.mktemp("class")
    sub = tmp / "submitted" / "ann" / LESSON
    sub.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb", sub)
    graded = subprocess.run([str(BIN / "rnn-course"), "grade", "submitted", "--out", "grading"],
                            cwd=tmp, env=_env(), capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp / "jupyter"
    env = _env()
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"), IPYTHONDIR=str(home / "ipython"),
        GRADING=str(tmp / "grading"), SUBMITTED=str(tmp / "submitted"),
        LAB_FLAGS=f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
                  f"--IdentityProvider.token={token} "
                  f"--LabApp.user_settings_dir={home / 'settings'} "
                  f"--LabApp.workspaces_dir={home / 'workspaces'}")
    log = (tmp / "lab.log").open("w")
    proc = subprocess.Popen(["make", "--no-print-directory", "instructor"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(f"{base}/api/status", token)
                break
            except OSError:
                assert proc.poll() is None, "make instructor exited:\n" + \
                    (tmp / "lab.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        yield base, token, tmp
    finally:
        try:
            _request(f"{base}/api/shutdown", token, method="POST")
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


@needs_browser
def test_formgrader_lists_the_lessons_and_a_manual_score_reaches_the_export(
        instructor_lab, browser):
    base, token, tmp = instructor_lab
    lessons = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if (p / f"{p.name}.ipynb").is_file())
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab?token={token}", wait_until="domcontentloaded", timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click(timeout=90_000)
        page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
        frame = page.frame_locator("iframe").first
        for lesson in lessons:
            frame.locator("td", has_text=lesson).first.wait_for(timeout=60_000)
        rows = frame.locator("tr", has_text=LESSON).first.inner_text()
        assert "1" in rows.split(LESSON, 1)[1], f"no submission of {LESSON} listed: {rows!r}"
        _shot(page, "instructor-formgrader.png")

        [nb] = _request(f"{base}/formgrader/api/submitted_notebooks/{LESSON}/{LESSON}", token)
        page.goto(f"{base}/formgrader/submissions/{nb['id']}/", wait_until="load",
                  timeout=60_000)  # logged in by the lab's cookie
        page.wait_for_function("() => formgrader.grades && formgrader.grades.loaded",
                               timeout=60_000)
        score = page.locator(f"input.score#{FREE_TEXT}")
        score.fill("1.5", timeout=60_000)
        score.press("Tab")
        deadline = time.monotonic() + 30
        while True:
            grades = _request(f"{base}/formgrader/api/grades?submission_id={nb['id']}", token)
            given = {g["name"]: g["manual_score"] for g in grades}
            if given.get(FREE_TEXT) == 1.5:
                break
            assert time.monotonic() < deadline, f"the score was not saved: {given}"
            time.sleep(0.5)
        _shot(page, "instructor-manual-grade.png")
    finally:
        page.close()

    out = subprocess.run([str(BIN / "rnn-course"), "export", "--grading", "grading"], cwd=tmp,
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 answers graded by hand" in out.stdout
    [row] = list(csv.DictReader((tmp / "grading" / "grades.csv").open()))
    report = json.loads((tmp / "grading" / "report.json").read_text())
    auto = report["submissions"][0]["score"]
    assert row["student_id"] == "ann" and float(row["score"]) == pytest.approx(auto + 1.5)


@needs_browser
def test_validate_in_the_lab_says_what_rnn_course_validate_says(instructor_lab, browser):
    from rnnkit.validate import report, validate_notebook

    base, token, _ = instructor_lab
    folder = ARTIFACTS / "instructor-validate" / LESSON
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ROOT / "lessons" / LESSON, folder)
    path = folder / f"{LESSON}.ipynb"
    nbformat.write(student_notebook(WRONG), str(path))
    expected, status = report(validate_notebook(path, timeout=120))
    failing = [line for line in expected if line.startswith("✘")]
    assert status == 1 and len(failing) == 1 and failing[0].startswith("✘ t03_shapes: failed — ")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        rel = path.relative_to(ROOT).as_posix()
        page.goto(f"{base}/lab/tree/{rel}?token={token}", wait_until="domcontentloaded",
                  timeout=60_000)
        page.locator(".jp-ToolbarButtonComponent-label", has_text="Validate").first.click(
            timeout=90_000)
        dialog = page.locator("#validation-message")
        dialog.wait_for(timeout=180_000)
        shown = [ln.strip() for ln in dialog.inner_text().splitlines() if ln.strip()]
        _shot(page, "instructor-validate.png")
    finally:
        page.close()
    assert shown == expected
    assert not any("Traceback" in ln or "following cell failed" in ln for ln in shown)
