"""Grade notebook after notebook in one long-lived process: ``python -m autograder.worker``.

The parent (:class:`autograder.pool.WorkerPool`) sends one JSON request per line on this
process's stdin — the notebooks' paths in the course workspace, the limits and what to
hide — and reads one ``RESULT {json}`` line back per notebook on a private descriptor (the
process's own stdout is sent to /dev/null, so nothing a library prints can pass for a
result). For each request this process assembles the notebook to grade
(:mod:`autograder.assemble`), runs it — the student's cells in a sandboxed kernel, the test
cells in the judge — and writes the autograded notebook. Scores are not written here: the
parent stores them in the gradebook, one notebook at a time, so every result reaches the
gradebook exactly once whatever the number of workers.

Why one process for many notebooks: starting Python, importing nbformat, jupyter_client,
numpy and torch, and running a lesson's setup cell for the first time cost about two
seconds of CPU, more than many notebooks' own tests. Here they are paid once per worker
(the stack is imported when the worker starts, before any request), and a lesson's setup
cell is re-run in a fresh namespace for every notebook: with its modules already imported
that costs milliseconds, and each notebook's tests still start from the setup's own
objects and seeds, never from what the previous notebook's tests left.

Kernels start warm: while a notebook runs, the next notebook's sandboxed kernel is already
starting, with the lesson's modules imported (:class:`KernelSlots`), so a notebook waits
neither for Python, ipykernel and torch to start nor for the sandbox to be set up.

Why that is safe: student code never runs in this process — it runs in the sandboxed
kernel, which is a new process (new namespaces, a user id no other running kernel has) for
every notebook and is killed with everything it started when the notebook ends. What reaches this process from a kernel
is data decoded under limits (:mod:`rnnkit._grading.remote`). Each result still says ``recycle``
when anything unusual happened (a cell or test ran out of time, the kernel died or hit its
memory limit, a reply was too large, grading raised): the parent then replaces this
process, as it does after :data:`autograder.pool.WorkerPool.MAX_NOTEBOOKS` notebooks
and after any notebook that did not produce a result in time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

# autograder/__init__.py leaves jsonschema's rfc3987_syntax format checker out (0.9 s).
import nbformat  # noqa: E402

from rnnkit.errors import GradingTimeout, student_sentence  # noqa: E402
from rnnkit.limits import LIMITS  # noqa: E402

from .assemble import assemble, is_answer, is_test  # noqa: E402
from .judge import Judge, needless_cells  # noqa: E402
from .kernel import (  # noqa: E402
    GradingKernel,
    Limits,
    isolation_available,
    kill_user_processes,
    live_user_processes,
)

SKIPPED = "[not run when grading: no later cell uses what this cell computes]\n"


def _error_output(ename: str, evalue: str):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def _message(ename: str, evalue: str) -> tuple[str, str]:
    """The failure as shown to the student (:func:`rnnkit.errors.student_sentence`)."""
    return student_sentence(ename, evalue, where="test")


def _last_printed(outputs: list) -> str:
    """The last line a test printed."""
    text = "".join(
        "".join(o.get("text", "")) for o in outputs if o.get("output_type") == "stream"
    ).strip()
    return text.splitlines()[-1] if text else ""


def _as_points(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        import numpy as np

        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
    except ImportError:  # pragma: no cover
        pass
    return None


def _start_kernel(limits: Limits, hide: list[Path], isolation: str | None, uid: int | None,
                  files: dict[str, str] | None, preload: list[str]) -> GradingKernel:
    for attempt in range(3):  # a kernel that fails to start is never the student's doing
        kernel = GradingKernel(limits, hide, isolation=isolation, uid=uid, files=files,
                               preload=preload)
        try:
            kernel.start()
            return kernel
        except Exception:
            kernel.shutdown()
            if attempt == 2:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


class KernelSlots:
    """The next notebook's kernel, started while the current notebook runs.

    Every notebook still gets a kernel of its own that no student byte has touched: a new
    process in a new sandbox (private mounts and network, its own user, limits), which has
    only imported the course's modules (trusted code from the Python environment) and
    waited. What it saves is the time to start Python and ipykernel, enter the sandbox and
    import numpy and torch, which now overlaps the previous notebook instead of delaying
    this one. The parent gives this worker two sandbox user ids of its own
    (:class:`autograder.kernel.UidPool`, held by the parent for the worker's life), and the
    two kernels alternate between them, so the kernel waiting for the next notebook never
    shares a user with the kernel running student code: that code cannot signal, trace or
    read the waiting kernel, and cannot enter its socket folder or its private ``/tmp``.
    Before a user id gets a new kernel, every process of the kernel it had before is killed;
    if one survives, the kernel is not started and this worker asks to be replaced. The
    lesson's hand-outs are written into the kernel's folder when the notebook takes the
    kernel, before its first cell. Without the root sandbox (``limits`` isolation) kernels
    would share the grader's user, so none is started ahead."""

    def __init__(self, uids: list[int] | None = None):
        self.uids = list(uids or [])
        self.ready: GradingKernel | None = None
        self.ready_key: tuple | None = None
        self.unclean = False  # a user id still ran processes after its kernel ended
        self.warm = False  # the last kernel taken had been started ahead

    @staticmethod
    def _key(limits: Limits, hide: list[Path], isolation: str) -> tuple:
        return repr(limits), tuple(str(h) for h in hide), isolation

    def take(self, limits: Limits, hide: list[Path], isolation: str, uid: int | None,
             files: dict[str, str] | None, preload: list[str]) -> GradingKernel:
        """A kernel for this notebook: the one started ahead if it was started for the same
        limits and hidden paths, else a new one."""
        kernel, key, self.ready, self.ready_key = self.ready, self.ready_key, None, None
        self.warm = False
        if kernel is not None:
            if key == self._key(limits, hide, isolation):
                kernel.files = dict(files or {})
                try:
                    kernel.connect()
                    self.warm = True
                    return kernel
                except Exception:
                    pass
            kernel.shutdown()
        if self.uids:
            uid = self.uids[0]
            kill_user_processes(uid)
        return _start_kernel(limits, hide, isolation, uid, files, preload)

    def prepare(self, limits: Limits, hide: list[Path], isolation: str, preload: list[str],
                busy_uid: int | None) -> None:
        """Start the next notebook's kernel under the user id the current kernel does not
        use (nothing when this worker has no user ids of its own)."""
        free = [u for u in self.uids if u != busy_uid]
        if isolation != "user+mounts" or not free:
            return
        uid = free[0]
        kill_user_processes(uid)
        if live_user_processes(uid):
            self.unclean = True
            return
        kernel = GradingKernel(limits, hide, isolation=isolation, uid=uid, preload=preload)
        try:
            kernel.launch()
        except Exception:
            kernel.shutdown()
            return
        self.ready, self.ready_key = kernel, self._key(limits, hide, isolation)

    def close(self) -> None:
        if self.ready is not None:
            self.ready.shutdown()
        self.ready = self.ready_key = None


SLOTS = KernelSlots()  # this worker's; given its user ids by main()


def run_notebook(nb, limits: Limits, hide: list[Path], budget: float, isolation: str | None,
                 uid: int | None = None, files: dict[str, str] | None = None,
                 slots: KernelSlots | None = None, preload: list[str] | None = None,
                 ahead: bool = True) -> dict:
    """Execute ``nb`` in place. Returns what happened to the notebook as a whole, and in
    ``cells`` what each cell with a grade id said: ``solution`` (an answer cell), ``error``
    (the one sentence a failed test ends with) and ``printed`` (the last line it printed).

    ``files``: name -> text of the lesson's hand-outs, written into the kernel's folder.
    ``slots``: where the kernel comes from and where the next one is started ahead (by
    default none is: a new kernel under ``uid``). ``preload``: modules the kernel imports
    before it answers (the lesson's setup imports). ``ahead``: whether another notebook
    follows, for which a kernel is started now."""
    start = time.monotonic()
    cpu0 = _own_cpu()
    status, reason = "ok", ""
    recycle = False  # anything unusual: the parent replaces this process afterwards
    isolation = isolation or isolation_available()
    preload = list(preload or [])
    slots = slots if slots is not None else KernelSlots()
    said: dict[str, dict] = {}  # test cell's grade id -> its error sentence and last line
    kernel = slots.take(limits, hide, isolation, uid, files, preload)
    t_kernel = time.monotonic()
    if ahead:
        slots.prepare(limits, hide, isolation, preload, kernel.uid)
    t_ahead = time.monotonic()
    spent = {"tests": 0.0, "setup_judge": 0.0}
    judge = Judge(kernel, timeout=limits.cell_seconds)
    try:
        setup_source = None
        skip = needless_cells(nb)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if index in skip:  # a demonstration whose work no later cell can use
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED)]
                continue
            if time.monotonic() - start > budget:
                status = "timeout"
                reason = f"the notebook ran longer than {budget:g} s; later cells did not run"
                if is_test(cell):
                    cell.outputs = [_error_output("TimeoutError", reason)]
                    said[_grade_id(cell)] = {"error": reason.strip(), "printed": ""}
                continue
            if is_test(cell):
                t0 = time.monotonic()
                res = judge.run_test(cell.source)
                spent["tests"] += time.monotonic() - t0
                if res.error and res.error[0] in (GradingTimeout.__name__, "ReplyTooLarge",
                                                  "GradingError", "MemoryError"):
                    recycle = True
                outputs = [o for o in res.outputs if o.get("output_type") == "stream"]
                for o in outputs:
                    o["name"] = "stdout"  # warnings never fail a test
                error = ""
                if res.error:
                    ename, evalue = _message(*res.error)
                    outputs.append(_error_output(ename, evalue))
                    error = str(evalue).strip() or str(ename)
                else:
                    points = _as_points(res.value)
                    if points is not None:
                        outputs.append(nbformat.v4.new_output(
                            "execute_result", data={"text/plain": repr(round(points, 6))},
                            execution_count=None))
                cell.outputs = outputs
                said[_grade_id(cell)] = {"error": error, "printed": _last_printed(outputs)}
                continue
            run = kernel.run(cell.source)
            cell.outputs = run.outputs
            is_setup = cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"
            if run.status in ("timeout", "died") or run.ename == "ReplyTooLarge":
                recycle = True
            if run.status == "timeout":
                cell.outputs.append(_error_output("TimeoutError", run.evalue))
            elif run.status == "died":
                cell.outputs.append(_error_output("KernelDied", run.evalue))
                if status == "ok":
                    status, reason = "died", (
                        f"the kernel stopped in cell {cell.get('id')} ({run.evalue}); it was "
                        "restarted, so later cells lost what earlier cells had defined")
                kernel.restart()
                if setup_source is not None:
                    kernel.run(setup_source)
            if is_setup:
                setup_source = cell.source
                t0 = time.monotonic()
                judge.run_trusted(cell.source)
                spent["setup_judge"] += time.monotonic() - t0
    finally:
        isolation_used = kernel.isolation
        t_cells = time.monotonic()
        kernel_cpu = kernel.cpu_seconds()
        kernel.shutdown()
        if kernel.uid is not None and live_user_processes(kernel.uid):
            recycle = True  # something of this notebook's survived its kernel
    timing = {"kernel": t_kernel - start, "ahead": t_ahead - t_kernel,
              "cells": t_cells - t_ahead, **spent, "requests": judge.conn.requests,
              "request_s": judge.conn.request_seconds, "shutdown": time.monotonic() - t_cells,
              "cpu": _own_cpu() - cpu0, "kernel_cpu": kernel_cpu, "warm": int(slots.warm)}
    cells = [{"grade_id": gid, "solution": is_answer(c),
              **said.get(gid, {"error": "", "printed": ""})}
             for c in nb.cells if (gid := _grade_id(c)) is not None]
    return {"status": status, "reason": reason, "isolation": isolation_used, "cells": cells,
            "recycle": recycle or status != "ok" or slots.unclean,
            "seconds": round(time.monotonic() - start, 2),
            "timing": {k: round(v, 3) for k, v in timing.items()}}


