"""Grading on a Dask cluster (``rnn-course grade --scheduler tcp://HOST:PORT``).

Each notebook is one Dask task (:func:`cluster_task`): the lesson's release, source and
hand-outs and the student's notebook travel as text, and the Dask worker grades them with
the same long-lived grading processes as local grading (:class:`autograder.pool.WorkerPool`,
one pool per Dask worker process, kept between tasks: each grading process starts the next
notebook's kernel ahead, see :class:`autograder.worker.KernelSlots`), each task in a private
folder of its machine; the autograded notebook comes back as text and is written into the
batch's workspace (:func:`grade_on_cluster`). Scores are stored by the batch, one notebook
at a time, as with local workers.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict
from pathlib import Path

from .course import CourseError
from .pool import hidden_paths, run_worker
from .results import GradeSettings
from .submissions import Submission
from .workspace import Workspace


def connect(settings: GradeSettings):
    """A Dask client of ``settings.scheduler``; ``settings.workers`` (notebooks in flight)
    becomes at least twice the cluster's number of workers."""
    try:
        from distributed import Client
    except ImportError:
        raise CourseError("--scheduler needs dask.distributed: pip install "
                          "'rnn-course[cluster]'") from None
    try:
        client = Client(settings.scheduler, timeout=30)
    except OSError as e:
        raise CourseError(f"{settings.scheduler}: no Dask scheduler answers ({e}).") \
            from None
    n_workers = len(client.scheduler_info().get("workers", {}))
    settings.workers = max(settings.workers, 2 * max(1, n_workers))
    return client


def _settings_dict(settings: GradeSettings) -> dict:
    return {k: v for k, v in asdict(settings).items() if k not in ("db_url",)}


_LOCK = threading.Lock()
_POOLS: dict[int, tuple] = {}  # memory limit -> (folder, WorkerPool) of this Dask worker


def _pool(memory_bytes: int) -> tuple:
    """This Dask worker process's grading pool for kernels of ``memory_bytes``, and the
    folder every task's files go under (hidden from kernels as a whole, so that a kernel
    started ahead for one task serves the next: it was started with the same hidden paths)."""
    import atexit
    import tempfile

    from .pool import WorkerPool

    with _LOCK:
        if memory_bytes not in _POOLS:
            if not _POOLS:
                atexit.register(close_pools)
            root = Path(tempfile.mkdtemp(prefix="rnn-cluster-"))
            _POOLS[memory_bytes] = (root, WorkerPool(root, memory_bytes))
        return _POOLS[memory_bytes]


def close_pools() -> None:
    """Stop this process's grading pools and remove their folders."""
    import shutil

    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for root, pool in pools:
        pool.close()
        shutil.rmtree(root, ignore_errors=True)


def cluster_task(lesson: str, student: str, release: str, source: str, submitted: str,
                 settings: dict, files: dict[str, str] | None = None) -> dict:
    """Grade one notebook on a Dask worker: the same long-lived grading processes as local
    grading, in a private folder of the worker's machine. Returns the outcome and the
    autograded notebook."""
    import tempfile

    cfg = GradeSettings(**settings)
    root, pool = _pool(cfg.memory_bytes)
    with tempfile.TemporaryDirectory(prefix="task-", dir=root) as tmp:
        ws = Workspace(tmp)
        for step, who, text in (("release", ".", release), ("source", ".", source),
                                ("submitted", student, submitted)):
            path = ws.notebook(step, lesson, who)
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
        for name, text in (files or {}).items():  # the lesson's hand-outs
            (ws.folder("release", lesson) / name).write_text(text, encoding="utf-8")
        hide = hidden_paths(Workspace(root), root, root)
        info = run_worker(ws, Submission(student, lesson, ws), cfg, hide, None, pool)
        graded = ws.notebook("autograded", lesson, student)
        info["notebook"] = graded.read_text(encoding="utf-8") if graded.is_file() else None
        return info


def grade_on_cluster(client, ws: Workspace, sub: Submission, settings: GradeSettings) -> dict:
    """Grade one staged notebook as a Dask task (any thread); its autograded notebook is
    written into ``ws``. Returns the worker's outcome."""
    read = lambda p: p.read_text(encoding="utf-8")  # noqa: E731
    future = client.submit(
        cluster_task, sub.lesson, sub.student,
        read(ws.notebook("release", sub.lesson)), read(ws.notebook("source", sub.lesson)),
        read(ws.notebook("submitted", sub.lesson, sub.student)), _settings_dict(settings),
        {p.name: read(p) for p in ws.folder("release", sub.lesson).glob("*.py")}, pure=False,
        key=f"grade-{sub.student}-{sub.lesson}-{os.urandom(4).hex()}")
    info = future.result()
    text = info.pop("notebook", None)
    if text is not None:
        graded = ws.notebook("autograded", sub.lesson, sub.student)
        graded.parent.mkdir(parents=True, exist_ok=True)
        graded.write_text(text, encoding="utf-8")
    return info
