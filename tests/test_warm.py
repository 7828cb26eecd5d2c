"""Long-lived grading workers (issue 16 §1): one worker grades notebook after notebook, and
nothing a notebook leaves behind — a file, a global, an environment variable, a process, a
change to the judge's objects — reaches the next; a worker that ran out of time is replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.kernel import UidPool, isolation_available
from autograder.pool import WorkerPool
from autograder.pool import request as _request
from autograder.results import GradeSettings
from autograder.submissions import Submission

LESSON = "99-warm"
MARK = "warm-left-behind"

SETUP = "from rnnkit.checks import check_equal\nfrom_setup = []\n"

# probes what an earlier notebook may have left, then leaves all of it behind itself
LEAVER = f'''
import glob, os, subprocess
seen = []
places = ["/tmp/{MARK}", "/dev/shm/{MARK}", "/var/tmp/{MARK}",
          os.path.expanduser("~/{MARK}"), "{MARK}"]
seen += [p for p in places if os.path.exists(p)]
if "WARM_LEFT" in os.environ:
    seen.append("environment variable")
for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if b"604.25" in open(cmdline, "rb").read():
            seen.append("process " + cmdline)
    except OSError:
        pass
for p in places:
    try:
        open(p, "w").write("x")
    except OSError:
        pass
os.environ["WARM_LEFT"] = "1"
subprocess.Popen(["sleep", "604.25"], start_new_session=True)
if os.fork() == 0:
    os.execvp("sleep", ["sleep", "604.25"])
import builtins
builtins.warm_global = 1
'''

TEST = '''
check_equal(seen, [], "what an earlier notebook left behind")
check_equal(hasattr(__import__("builtins"), "warm_global"), False, "a global left behind")
from_setup.append(1)
check_equal(len(from_setup), 1, "the setup's objects are fresh")
judge_runs = globals().get("judge_runs", 0) + 1
check_equal(judge_runs, 1, "the judge's namespace is fresh")
'''


def _cell(source: str, gid: str, **meta):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, "locked": False,
                                 "solution": False, "grade": False, **meta}
    return cell


def _notebook(answer: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [_cell(SETUP, "setup", locked=True),
                _cell(answer, "q99_answer", solution=True),
                _cell(TEST, "t99_answer", grade=True, locked=True, points=1)]
    return nb


def _workspace(tmp_path: Path, answers: dict[str, str]) -> Path:
    ws = tmp_path / "ws"
    for folder in ("lessons", "solutions"):
        (ws / folder / LESSON).mkdir(parents=True)
        nbformat.write(_notebook(LEAVER), str(ws / folder / LESSON / f"{LESSON}.ipynb"))
    for student, answer in answers.items():
        sub = ws / "submitted" / student / LESSON
        sub.mkdir(parents=True)
        nbformat.write(_notebook(answer), str(sub / f"{LESSON}.ipynb"))
    return ws


def _grade(pool: WorkerPool, ws: Path, student: str, settings: GradeSettings,
           timeout: float | None = None) -> dict:
    """As ``rnn-course grade`` does: a fresh sandbox user id per notebook."""
    held = UidPool().acquire() if isolation_available() == "user+mounts" else None
    try:
        request = _request(ws, Submission(student, LESSON, ws), settings, [], held and held[0])
        return pool.grade(request, timeout or settings.notebook_timeout + 60)
    finally:
        if held:
            UidPool.release(*held)


def _errors(ws: Path, student: str) -> list[str]:
    graded = ws / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    cells = json.loads(graded.read_text())["cells"]
    return [o["evalue"] for c in cells for o in c.get("outputs", [])
            if o["output_type"] == "error"]


def _worker_pids(pool: WorkerPool) -> list[int]:
    return [w.proc.pid for w in pool._idle]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(os.geteuid() != 0, reason="processes are confined by a sandbox user id")
def test_one_worker_grades_two_notebooks_and_the_second_starts_clean(tmp_path):
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):
        Path(folder, MARK).unlink(missing_ok=True)
    ws = _workspace(tmp_path, {"ann": LEAVER, "bob": LEAVER})
    settings = GradeSettings(cell_timeout=60, notebook_timeout=120)
    with WorkerPool(ws, settings.memory_bytes) as pool:
        first = _grade(pool, ws, "ann", settings)
        assert first.get("success") and not first.get("recycle"), first
        pids = _worker_pids(pool)
        second = _grade(pool, ws, "bob", settings)
        assert second.get("success") and not second.get("recycle"), second
        assert _worker_pids(pool) == pids and pool.started == 1, "the worker was not reused"
    assert _errors(ws, "ann") == []
    assert _errors(ws, "bob") == [], "notebook 2 saw what notebook 1 left"
    assert not [f for f in ("/tmp", "/dev/shm", "/var/tmp") if Path(f, MARK).exists()]
    assert not _alive(pids[0]), "the pool's worker outlived the pool"


def test_a_worker_whose_cell_timed_out_is_replaced(tmp_path):
    ws = _workspace(tmp_path, {"loop": "while True:\n    pass\n", "ann": LEAVER})
    settings = GradeSettings(cell_timeout=2, notebook_timeout=60)
    with WorkerPool(ws, settings.memory_bytes) as pool:
        assert _grade(pool, ws, "ann", settings).get("success")
        before = _worker_pids(pool)
        outcome = _grade(pool, ws, "loop", settings)
        assert outcome.get("success") and outcome["recycle"], outcome
        assert pool.started == 2 and _worker_pids(pool) != before
        assert not _alive(before[0]), "the worker that saw a timeout is still running"
        assert _grade(pool, ws, "ann", settings).get("success")  # its replacement grades
    assert any("longer than 2 s" in e for e in _errors(ws, "loop"))


def test_a_worker_past_the_notebook_limit_is_killed_and_replaced(tmp_path):
    ws = _workspace(tmp_path, {"sleeper": "import time\ntime.sleep(600)\n", "ann": LEAVER})
    settings = GradeSettings(cell_timeout=300, notebook_timeout=300)
    with WorkerPool(ws, settings.memory_bytes) as pool:
        assert _grade(pool, ws, "ann", settings).get("success")
        before = _worker_pids(pool)
        outcome = _grade(pool, ws, "sleeper", settings, timeout=10)
        assert outcome["status"] == "timeout" and not outcome.get("success"), outcome
        assert not _alive(before[0])
        assert pool.started == 2
        assert _grade(pool, ws, "ann", settings).get("success")


def test_a_worker_is_replaced_after_its_quota_of_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(WorkerPool, "MAX_NOTEBOOKS", 1)
    ws = _workspace(tmp_path, {"ann": "seen = []\n"})
    settings = GradeSettings(cell_timeout=60, notebook_timeout=120)
    with WorkerPool(ws, settings.memory_bytes) as pool:
        assert _grade(pool, ws, "ann", settings).get("success")
        first = _worker_pids(pool)
        assert _grade(pool, ws, "ann", settings).get("success")
        assert pool.started == 3 and _worker_pids(pool) != first


def _demo_notebook(answer: str, test: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell("import numpy as np\n", "setup", locked=True),
                _cell("shown = np.ones(3)\nprint(shown)\n", "code-001", locked=True),
                _cell("used = [1, 2]\n", "code-002", locked=True),
                _cell(answer, "q_answer", solution=True),
                _cell(test, "t_answer", grade=True, points=1, locked=True),
                _cell("trained = np.zeros(2)\nprint(trained)\n", "code-003", locked=True)]
    return nb


def _gids(nb, skip: set[int]) -> list[str]:
    return [nb.cells[i].metadata["nbgrader"]["grade_id"] for i in sorted(skip)]


def test_grading_skips_demonstrations_no_later_cell_uses():
    from autograder.judge import needless_cells

    nb = _demo_notebook("def f():\n    return used\n", "check_equal(f(), [1, 2], 'f')\n")
    # code-001 binds `shown` and touches `np`; no later cell names either
    assert _gids(nb, needless_cells(nb)) == ["code-001", "code-003"]
    nb = _demo_notebook("def f():\n    return shown\n", "f()\n")
    assert _gids(nb, needless_cells(nb)) == ["code-002", "code-003"]
    nb = _demo_notebook("x = np.zeros(1)\n", "x\n")  # np: code-001 may have changed it
    assert _gids(nb, needless_cells(nb)) == ["code-002", "code-003"]
    for dynamic in ("f = lambda: globals()['used']\n", "f = lambda: eval('used')\n",
                    "%time f = 1\n", "f = lambda: _\n"):
        nb = _demo_notebook(dynamic, "f()\n")
        assert needless_cells(nb) == set(), dynamic
    nb = _demo_notebook("def f():\n    return 1\n", "f()\n")
    nb.cells.insert(2, nbformat.v4.new_code_cell("print = lambda *a: None\n"))  # student's own
    assert "code-001" not in _gids(nb, needless_cells(nb))  # it calls the rebound print


@pytest.mark.skipif(os.geteuid() != 0, reason="folders owned by a sandbox user id")
def test_folders_a_killed_grader_left_are_removed_with_the_next_lock(tmp_path):
    from autograder.kernel import IPC_ROOT, kernel_folder_prefix, remove_leftovers

    uid, fd = UidPool().acquire()  # the machine's own locks: no grader holds this id
    try:
        os.makedirs(IPC_ROOT, mode=0o711, exist_ok=True)
        mine = Path(IPC_ROOT) / f"k-test-{uid}"
        other = Path(IPC_ROOT) / f"k-test-other-{uid}"
        for folder, owner in ((mine, uid), (other, uid + 1)):
            (folder / "sub").mkdir(parents=True)
            os.chown(folder, owner, owner)
        work = tmp_path / f"{kernel_folder_prefix(uid)}abc"
        (work / "sub").mkdir(parents=True)
        keep = tmp_path / f"{kernel_folder_prefix(uid + 1)}abc"
        keep.mkdir()
        assert remove_leftovers(uid, str(tmp_path)) == 2
        assert not mine.exists() and not work.exists()
        assert other.exists() and keep.exists()
    finally:
        import shutil

        shutil.rmtree(other, ignore_errors=True)
        UidPool.release(uid, fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="kernels are started ahead under sandbox user ids")
def test_the_batch_last_notebook_leaves_no_kernel_started_ahead(tmp_path):
    import psutil

    ws = _workspace(tmp_path, {"ann": "seen = []\n", "bob": "seen = []\n"})
    settings = GradeSettings(cell_timeout=60, notebook_timeout=120)
    with WorkerPool(ws, settings.memory_bytes, notebooks=2) as pool:
        first = _grade(pool, ws, "ann", settings)
        (worker,) = pool._idle
        kernels = psutil.Process(worker.proc.pid).children(recursive=True)
        assert first.get("success") and kernels, "no kernel was started for the second notebook"
        second = _grade(pool, ws, "bob", settings)
        assert second.get("success") and second["timing"]["warm"] == 1, second
        assert not psutil.Process(worker.proc.pid).children(recursive=True), \
            "a kernel that no notebook will use was started"
        assert pool.started == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="kernels are started ahead under sandbox user ids")
def test_a_dask_worker_keeps_its_grading_process_and_kernels_warm(tmp_path):
    from autograder import cluster

    ws = _workspace(tmp_path, {"ann": "seen = []\n"})
    read = lambda step, who=".": (ws / step / who / LESSON / f"{LESSON}.ipynb").read_text()  # noqa: E731
    settings = {"cell_timeout": 60, "notebook_timeout": 120}
    try:
        outcomes = [cluster.cluster_task(LESSON, "ann", read("lessons"), read("solutions"),
                                         read("submitted", "ann"), settings)
                    for _ in range(2)]
        ((root, pool),) = cluster._POOLS.values()
        assert [o.get("success") for o in outcomes] == [True, True], outcomes
        assert all(o["notebook"] for o in outcomes)
        assert pool.started == 1 and outcomes[1]["timing"]["warm"] == 1, outcomes[1]["timing"]
        assert not list(root.glob("task-*")), "a task's folder was left behind"
    finally:
        cluster.close_pools()
    assert not root.exists()


# ---------------------------------------------------------------- the judge's channel

KERNEL_CODE = '''
import os, time
calls = []
def f(x):
    calls.append(x)
    print("f", x)
    return x + 1
def spin():
    while True:
        pass
def die():
    os._exit(3)
'''


@pytest.fixture(scope="module")
def channel_kernel():
    from autograder.kernel import GradingKernel
    from rnnkit.limits import Limits

    kernel = GradingKernel(Limits(cell_seconds=60), [], isolation="limits")
    kernel.start()
    assert kernel.run(KERNEL_CODE).status == "ok"
    yield kernel
    kernel.shutdown()


def _judge(kernel, timeout: float = 30):
    from autograder.judge import Judge

    judge = Judge(kernel, timeout)
    judge.run_trusted("from rnnkit.checks import check_equal\n")
    return judge


def test_a_test_cell_s_requests_share_one_serving_cell(channel_kernel):
    judge = _judge(channel_kernel)
    result = judge.run_test("for i in range(30):\n    check_equal(f(i), i + 1, 'f')\nlen(calls)")
    assert result.error is None and result.value == 30
    assert judge.conn.requests == 1 + 30 + 1  # f looked up once and called, calls read
    printed = "".join(o["text"] for o in result.outputs)
    assert printed.startswith("f 0\nf 1\n") and printed.endswith("f 29\n")
    assert channel_kernel.run("assert len(calls) == 30").status == "ok"  # the kernel is free


def test_an_oversized_or_broken_answer_fails_only_its_test(channel_kernel):
    from rnnkit.limits import LIMITS

    kernel = channel_kernel
    assert kernel.run(
        "_honest = __rnn_rpc__\n"
        f"__rnn_rpc__ = lambda r: 'x' * {LIMITS.message_bytes + 10}\n").status == "ok"
    result = _judge(kernel).run_test("f(1)")
    assert result.error is not None and "larger than" in result.error[1], result.error
    assert kernel.run("__rnn_rpc__ = lambda r: '[1, 2'\n").status == "ok"
    result = _judge(kernel).run_test("f(1)")
    assert result.error is not None and "broke the connection" in result.error[1]
    assert kernel.run("_serve = __rnn_serve__\n__rnn_serve__ = lambda s: None\n"
                      "__rnn_rpc__ = _honest\n").status == "ok"
    result = _judge(kernel).run_test("f(1)")
    assert result.error is not None and "broke the connection" in result.error[1]
    assert kernel.run("__rnn_serve__ = _serve\n").status == "ok"
    assert _judge(kernel).run_test("check_equal(f(1), 2, 'f')").error is None


def test_a_request_that_hangs_or_kills_the_kernel_is_a_failed_test(channel_kernel):
    import time

    kernel = channel_kernel
    start = time.monotonic()
    result = _judge(kernel, timeout=3).run_test("spin()")
    assert result.error is not None and result.error[0] == "GradingTimeout", result.error
    assert time.monotonic() - start < 20
    assert _judge(kernel).run_test("check_equal(f(2), 3, 'f')").error is None  # interrupted
    result = _judge(kernel).run_test("die()")
    assert result.error is not None and result.error[0] == "GradingTimeout", result.error
    assert not kernel.alive()