def _own_cpu() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _grade_id(cell) -> str | None:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return gid if isinstance(gid, str) else None


def grade(release: str, source: str, submitted: str, autograded: str, limits: dict,
          hide: list[str], budget: float, isolation: str | None = None,
          uid: int | None = None, ahead: bool = True) -> dict:
    """Grade one notebook: the lesson's release and source and the student's submitted
    notebook in, the autograded notebook written to ``autograded`` (paths from the parent's
    :class:`autograder.workspace.Workspace`)."""
    t0 = time.monotonic()
    release_nb = nbformat.read(release, as_version=4)
    source_nb = nbformat.read(source, as_version=4)
    nb = assemble(release_nb, source_nb, nbformat.read(submitted, as_version=4))
    # the lesson's hand-outs (earlier lessons' code released with it): in the kernel's folder,
    # and importable by the judge's setup and test cells from the grader's own copy
    handouts = Path(release).parent
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(handouts.glob("*.py"))}
    use_handouts(handouts)
    preload = setup_imports(source_nb, files)
    t1 = time.monotonic()
    info = run_notebook(nb, Limits(**limits), [Path(h) for h in hide], budget, isolation, uid,
                        files, SLOTS, preload, ahead)
    t2 = time.monotonic()
    out = Path(autograded)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    info["timing"].update(assemble=round(t1 - t0, 3), write=round(time.monotonic() - t2, 3))
    return {"success": True, **info}


