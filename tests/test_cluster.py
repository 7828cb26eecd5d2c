"""Grading on a Dask cluster into a PostgreSQL gradebook gives the same grades as grading
on one machine into SQLite. The test starts a real ``dask scheduler``, a ``dask worker`` and a
PostgreSQL server on 127.0.0.1 and stops them after."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import read_grades, rnn_course
from support import BIN, ROOT, course_env, free_port


def _wait_port(port: int, proc: subprocess.Popen, what: str, seconds: float = 90) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert proc.poll() is None, f"{what} exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not start")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


@pytest.fixture
def postgres():
    pg = _pg_bin()
    if pg is None:
        if os.environ.get("CI"):
            raise AssertionError("PostgreSQL is not installed (.ci/run installs it)")
        pytest.skip("PostgreSQL server binaries are not installed")
    tmp_path = Path(tempfile.mkdtemp(prefix="rnn-pg-"))  # reachable by the postgres user
    os.chmod(tmp_path, 0o755)
    data = tmp_path / "pgdata"
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(tmp_path, "postgres")
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, str(pg / "initdb"), "-D", str(data), "--auth=trust", "-U",
                    "grader"], check=True, capture_output=True)
    server = subprocess.Popen(
        [*as_user, str(pg / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
         "-k", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, server, "PostgreSQL")
        for _ in range(50):
            made = subprocess.run([str(pg.parent / "bin" / "createdb"), "-h", "127.0.0.1", "-p",
                                   str(port), "-U", "grader", "gradebook"], capture_output=True)
            if made.returncode == 0:
                break
            time.sleep(0.2)
        assert made.returncode == 0, made.stderr
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def dask_cluster():
    port = free_port()
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], env=course_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        _wait_port(port, scheduler, "dask scheduler")
        worker = subprocess.Popen(
            [str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1",
             "--nthreads", "2", "--no-dashboard", "--host", "127.0.0.1"], env=course_env(), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        assert worker.poll() is None, "dask worker exited"
        yield f"tcp://127.0.0.1:{port}"
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.fixture(scope="module")
def sequential(sequential_class) -> tuple[Path, dict[str, str]]:
    """The class, and its grades from one sequential run into SQLite (what both parallel
    runs are compared with; graded once for the session, see conftest.sequential_class)."""
    assert sequential_class["grades"] == {"amy": "16.0", "bo": "0.0", "cy": "14.0",
                                          "di": "16.0"}
    return sequential_class["subs"], sequential_class["grades"]


def test_dask_and_postgres_grade_like_sequential_sqlite(tmp_path, sequential, dask_cluster,
                                                        postgres):
    subs, expected = sequential
    par = rnn_course("grade", str(subs), "--out", str(tmp_path / "par"),
                     "--scheduler", dask_cluster, "--db-url", postgres)
    assert par.returncode == 0, par.stdout + par.stderr
    assert "Dask cluster" in par.stdout
    assert read_grades(tmp_path / "par") == expected
    assert not (tmp_path / "par" / "gradebook.db").exists()  # it went to PostgreSQL


def test_parallel_local_workers_grade_like_sequential(sequential, zipped_class):
    """The same class zipped, graded with ``--workers 2`` (the README's zip command, also
    checked in tests/test_readme.py)."""
    _, expected = sequential
    assert "2 local workers" in zipped_class["proc"].stdout, zipped_class["proc"].stdout
    assert read_grades(zipped_class["out"]) == expected
