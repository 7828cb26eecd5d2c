"""``rnn-course grade SUBMISSIONS --out DIR``: autograde a class with nbgrader.

Steps (each a small function, composed by :func:`grade_command`):

1. find the submissions (folder or zip) and check their shape;
2. lay out an nbgrader course in ``DIR/nbgrader`` (a copy of the lessons' sources) and
   register every lesson in the gradebook ``DIR/gradebook.db``;
3. grade the notebooks in long-lived grading processes (:class:`WorkerPool`, one per
   ``--workers``; :mod:`autograder.worker` says why one process may grade many): each is
   rebuilt from the lesson with only the student's answers taken over
   (:mod:`autograder.assemble`), the student's cells run in a sandboxed kernel under limits,
   the test cells run in the grader's process (:mod:`autograder.judge`), and the scores go
   into nbgrader's gradebook through nbgrader's own ``SaveAutoGrades``, one notebook at a
   time; a finished notebook's result is kept in ``DIR/results`` so that a stopped batch
   resumes where it was;
4. write ``grades.csv`` (nbgrader's export), per-student feedback HTML (no hidden test
   source, no tracebacks), ``report.json`` and the class report ``report.html``.

A malformed, missing or runaway notebook is graded zero with a reason; the batch goes on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .course import ROOT, CourseError, lesson_ids, nbgrader_failure, read_notebook_json
from .kernel import UidPool
from .release import nbgrader_api
from .results import (
    CellResult,
    GradeSettings,
    NotebookResult,
    load_finished,
    notebook_digest,
    save_finished,
)
from .submissions import MAX_NOTEBOOK_BYTES, Submission, discover, staged
from .workspace import STEPS, Workspace

# ---------------------------------------------------------------- workspace


def _workspace(ws: Workspace | Path) -> Workspace:
    return ws if isinstance(ws, Workspace) else Workspace(ws)


def prepare_workspace(ws: Workspace, lessons: list[str], db_url: str, root: Path = ROOT) -> None:
    """Copy each lesson's source into the workspace and register it in the gradebook."""
    course = Workspace(root)
    for lesson in lessons:
        dest = ws.folder("source", lesson)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(course.folder("source", lesson), dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    from .release import write_handouts

    for lesson in lessons:
        write_handouts(lesson, ws.root)  # released with the lesson, as `rnn-course release` does
    api = nbgrader_api(ws.root, db_url)
    for lesson in lessons:
        result = api.generate_assignment(lesson, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"lesson {lesson}: nbgrader could not register it "
                              f"({nbgrader_failure(result)}).")


def stage_submission(ws: Workspace, sub: Submission) -> str | None:
    """Copy one notebook into nbgrader's submitted folder, normalised to the current
    nbformat. Returns a reason when it cannot be graded (missing, too large, malformed)."""
    dest = ws.notebook("submitted", sub.lesson, sub.student)
    for folder in (dest.parent, ws.folder("autograded", sub.lesson, sub.student)):
        if folder.exists():  # an earlier run's notebooks, never mistaken for this run's
            shutil.rmtree(folder)
    if sub.invalid:
        return sub.invalid
    if not sub.path.is_file():
        return f"no {sub.path.name} was submitted"
    size = sub.path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return f"the notebook is {size} bytes, larger than the limit of {MAX_NOTEBOOK_BYTES}"
    try:
        nb = read_notebook_json(sub.path)
    except CourseError as e:
        return str(e).split(": ", 1)[-1].rstrip(".")
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return None


def store_grades(db_url: str, sub: Submission, notebook=None) -> None:
    """Write one notebook's scores into the gradebook (zero everywhere when ``notebook`` is
    None). Called from one thread only, one notebook at a time."""
    from nbgrader.preprocessors import SaveAutoGrades

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(sub.student)
        submission = gb.update_or_create_submission(sub.lesson, sub.student)
        if notebook is None:
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
            return
    resources = {"nbgrader": {"db_url": db_url, "assignment": sub.lesson,
                              "notebook": sub.lesson, "student": sub.student}}
    SaveAutoGrades().preprocess(notebook, resources)


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


def _request(ws: Workspace | Path, sub: Submission, settings: GradeSettings, hide: list[Path],
             uid: int | None) -> dict:
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
    workers' notebooks instead of delaying the next one."""

    MAX_NOTEBOOKS = 25

    def __init__(self, ws: Path, memory_bytes: int, spare: bool = True):
        import threading

        self.ws, self.memory_bytes, self.spare = ws, memory_bytes, spare
        self._idle: list[GradingWorker] = []
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
        return GradingWorker(self.ws, self.memory_bytes, uids)

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
                worker.close()
            worker = self._new()
        outcome = worker.grade(request, timeout)
        if outcome.get("recycle") or not outcome.get("success") or \
                worker.graded >= self.MAX_NOTEBOOKS:
            answered = outcome.get("status") not in ("timeout", "crashed")
            worker.close(wait=3.0 if answered else 0.0)
            worker = self._new() if self.spare else None
        if worker is not None:
            with self._lock:
                self._idle.append(worker)
        return outcome

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close(wait=3.0)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_worker(ws: Workspace | Path, sub: Submission, settings: GradeSettings,
               hide: list[Path], uid: int | None, pool: WorkerPool | None = None) -> dict:
    """Grade one staged notebook in a grading worker (``pool``'s, or a worker started for
    this notebook alone); past the notebook limit the worker is killed."""
    request = _request(ws, sub, settings, hide, uid)
    timeout = settings.notebook_timeout + 60
    if pool is not None:
        return pool.grade(request, timeout)
    with WorkerPool(_workspace(ws).root, settings.memory_bytes, spare=False) as own:
        return own.grade(request, timeout)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# ---------------------------------------------------------------- results


def collect(db_url: str, sub: Submission, result: NotebookResult,
            cells: list[dict] | None) -> None:
    """Fill ``result`` with per-cell scores from the gradebook and the messages the worker
    returned with the notebook (``cells``, see :func:`autograder.worker.run_notebook`;
    None when the notebook did not run)."""
    ran = cells is not None
    by_id = {c["grade_id"]: c for c in cells or []}
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(sub.lesson, sub.lesson, sub.student)
        except MissingEntry:
            return
        for grade in sorted(notebook.grades, key=lambda g: g.cell.name):
            cell = by_id.get(grade.name)
            manual = grade.cell.cell_type == "markdown" or (
                cell is not None and cell["solution"]
            )
            score = grade.score if not grade.needs_manual_grade else None
            if manual:
                status = "needs manual grading" if grade.needs_manual_grade else (
                    "graded" if ran else "not graded")
                message = "" if ran else result.reason
            elif not ran:
                status, message = "not graded", result.reason
            else:
                message = cell["error"] if cell is not None else ""
                if grade.score >= grade.max_score:
                    status = "passed"
                elif grade.score > 0:
                    status, message = "partial", message or (cell["printed"] if cell else "")
                else:
                    status = "failed"
                    if not message and cell is not None:
                        message = cell["printed"] or "the test did not pass."
            result.cells.append(CellResult(
                grade.name, "manual" if manual else "test", score, grade.max_score, status,
                message,
            ))
        result.score = float(sum(c.score or 0 for c in result.cells))
        result.max_score = float(sum(c.max_score for c in result.cells))


def _settings_dict(settings: GradeSettings) -> dict:
    return {k: v for k, v in asdict(settings).items() if k not in ("db_url",)}


def cluster_task(lesson: str, student: str, release: str, source: str, submitted: str,
                 settings: dict, files: dict[str, str] | None = None) -> dict:
    """Grade one notebook on a Dask worker: the same worker process as local grading, in a
    private folder of the worker's machine. Returns the outcome and the autograded notebook."""
    import tempfile

    from .kernel import isolation_available

    with tempfile.TemporaryDirectory(prefix="rnn-cluster-") as tmp:
        ws = Workspace(tmp)
        for step, who, text in (("release", ".", release), ("source", ".", source),
                                ("submitted", student, submitted)):
            path = ws.notebook(step, lesson, who)
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
        for name, text in (files or {}).items():  # the lesson's hand-outs
            (ws.folder("release", lesson) / name).write_text(text, encoding="utf-8")
        cfg = GradeSettings(**settings)
        hide = hidden_paths(ws, ws.root, ws.root)
        held = UidPool().acquire() if isolation_available() == "user+mounts" else None
        try:
            info = run_worker(ws, Submission(student, lesson, ws), cfg, hide, held and held[0])
        finally:
            if held:
                UidPool.release(*held)
        graded = ws.notebook("autograded", lesson, student)
        info["notebook"] = graded.read_text(encoding="utf-8") if graded.is_file() else None
        return info


def execute_one(ws: Workspace, sub: Submission, settings: GradeSettings, hide: list[Path],
                uid: int | None, client=None, pool: WorkerPool | None = None
                ) -> tuple[Submission, str, str, dict]:
    """Stage and run one notebook (any thread). Returns (sub, status, reason, info)."""
    reason = stage_submission(ws, sub)
    if reason is not None:
        return sub, ("missing" if not sub.path.is_file() and not sub.invalid else "invalid"), \
            reason, {}
    if client is not None:  # a Dask cluster
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
    else:
        info = run_worker(ws, sub, settings, hide, uid, pool)
    if not info.get("success"):
        return sub, info.get("status", "crashed"), info.get("error", ""), info
    status = {"ok": "graded", "timeout": "timeout", "died": "graded"}[info["status"]]
    return sub, status, info.get("reason", ""), info


def finish_one(ws: Workspace, db_url: str, out_dir: Path, sub: Submission, status: str,
               reason: str, info: dict, seconds: float, digest: str) -> NotebookResult:
    """Store one notebook's grades and its result (main thread only)."""
    graded = ws.notebook("autograded", sub.lesson, sub.student)
    cells = info.get("cells")  # what the worker returned for each cell
    has_notebook = status in ("graded", "timeout") and cells is not None and graded.is_file()
    store_grades(db_url, sub, nbformat.read(str(graded), as_version=4) if has_notebook
                 else None)
    result = NotebookResult(sub.student, sub.lesson, status if has_notebook or status not in
                            ("graded", "timeout") else "crashed", reason)
    collect(db_url, sub, result, cells if has_notebook else None)
    result.seconds = round(seconds, 2)
    save_finished(out_dir, digest, result)
    return result


def export_csv(db_url: str, path: Path) -> None:
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin()
    plugin.to = str(path)
    with Gradebook(db_url) as gb:
        plugin.export(gb)


def grade_command(submissions: str, out: str, settings: GradeSettings) -> int:
    from concurrent.futures import as_completed

    from tqdm import tqdm

    from .feedback import write_feedback
    from .kernel import isolation_available
    from .report import write_class_report, write_report

    lessons = lesson_ids()
    isolation = isolation_available()
    with staged(Path(submissions)) as (folder, problems):
        subs, found_problems = discover(folder, lessons, getattr(problems, "invalid", {}))
        problems += found_problems
        out_dir = Path(out).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        ws = Workspace(out_dir / "nbgrader", out_dir / "feedback")
        db_url = settings.db_url or os.environ.get("RNN_COURSE_DB_URL") or \
            f"sqlite:///{out_dir / 'gradebook.db'}"
        needed = sorted({s.lesson for s in subs})
        workers = None
        if not settings.scheduler and subs:  # started now: their imports overlap the set-up
            ws.root.mkdir(parents=True, exist_ok=True)
            workers = WorkerPool(ws.root, settings.memory_bytes)
            workers.warm(min(max(1, settings.workers), len(subs)))
        try:
            prepare_workspace(ws, needed, db_url)
            hide = hidden_paths(ws, out_dir, folder.resolve())
            results: dict[tuple[str, str], NotebookResult] = {}
            todo = []
            for sub in subs:
                digest = notebook_digest(sub.path, ws.notebook("source", sub.lesson))
                done = None if settings.regrade else \
                    load_finished(out_dir, sub.student, sub.lesson, digest)
                if done is not None and ws.notebook("autograded", sub.lesson,
                                                    sub.student).is_file() or (
                        done is not None and done.status not in ("graded", "timeout")):
                    results[(sub.student, sub.lesson)] = done
                else:
                    todo.append((sub, digest))
            if len(todo) < len(subs):
                print(f"{len(subs) - len(todo)} notebooks already graded in {out_dir} "
                      "(use --regrade to grade them again)", flush=True)
            client = None
            if settings.scheduler:
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
        except BaseException:
            if workers is not None:
                workers.close()
            raise
        try:
            with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool, \
                    tqdm(total=len(todo), desc="grading", unit="notebook", disable=None) as bar:

                def task(sub, digest):  # the pool's workers hold their kernels' user ids
                    held = UidPool().acquire() if isolation == "user+mounts" and client is None \
                        and workers is None else None
                    try:
                        t0 = time.monotonic()
                        return (*execute_one(ws, sub, settings, hide, held and held[0], client,
                                             workers), time.monotonic() - t0, digest)
                    finally:
                        if held:
                            UidPool.release(*held)

                # lesson by lesson: the kernel a worker starts ahead has the lesson's modules
                futures = [pool.submit(task, sub, digest)
                           for sub, digest in sorted(todo, key=lambda t: t[0].lesson)]
                for fut in as_completed(futures):
                    sub, status, reason, info, seconds, digest = fut.result()
                    r = finish_one(ws, db_url, out_dir, sub, status, reason, info, seconds, digest)
                    results[(sub.student, sub.lesson)] = r
                    bar.update(1)
                    tqdm.write(f"{r.student}/{r.lesson}: {r.score:g}/{r.max_score:g}"
                               + (f" ({r.status}: {r.reason})" if r.status != "graded" else ""),
                               file=sys.stdout)
        finally:
            if workers is not None:
                workers.close()
        if client is not None:
            client.close()
    ordered = [results[(s.student, s.lesson)] for s in subs]
    export_csv(db_url, out_dir / "grades.csv")
    for r in ordered:
        try:
            write_feedback(ws, r)
        except BaseException as e:  # that student's note, never the batch's
            if isinstance(e, KeyboardInterrupt):
                raise
            problems.append(f"{r.student}/{r.lesson}: the feedback page could not be written "
                            f"({type(e).__name__}: {str(e)[:120]}).")
    write_report(out_dir / "report.json", ordered, problems, settings, isolation)
    write_class_report(out_dir / "report.html", ordered)
    for lesson in needed:
        rs = [r for r in ordered if r.lesson == lesson]
        mean = sum(r.score for r in rs) / len(rs)
        print(f"{lesson}: {len(rs)} notebooks, mean {mean:.2f}/{rs[0].max_score:g}, "
              f"{sum(r.status != 'graded' for r in rs)} not graded normally")
    for p in problems:
        print(f"note: {p}")
    where = f"Dask cluster at {settings.scheduler}" if settings.scheduler else \
        f"{settings.workers} local worker{'s' if settings.workers > 1 else ''}"
    print(f"wrote {out_dir}/grades.csv, report.json, report.html and feedback/ "
          f"({where}; isolation: {isolation})")
    return 0
