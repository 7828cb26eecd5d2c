"""Every command the README shows is run here (``make test`` itself is what CI runs)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest
from support import ROOT, course_env, free_port

README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
    return [ln.split("#")[0].strip() for b in blocks for ln in b.splitlines()
            if ln.split("#")[0].strip()]


def test_readme_commands_are_the_ones_tested_here():
    known = {
        "make lab", "make instructor", "make test", "source .venv/bin/activate",
        "rnn-course validate lessons/01-sequences/01-sequences.ipynb",
        "rnn-course release",
        "rnn-course grade submitted/ --out grading/",
        "rnn-course grade submissions.zip --out grading/ --workers 2",
        "rnn-course export --grading grading/",  # run in tests/test_instructor.py
    }
    assert set(readme_commands()) == known, "README commands changed: update this test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def _run(cmd: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, text=True,
                          env=course_env(), timeout=1200)


def test_readme_validate_command_reports_the_blank_lesson(blank_validated):
    proc = blank_validated  # conftest: the command as written, in the course root
    assert proc.returncode == 1 and "not answered yet" in proc.stdout


def test_readme_release_command_leaves_lessons_unchanged():
    before = {p: p.read_bytes() for p in (ROOT / "lessons").rglob("*.ipynb")}
    proc = _run("rnn-course release", ROOT)
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in (ROOT / "lessons").rglob("*.ipynb")}
    assert before == after


def test_readme_grade_commands(sequential_class, zipped_class):
    """Both README grade commands, each run as written on a class of four (conftest: the
    folder ``submitted/`` and the same class as ``submissions.zip``, graded once for the
    session and shared with tests/test_cluster.py and tests/test_cli.py)."""
    assert sequential_class["proc"].returncode == 0, sequential_class["proc"].stderr
    grades = (sequential_class["out"] / "grades.csv").read_text()
    assert all(student in grades for student in ("amy", "bo", "cy", "di")), grades
    assert zipped_class["proc"].returncode == 0, zipped_class["proc"].stderr
    report = json.loads((zipped_class["out"] / "report.json").read_text())
    assert sorted(s["student"] for s in report["submissions"]) == ["amy", "bo", "cy", "di"]
    by = {s["student"]: s for s in report["submissions"]}
    assert by["amy"]["score"] == by["amy"]["max_score"] > 0
    assert by["bo"]["score"] == 0 < by["bo"]["max_score"]


def _start_make(target: str, tmp_path, env: dict | None = None, flags: str = "", log=None):
    """Start ``make <target>`` on a free port with a token; (process, base url, token).
    ``env``: more environment variables; ``flags``: more of JupyterLab's options;
    ``log``: an open file for the server's output (default: discarded)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port, token = free_port(), secrets.token_hex(16)
    make_env = course_env()
    make_env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
                    JUPYTER_DATA_DIR=str(tmp_path / "data"),
                    LAB_FLAGS=f"--no-browser --ip=127.0.0.1 --port={port} "
                              f"--IdentityProvider.token={token} --ServerApp.port_retries=0 "
                              + flags)
    make_env.update(env or {})
    out = log or subprocess.DEVNULL
    proc = subprocess.Popen(["make", target], cwd=ROOT, env=make_env, stdout=out,
                            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                            start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", token


def _get(url: str, token: str, proc, wait: float = 0) -> bytes:
    deadline = time.monotonic() + wait
    while True:
        try:
            req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.read()
        except OSError:
            assert proc.poll() is None, "the lab exited"
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _page_config(page: str) -> dict:
    m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                  page, re.S)
    assert m, "no page config in the lab page"
    return json.loads(m.group(1))


INSTRUCTOR_PANELS = ("@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                     "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                     "@jupyterlab/apputils-extension:announcements")


def test_make_lab_opens_the_lessons_with_what_students_use(tmp_path):
    proc, base, token = _start_make("lab", tmp_path)
    try:
        listing = json.loads(_get(f"{base}/api/contents", token, proc, wait=90))
        names = {item["name"] for item in listing["content"]}
        assert "01-sequences" in names  # the server is rooted at lessons/
        page = _get(f"{base}/lab", token, proc).decode()
        assert "@jupyter/nbgrader" in page
        disabled = _page_config(page).get("disabledExtensions", [])
        missing = [p for p in INSTRUCTOR_PANELS if p not in disabled]
        assert not missing, f"make lab shows students {missing}"
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
    finally:
        _stop(proc)


def test_make_instructor_opens_formgrader_on_the_course(tmp_path):
    proc, base, token = _start_make("instructor", tmp_path,
                                    env={"GRADING": str(tmp_path / "grading")})
    try:
        listing = json.loads(_get(f"{base}/api/contents", token, proc, wait=90))
        names = {item["name"] for item in listing["content"]}
        assert {"solutions", "lessons", "autograder"} <= names  # the course root
        page = _get(f"{base}/lab", token, proc).decode()
        disabled = _page_config(page).get("disabledExtensions", [])
        assert "@jupyter/nbgrader:formgrader" not in disabled
        # Formgrader's own API answers (it fails with HTTP 500 when alembic is not on PATH)
        # (the first answer creates the gradebook: allow for a slow machine)
        assignments = json.loads(_get(f"{base}/formgrader/api/assignments", token, proc,
                                      wait=120))
        listed = {a["name"] for a in assignments}
        lessons = {p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()}
        assert lessons <= listed, f"Formgrader lists {sorted(listed)}"
    finally:
        _stop(proc)
