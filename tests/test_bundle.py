"""The student bundle: ``rnn-course bundle --out DIR`` writes what a student receives.

One test reads the zip: every lesson with its hand-outs, rnnkit, the student install files,
and nothing of the instructor's side (no ``autograder/``, no ``solutions/``, no reference, no
MCQ key, no solution or hidden test). The other unpacks it in a temporary folder as a student
would on a fresh machine with only Python 3.11 and pip: ``make install`` creates a new
virtual environment from the bundle's own ``pyproject.toml`` (pip's cache makes it quick after
the first time), ``rnn-course validate`` runs an untouched lesson and the same lesson with
its answers filled in, and ``make lab`` serves the lessons.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import lessons, rnn_course
from support import ROOT, free_port

from autograder.reference import mcq
from autograder.release import handouts

PYTHON = shutil.which("python3.11") or sys.executable


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    proc = rnn_course("bundle", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    path = out / "rnn-course-student.zip"
    assert path.is_file() and "rnn-course-student.zip" in proc.stdout
    return path


def _key_lines() -> list[str]:
    """How the MCQ key reads in its source (``5: {"B", "D"},``)."""
    return [f"{k}: {{{', '.join(repr(o).replace(chr(39), chr(34)) for o in sorted(v))}}}"
            for k, v in mcq.KEY.items()]


def test_the_bundle_holds_what_a_student_receives_and_nothing_else(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        texts = {n: zf.read(n).decode("utf-8", errors="replace") for n in names}
    assert all(n.startswith("rnn-course/") for n in names)
    parts = {p for n in names for p in n.split("/")[1:-1]}
    assert not parts & {"autograder", "solutions", "tests", "reference", "impl", "benchmarks"}
    for required in ("pyproject.toml", "Makefile", "README.md", "rnnkit/__init__.py",
                     "rnnkit/checks.py", "rnnkit/validate.py"):
        assert f"rnn-course/{required}" in names, required
    for lesson in lessons():
        folder = f"rnn-course/lessons/{lesson}/"
        have = sorted(n[len(folder):] for n in names if n.startswith(folder))
        assert have == sorted([f"{lesson}.ipynb", *handouts(lesson)]), (lesson, have)
    assert "autograder" not in re.sub(r"#.*", "", texts["rnn-course/pyproject.toml"])
    assert 'include = ["rnnkit*"]' in texts["rnn-course/pyproject.toml"]
    key = _key_lines()
    for name, text in texts.items():
        for secret in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograder.reference",
                       "autograder/reference", "autograder.impl", "grade_mcq"):
            assert secret not in text, f"{name} holds {secret!r}"
        leaked = [k for k in key if k in text]
        assert len(leaked) < 3, f"{name} holds the MCQ key: {leaked}"
    # the same content gives the same bytes
    again = rnn_course("bundle", "--out", str(bundle.parent / "again"))
    assert again.returncode == 0
    assert (bundle.parent / "again" / bundle.name).read_bytes() == bundle.read_bytes()


def _answered(release: Path, source: Path, dest: Path) -> None:
    """The student notebook with every code answer filled in from the solution."""
    nb = nbformat.read(str(release), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(str(source), as_version=4).cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in answers:
            cell.source = "\n".join(ln for ln in answers[gid].splitlines()
                                    if not re.match(r"^\s*### (BEGIN|END) SOLUTION", ln))
    nbformat.write(nb, str(dest))


def test_the_bundle_installs_validates_and_opens_the_lab_on_a_fresh_machine(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    course = tmp_path / "rnn-course"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env["PYTHON"] = PYTHON
    t0 = time.monotonic()
    proc = subprocess.run(["make", "install"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    print(f"make install from the bundle: {time.monotonic() - t0:.0f} s")
    venv = course / ".venv" / "bin"
    check = subprocess.run([str(venv / "python"), "-c",
                            "import rnnkit, importlib.util as u; print(rnnkit.__file__); "
                            "print(u.find_spec('autograder'))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert check.stdout.splitlines() == [str(course / "rnnkit" / "__init__.py"), "None"], \
        check.stdout + check.stderr

    lesson = next((lesson for lesson in lessons() if handouts(lesson)), "03-rnn-cell")
    notebook = course / "lessons" / lesson / f"{lesson}.ipynb"
    blank = subprocess.run([str(venv / "rnn-course"), "validate", str(notebook)], cwd=course,
                           env=env, capture_output=True, text=True, timeout=900)
    assert blank.returncode == 1, blank.stdout + blank.stderr
    assert "not answered yet" in blank.stdout and "Traceback" not in blank.stdout + blank.stderr
    solved = notebook.with_name(f"{lesson}-answered.ipynb")
    _answered(notebook, ROOT / "solutions" / lesson / f"{lesson}.ipynb", solved)
    right = subprocess.run([str(venv / "rnn-course"), "validate", str(solved)], cwd=course,
                           env=env, capture_output=True, text=True, timeout=900)
    assert right.returncode == 0, right.stdout[-3000:] + right.stderr[-2000:]
    instructor = subprocess.run([str(venv / "rnn-course"), "grade", "x", "--out", "y"],
                                cwd=course, env=env, capture_output=True, text=True)
    assert instructor.returncode == 2 and "for instructors" in instructor.stderr

    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path / "jupyter"
    lab_env = dict(env, JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
                   IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1")
    flags = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
             f"--ServerApp.port_retries=0 --IdentityProvider.token={token}")
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(["make", "lab", f"LAB_FLAGS={flags}"], cwd=course, env=lab_env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/api/contents/{lesson}?token={token}",
                                            timeout=5) as r:  # noqa: S310 - loopback only
                    listing = r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "make lab did not answer within 120 s"
                time.sleep(0.5)
        assert f"{lesson}.ipynb" in listing
        for name in handouts(lesson):
            assert name in listing
    finally:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(req, timeout=10).close()  # noqa: S310 - loopback only
            lab.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(timeout=10)
        log.close()
