"""Long-lived grading processes, lent to one notebook at a time.

A :class:`GradingWorker` is one ``python -m autograder.worker`` process
(:mod:`autograder.worker` says why one process may grade many notebooks): a JSON request per
line on its stdin (:func:`request`: the notebooks' paths in the workspace, the limits, what
to hide), a ``RESULT`` line back per notebook. :class:`WorkerPool` keeps them running and
replaces one after anything unusual; :func:`run_worker` grades one staged notebook in a
pool's worker or in one started for it alone. Both local grading (:mod:`autograder.grade`)
and a Dask worker (:mod:`autograder.cluster`) grade through here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .course import ROOT
from .kernel import UidPool
from .results import GradeSettings
from .submissions import Submission
from .workspace import STEPS, Workspace


def _workspace(ws: Workspace | Path) -> Workspace:
    return ws if isinstance(ws, Workspace) else Workspace(ws)


def hidden_paths(ws: Workspace, out_dir: Path, submissions: Path, root: Path = ROOT
                 ) -> list[Path]:
    """What student code must not see: reference answers, lesson sources, the course's
    history, the gradebook and everybody's notebooks and feedback."""
    paths = [root / "autograder", root / STEPS["source"], root / ".git", ws.root,
             ws.feedback_folder, out_dir / "results", submissions]
    paths += [p for p in out_dir.glob("gradebook.db*")]
    protected = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
                 (root / "rnnkit").resolve()]

    def safe(p: Path) -> bool:  # never hide the Python environment or rnnkit
        p = p.resolve()
        return p.exists() and not any(q == p or p in q.parents for q in protected)

    return [p for p in paths if safe(p)]


def request(ws: Workspace | Path, sub: Submission, settings: GradeSettings, hide: list[Path],
            uid: int | None) -> dict:
    """What a grading worker is sent for one staged notebook."""
    ws = _workspace(ws)
    return {
        "release": str(ws.notebook("release", sub.lesson)),
        "source": str(ws.notebook("source", sub.lesson)),
        "submitted": str(ws.notebook("submitted", sub.lesson, sub.student)),
        "autograded": str(ws.notebook("autograded", sub.lesson, sub.student)),
        "limits": {"cell_seconds": settings.cell_timeout,
                   "output_bytes": settings.output_bytes,
                   "memory_bytes": settings.memory_bytes},
        "hide": [str(h) for h in hide], "budget": settings.notebook_timeout, "uid": uid,
    }


