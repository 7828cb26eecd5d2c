"""``rnn-course grade SUBMISSIONS --out DIR``: autograde a class with nbgrader.

Steps, one function each, composed by :func:`grade_command`:

1. :func:`find_submissions`: the submissions (folder or zip), their shape checked, and the
   output folder (a :class:`Batch`);
2. :func:`start_graders`: long-lived local grading processes (:mod:`autograder.pool`, one
   per ``--workers``), started first so that their imports overlap the set-up, or a Dask
   cluster (:mod:`autograder.cluster`);
3. :func:`prepare_workspace`: an nbgrader course in ``DIR/nbgrader``
   (:class:`autograder.workspace.Workspace`, a copy of the lessons' sources) with every
   lesson registered in the gradebook ``DIR/gradebook.db``;
4. :func:`skip_finished`: a finished notebook's result is kept in ``DIR/results``
   (:mod:`autograder.results`), so that a stopped batch resumes where it was;
5. :func:`grade_notebooks`: each notebook is rebuilt from the lesson with only the
   student's answers taken over (:mod:`autograder.assemble`), the student's cells run in a
   sandboxed kernel under limits, the test cells in the grading process
   (:mod:`autograder.judge`), which returns each cell's message with the autograded
   notebook (:mod:`autograder.worker`); the scores go into nbgrader's gradebook through
   nbgrader's own ``SaveAutoGrades``, one notebook at a time (:func:`finish_one`);
6. :func:`export_csv`: ``grades.csv``, nbgrader's export;
7. :func:`write_feedback_pages`: per-student feedback HTML (no hidden test source, no
   tracebacks, :mod:`autograder.feedback`);
8. :func:`write_reports`: ``report.json`` and the class report ``report.html``
   (:mod:`autograder.report`), then :func:`print_summary`.

A malformed, missing or runaway notebook is graded zero with a reason; the batch goes on.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .course import ROOT, CourseError, lesson_ids, nbgrader_failure, read_notebook_json
from .pool import WorkerPool, hidden_paths, run_worker
from .release import nbgrader_api
from .results import (
    CellResult,
    GradeSettings,
    NotebookResult,
    load_finished,
    notebook_digest,
    save_finished,
)
from .submissions import MAX_NOTEBOOK_BYTES, Problems, Submission, discover, staged
from .workspace import Workspace

# ---------------------------------------------------------------- workspace


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


def store_grades(db_url: str, sub: Submission, notebook=None, same: bool = False) -> None:
    """Write one notebook's scores into the gradebook (zero everywhere when ``notebook`` is
    None). Called from one thread only, one notebook at a time.

    Scores given by hand in Formgrader stay; nbgrader's ``SaveAutoGrades`` marks each of
    them for review again, which is right for a notebook submitted anew but not when the
    ``same`` notebook is graded again (``--regrade``): then what was reviewed stays reviewed."""
    from nbgrader.preprocessors import SaveAutoGrades

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(sub.student)
        submission = gb.update_or_create_submission(sub.lesson, sub.student)
        reviewed = {(nb.name, g.name) for nb in submission.notebooks for g in nb.grades
                    if same and g.manual_score is not None and not g.needs_manual_grade}
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
    if reviewed:
        with Gradebook(db_url) as gb:
            for name, grade_id in reviewed:
                gb.find_grade(grade_id, name, sub.lesson, sub.student).needs_manual_grade = False
            gb.db.commit()


# ---------------------------------------------------------------- results


def collect(db_url: str, sub: Submission, result: NotebookResult,
            cells: list[dict] | None) -> None:
    """Fill ``result`` with per-cell scores from the gradebook and the messages the worker
    returned with the notebook (``cells``, see :func:`autograder.worker.run_notebook`;
    None when the notebook did not run).

    A cell's score is the gradebook's, as nbgrader's export counts it: the one given by hand
    in Formgrader if any, else the autograder's; an answer graded by hand (a free-text or a
    code solution cell with points, known from the gradebook) has none until it is graded."""
    ran = cells is not None
    by_id = {c["grade_id"]: c for c in cells or []}
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(sub.lesson, sub.lesson, sub.student)
        except MissingEntry:
            return
        answers = {c.name for c in notebook.notebook.solution_cells}
        for grade in sorted(notebook.grades, key=lambda g: g.cell.name):
            cell = by_id.get(grade.name)
            manual = grade.cell.cell_type == "markdown" or grade.name in answers
            waiting = grade.needs_manual_grade and grade.manual_score is None
            score = None if waiting else grade.score
            if manual:
                status = "needs manual grading" if grade.needs_manual_grade else (
                    "graded" if ran or grade.manual_score is not None else "not graded")
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


def execute_one(ws: Workspace, sub: Submission, grade_one: Callable[[Submission], dict]
                ) -> tuple[Submission, str, str, dict]:
    """Stage one notebook and grade it with ``grade_one`` (any thread). Returns (sub,
    status, reason, the worker's outcome)."""
    reason = stage_submission(ws, sub)
    if reason is not None:
        return sub, ("missing" if not sub.path.is_file() and not sub.invalid else "invalid"), \
            reason, {}
    info = grade_one(sub)
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
    same = load_finished(out_dir, sub.student, sub.lesson, digest) is not None  # regraded
    store_grades(db_url, sub, nbformat.read(str(graded), as_version=4) if has_notebook
                 else None, same)
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


# ---------------------------------------------------------------- the pipeline


@dataclass
class Batch:
    """One run of ``rnn-course grade``: where everything goes, and what was found."""

    settings: GradeSettings
    out_dir: Path
    ws: Workspace
    db_url: str
    subs: list[Submission]
    problems: list[str]
    isolation: str
    hide: list[Path] = field(default_factory=list)
    results: dict[tuple[str, str], NotebookResult] = field(default_factory=dict)

    @property
    def lessons(self) -> list[str]:
        return sorted({s.lesson for s in self.subs})

    def ordered(self) -> list[NotebookResult]:
        return [self.results[(s.student, s.lesson)] for s in self.subs]


def find_submissions(folder: Path, problems: Problems, out: str,
                     settings: GradeSettings) -> Batch:
    """Step 1: the submissions in ``folder`` and the output folder they are graded into."""
    from .kernel import isolation_available

    subs, found_problems = discover(folder, lesson_ids(), getattr(problems, "invalid", {}))
    problems += found_problems
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    db_url = settings.db_url or os.environ.get("RNN_COURSE_DB_URL") or \
        f"sqlite:///{out_dir / 'gradebook.db'}"
    return Batch(settings, out_dir, Workspace(out_dir / "nbgrader", out_dir / "feedback"),
                 db_url, subs, problems, isolation_available())


@contextmanager
def start_graders(batch: Batch) -> Iterator[Callable[[Submission], dict]]:
    """Step 2: what grades one staged notebook — a Dask cluster's task, or a pool of local
    grading workers, started now so that their imports overlap the set-up — closed after."""
    settings = batch.settings
    if settings.scheduler:
        from .cluster import connect, grade_on_cluster

        client = connect(settings)
        try:
            yield lambda sub: grade_on_cluster(client, batch.ws, sub, settings)
        finally:
            client.close()
        return
    batch.ws.root.mkdir(parents=True, exist_ok=True)
    stageable = sum(1 for s in batch.subs if not s.invalid and s.path.is_file())
    workers = WorkerPool(batch.ws.root, settings.memory_bytes, notebooks=stageable)
    try:
        workers.warm(min(max(1, settings.workers), len(batch.subs)))
        yield lambda sub: run_worker(batch.ws, sub, settings, batch.hide, None, workers)
    finally:
        workers.close()


def skip_finished(batch: Batch) -> list[tuple[Submission, str]]:
    """Step 4: the notebooks still to grade, with their digests; the others' results (an
    earlier run's, for the same notebook and lesson source) are taken over."""
    todo = []
    for sub in batch.subs:
        digest = notebook_digest(sub.path, batch.ws.notebook("source", sub.lesson))
        done = None if batch.settings.regrade else \
            load_finished(batch.out_dir, sub.student, sub.lesson, digest)
        if done is not None and batch.ws.notebook("autograded", sub.lesson,
                                                  sub.student).is_file() or (
                done is not None and done.status not in ("graded", "timeout")):
            batch.results[(sub.student, sub.lesson)] = done
        else:
            todo.append((sub, digest))
    if len(todo) < len(batch.subs):
        print(f"{len(batch.subs) - len(todo)} notebooks already graded in {batch.out_dir} "
              "(use --regrade to grade them again)", flush=True)
    return todo


def grade_notebooks(batch: Batch, todo: list[tuple[Submission, str]],
                    grade_one: Callable[[Submission], dict]) -> None:
    """Step 5: grade ``settings.workers`` notebooks at a time; each one's grades and result
    are stored as it finishes (in this thread only)."""
    from tqdm import tqdm

    def task(sub, digest):
        t0 = time.monotonic()
        return (*execute_one(batch.ws, sub, grade_one), time.monotonic() - t0, digest)

    with ThreadPoolExecutor(max_workers=max(1, batch.settings.workers)) as pool, \
            tqdm(total=len(todo), desc="grading", unit="notebook", disable=None) as bar:
        # lesson by lesson: the kernel a worker starts ahead has the lesson's modules
        futures = [pool.submit(task, sub, digest)
                   for sub, digest in sorted(todo, key=lambda t: t[0].lesson)]
        for fut in as_completed(futures):
            sub, status, reason, info, seconds, digest = fut.result()
            r = finish_one(batch.ws, batch.db_url, batch.out_dir, sub, status, reason, info,
                           seconds, digest)
            batch.results[(sub.student, sub.lesson)] = r
            bar.update(1)
            tqdm.write(f"{r.student}/{r.lesson}: {r.score:g}/{r.max_score:g}"
                       + (f" ({r.status}: {r.reason})" if r.status != "graded" else ""),
                       file=sys.stdout)


def write_feedback_pages(batch: Batch) -> None:
    """Step 7: one feedback page per notebook; a page that cannot be written is a note
    about that student, never the batch's failure."""
    from .feedback import write_feedback

    for r in batch.ordered():
        try:
            write_feedback(batch.ws, r)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            batch.problems.append(f"{r.student}/{r.lesson}: the feedback page could not be "
                                  f"written ({type(e).__name__}: {str(e)[:120]}).")


def write_reports(batch: Batch) -> None:
    """Step 8: ``report.json`` and the class report ``report.html``."""
    from .report import write_class_report, write_report

    ordered = batch.ordered()
    write_report(batch.out_dir / "report.json", ordered, batch.problems, batch.settings,
                 batch.isolation)
    write_class_report(batch.out_dir / "report.html", ordered)


def print_summary(batch: Batch) -> None:
    ordered = batch.ordered()
    for lesson in batch.lessons:
        rs = [r for r in ordered if r.lesson == lesson]
        mean = sum(r.score for r in rs) / len(rs)
        print(f"{lesson}: {len(rs)} notebooks, mean {mean:.2f}/{rs[0].max_score:g}, "
              f"{sum(r.status != 'graded' for r in rs)} not graded normally")
    for p in batch.problems:
        print(f"note: {p}")
    settings = batch.settings
    where = f"Dask cluster at {settings.scheduler}" if settings.scheduler else \
        f"{settings.workers} local worker{'s' if settings.workers > 1 else ''}"
    print(f"wrote {batch.out_dir}/grades.csv, report.json, report.html and feedback/ "
          f"({where}; isolation: {batch.isolation})")


def grade_command(submissions: str, out: str, settings: GradeSettings) -> int:
    with staged(Path(submissions)) as (folder, problems):
        batch = find_submissions(folder, problems, out, settings)
        with start_graders(batch) as grade_one:
            prepare_workspace(batch.ws, batch.lessons, batch.db_url)  # step 3
            batch.hide = hidden_paths(batch.ws, batch.out_dir, folder.resolve())
            todo = skip_finished(batch)
            grade_notebooks(batch, todo, grade_one)
    export_csv(batch.db_url, batch.out_dir / "grades.csv")  # step 6
    write_feedback_pages(batch)
    write_reports(batch)
    print_summary(batch)
    return 0