# torch imports torch._dynamo on the first optimizer step, not with torch: about 2 s of CPU
# (5 s on a loaded machine). The kernel imports it ahead only for a lesson whose cells that
# run when grading train something (:func:`trains`); elsewhere it would be CPU spent for nothing.
TRAINING_IMPORTS = ["torch._dynamo"]
TRAINING_WORDS = re.compile(r"\boptim\b|\b(fit|train)\w*\(")


def trains(source) -> bool:
    """Whether a cell of the lesson's source that runs in the kernel when grading (tests and
    demonstrations left out, see :func:`autograder.judge.needless_cells`) calls a training
    function or names ``optim``. Only a hint for what the kernel imports ahead: a wrong
    guess costs time, never a score."""
    skip = needless_cells(source)
    return any(TRAINING_WORDS.search(c.source) for i, c in enumerate(source.cells)
               if c.cell_type == "code" and i not in skip and not is_test(c))


def setup_imports(source, files: dict[str, str]) -> list[str]:
    """The modules the lesson's setup cell imports (from the lesson's source, never from the
    student's notebook), hand-outs left out: what the kernel imports before it answers."""
    import ast
    import importlib.util

    handouts = {Path(n).stem for n in files}
    mods: list[str] = []
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") != "setup":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            return []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in handouts or name in mods:
                    continue
                try:
                    if importlib.util.find_spec(top) is None:
                        continue
                except (ImportError, ValueError):
                    continue
                mods.append(name)
    if mods:  # plotly's renderers import nbformat (and jsonschema): ~0.3 s at once
        mods.append("nbformat")
    if "torch" in mods and trains(source):
        mods += TRAINING_IMPORTS
    return mods