class GradingWorker:
    """One long-lived ``python -m autograder.worker`` process: a JSON request per line on its
    stdin, a ``RESULT`` line back per notebook. ``uids``: sandbox user ids held (locked) here
    for the worker's kernels, for its whole life; when it ends, every process of theirs is
    killed and they are released."""

    def __init__(self, ws: Path, memory_bytes: int, uids: list[tuple[int, int]] | None = None):
        import selectors

        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.uids = list(uids or [])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", str(int(memory_bytes)),
             *(str(uid) for uid, _ in self.uids)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, cwd=str(ws), start_new_session=True,
        )
        self.graded = 0
        self.ahead = False  # a kernel is being started ahead for its next notebook
        self._buf = b""
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def grade(self, request: dict, timeout: float) -> dict:
        """Send one notebook; its outcome, or a timeout/crash outcome (after which this
        worker must be closed)."""
        self.graded += 1
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            return self._crashed()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line.startswith(b"RESULT "):
                    return json.loads(line[len(b"RESULT "):])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {"success": False, "status": "timeout", "recycle": True,
                        "error": f"the notebook ran longer than {request['budget']} s"}
            if not self._sel.select(timeout=min(remaining, 5.0)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                return self._crashed()
            self._buf += chunk

    def _crashed(self) -> dict:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return {"success": False, "status": "crashed", "recycle": True,
                "error": f"the grading process ended without a result (exit {code})"}

    def close(self, wait: float = 0.0) -> None:
        """End the process: at once, or after up to ``wait`` seconds for it to end by itself
        once its stdin is closed (it then stops the kernel it started ahead)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if wait > 0:
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        self._sel.close()
        _kill_group(self.proc)
        self.proc.stdout.close()
        for uid, fd in self.uids:  # whatever its kernels left, the kernel started ahead too
            UidPool.release(uid, fd)
        self.uids = []


class WorkerPool:
    """Long-lived grading workers, lent to one notebook at a time (any thread).

    A worker imports the grading stack once and grades notebook after notebook
    (:mod:`autograder.worker` says why that is safe). It is replaced after any notebook
    that did not end normally — no result in time (it is killed with its process group),
    a crash, a kernel that died or ran out of memory or time, any other outcome the worker
    flags with ``recycle`` — and after :attr:`MAX_NOTEBOOKS` notebooks, so that nothing
    can build up. A replacement is started at once, so that its imports overlap the other
    workers' notebooks instead of delaying the next one.

    ``notebooks``: how many notebooks the batch will send, when known. Then no worker starts
    a kernel ahead, nor is a replacement started, that no notebook would use: a worker
    starts the next kernel only while more notebooks remain than kernels already started
    ahead by the others, and the batch's last notebooks leave no kernel or worker behind
    them (each would cost seconds of CPU for nothing)."""

    MAX_NOTEBOOKS = 25

    def __init__(self, ws: Path, memory_bytes: int, spare: bool = True,
                 notebooks: int | None = None):
        import threading

        self.ws, self.memory_bytes, self.spare = ws, memory_bytes, spare
        self.remaining = notebooks  # not yet handed out (None: unknown)
        self._idle: list[GradingWorker] = []
        self._live: set[GradingWorker] = set()
        self._lock = threading.Lock()
        self.started = 0

    def _new(self) -> GradingWorker:
        """A worker; a long-lived one (``spare``) in the root sandbox gets two user ids of
        its own, between which its kernels alternate (:class:`autograder.worker.KernelSlots`)."""
        from .kernel import isolation_available

        uids = []
        if self.spare and isolation_available() == "user+mounts":
            try:
                uids = [UidPool().acquire() for _ in range(2)]
            except BaseException:
                for uid, fd in uids:
                    UidPool.release(uid, fd)
                raise
        self.started += 1
        worker = GradingWorker(self.ws, self.memory_bytes, uids)
        with self._lock:
            self._live.add(worker)
        return worker

    def _close(self, worker: GradingWorker, wait: float = 0.0) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.close(wait)

    def warm(self, n: int) -> None:
        """Start ``n`` workers now (they import the stack while the caller goes on)."""
        started = [self._new() for _ in range(n)]
        with self._lock:
            self._idle.extend(started)

    def grade(self, request: dict, timeout: float) -> dict:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or worker.proc.poll() is not None:
            if worker is not None:
                self._close(worker)
            worker = self._new()
        with self._lock:
            worker.ahead = False  # its kernel started ahead, if any, is this notebook's
            if self.remaining is not None:
                self.remaining -= 1
                others = sum(w.ahead for w in self._live)
                worker.ahead = self.remaining > others
            else:
                worker.ahead = True
        outcome = worker.grade({**request, "ahead": worker.ahead}, timeout)
        if outcome.get("recycle") or not outcome.get("success") or \
                worker.graded >= self.MAX_NOTEBOOKS:
            answered = outcome.get("status") not in ("timeout", "crashed")
            self._close(worker, wait=3.0 if answered else 0.0)
            with self._lock:
                needed = self.remaining is None or self.remaining > len(self._live)
            worker = self._new() if self.spare and needed else None
        if worker is not None:
            with self._lock:
                self._idle.append(worker)
        return outcome

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            self._close(worker, wait=3.0)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_worker(ws: Workspace | Path, sub: Submission, settings: GradeSettings,
               hide: list[Path], uid: int | None, pool: WorkerPool | None = None) -> dict:
    """Grade one staged notebook in a grading worker (``pool``'s, or a worker started for
    this notebook alone); past the notebook limit the worker is killed."""
    req = request(ws, sub, settings, hide, uid)
    timeout = settings.notebook_timeout + 60
    if pool is not None:
        return pool.grade(req, timeout)
    with WorkerPool(_workspace(ws).root, settings.memory_bytes, spare=False) as own:
        return own.grade(req, timeout)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