_HANDOUTS: list[str] = []  # the hand-out folder on sys.path now (one lesson's at a time)


def use_handouts(folder: Path) -> None:
    """Put this lesson's hand-out folder on ``sys.path`` in place of the previous lesson's,
    and forget the modules imported from the previous one (two lessons' hand-outs may share
    a name; each notebook's tests import the ones released with its own lesson)."""
    folder = str(folder)
    if _HANDOUTS == [folder]:
        return
    for old in _HANDOUTS:
        while old in sys.path:
            sys.path.remove(old)
        for name, mod in list(sys.modules.items()):
            where = getattr(mod, "__file__", None) or ""
            if where.startswith(old + os.sep):
                del sys.modules[name]
    _HANDOUTS[:] = [folder]
    sys.path.insert(0, folder)


def warm_up() -> None:
    """Import what every lesson's setup cell and tests import, once per worker."""
    import numpy  # noqa: F401
    import plotly.io  # noqa: F401
    import torch  # noqa: F401

    import rnnkit  # noqa: F401
    import rnnkit._grading.remote  # noqa: F401
    import rnnkit.checks  # noqa: F401


GRADER_MEMORY_BYTES = LIMITS.grader_memory_bytes


def limit_own_memory(kernel_bytes: int) -> None:
    """The grading process's own address space is bounded (values from the kernel are
    bounded before they are expanded too, see :mod:`rnnkit._grading.remote`); the kernel, a child,
    may still get its own limit up to ``kernel_bytes``."""
    import resource

    limit = max(GRADER_MEMORY_BYTES, int(kernel_bytes) + 1024**3)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def main(argv: list[str]) -> int:
    """``python -m autograder.worker MEMORY_BYTES [UID ...]``: serve requests until stdin
    closes. The user ids are this worker's own, for its kernels (:class:`KernelSlots`)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(1))
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")  # RESULT lines only
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # whatever else is printed goes nowhere
    os.close(quiet)
    limit_own_memory(int(argv[0]) if argv else LIMITS.memory_bytes)
    SLOTS.uids = [int(u) for u in argv[1:]]
    try:
        warm_up()
    except Exception:  # the first notebook imports what it needs, and reports any error
        pass
    for line in sys.stdin:
        try:
            outcome = grade(**json.loads(line))
        except Exception as e:  # reported to the parent, which records it for this notebook
            outcome = {"success": False, "error": f"{type(e).__name__}: {e}", "recycle": True}
        results.write("RESULT " + json.dumps(outcome) + "\n")
        results.flush()
    SLOTS.close()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
