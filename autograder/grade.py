"""``rnn-course grade SUBMISSIONS --out DIR``: autograde a class with nbgrader.

Steps (each a small function, composed by :func:`grade_command`):

1. find the submissions (folder or zip) and check their shape;
2. lay out an nbgrader course in ``DIR/nbgrader`` (a copy of the lessons' sources) and
   register every lesson in the gradebook ``DIR/gradebook.db``;
3. autograde each notebook in its own process, under a wall-time limit, with test cells
   and locked cells restored from the source and stderr warnings not counted as failures;
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

from .course import ROOT, CourseError, lesson_ids, nbgrader_failure, read_notebook_json
from .release import nbgrader_api
from .submissions import MAX_NOTEBOOK_BYTES, Submission, discover, staged


@dataclass
class GradeSettings:
    cell_timeout: int = 120
    notebook_timeout: int = 600
    workers: int = 1
    db_url: str | None = None


@dataclass
class CellResult:
    grade_id: str
    kind: str  # "test" (autograded) or "manual"
    score: float | None
    max_score: float
    status: str  # passed, partial, failed, not graded, needs manual grading
    message: str = ""


@dataclass
class NotebookResult:
    student: str
    lesson: str
    status: str  # graded, missing, invalid, timeout, crashed
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cells: list[CellResult] = field(default_factory=list)


# ---------------------------------------------------------------- workspace


def prepare_workspace(ws: Path, lessons: list[str], db_url: str, root: Path = ROOT) -> None:
    """Copy each lesson's source into ``ws/solutions`` and register it in the gradebook."""
    for lesson in lessons:
        dest = ws / "solutions" / lesson
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(root / "solutions" / lesson, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    api = nbgrader_api(ws, db_url)
    for lesson in lessons:
        result = api.generate_assignment(lesson, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"lesson {lesson}: nbgrader could not register it "
                              f"({nbgrader_failure(result)}).")


def _submitted_path(ws: Path, sub: Submission) -> Path:
    return ws / "submitted" / sub.student / sub.lesson / f"{sub.lesson}.ipynb"


def _autograded_path(ws: Path, sub: Submission) -> Path:
    return ws / "autograded" / sub.student / sub.lesson / f"{sub.lesson}.ipynb"


def stage_submission(ws: Path, sub: Submission) -> str | None:
    """Copy one notebook into nbgrader's submitted folder, normalised to the current
    nbformat. Returns a reason when it cannot be graded (missing, too large, malformed)."""
    dest = _submitted_path(ws, sub)
    if dest.parent.exists():
        shutil.rmtree(dest.parent)
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


def _zero_grades(db_url: str, sub: Submission) -> None:
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(sub.student)
        try:
            gb.remove_submission(sub.lesson, sub.student)
        except MissingEntry:
            pass
        submission = gb.add_submission(sub.lesson, sub.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def run_autograde(ws: Path, db_url: str, sub: Submission, settings: GradeSettings) -> tuple[
    str, str
]:
    """Autograde one staged notebook in a child process; returns (status, reason)."""
    args = json.dumps({
        "course": str(ws), "db_url": db_url, "lesson": sub.lesson, "student": sub.student,
        "cell_timeout": settings.cell_timeout,
    })
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.worker", args], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env,
        cwd=str(ws), start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=settings.notebook_timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return "timeout", f"the notebook ran longer than {settings.notebook_timeout} s"
    finally:
        _kill_group(proc)
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("RESULT ")), None)
    if line is None:
        return "crashed", f"the grading process ended without a result (exit {proc.returncode})"
    outcome = json.loads(line[len("RESULT "):])
    if not outcome["success"]:
        return "crashed", outcome["error"] or "nbgrader could not grade the notebook"
    return "graded", ""


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# ---------------------------------------------------------------- results


def _error_line(cell) -> str:
    """The one sentence a failed test cell produced (never the traceback)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            if ename == "CheckFailed":
                return evalue
            if ename == "NotImplementedError":
                return "an exercise this test relies on is not answered yet."
            if ename == "NameError":
                return f"{evalue} — run the cell that defines it, or answer that exercise."
            return f"{ename}: {evalue}" if evalue else ename
    return ""


def _printed(cell) -> str:
    text = "".join(
        out.get("text", "") for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    ).strip()
    return text.splitlines()[-1] if text else ""


def collect(ws: Path, db_url: str, sub: Submission, result: NotebookResult) -> None:
    """Fill ``result`` with per-cell scores from the gradebook and messages from the
    autograded notebook."""
    graded = _autograded_path(ws, sub)
    cells_by_id = {}
    if result.status == "graded" and graded.is_file():
        nb = nbformat.read(str(graded), as_version=4)
        cells_by_id = {
            c.metadata.nbgrader["grade_id"]: c for c in nb.cells
            if "nbgrader" in c.metadata and "grade_id" in c.metadata.nbgrader
        }
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(sub.lesson, sub.lesson, sub.student)
        except MissingEntry:
            return
        for grade in sorted(notebook.grades, key=lambda g: g.cell.name):
            cell = cells_by_id.get(grade.name)
            manual = grade.cell.cell_type == "markdown" or (
                cell is not None and utils.is_solution(cell)
            )
            score = grade.score if not grade.needs_manual_grade else None
            if manual:
                status = "needs manual grading" if grade.needs_manual_grade else (
                    "not graded" if result.status != "graded" else "graded"
                )
                message = "" if result.status == "graded" else result.reason
            elif result.status != "graded":
                status, message = "not graded", result.reason
            else:
                message = _error_line(cell) if cell is not None else ""
                if grade.score >= grade.max_score:
                    status = "passed"
                elif grade.score > 0:
                    status, message = "partial", message or (_printed(cell) if cell else "")
                else:
                    status = "failed"
                    if not message and cell is not None:
                        message = _printed(cell) or "the test did not pass."
            result.cells.append(CellResult(
                grade.name, "manual" if manual else "test", score, grade.max_score, status,
                message,
            ))
        result.score = float(sum(c.score or 0 for c in result.cells))
        result.max_score = float(sum(c.max_score for c in result.cells))


def grade_one(ws: Path, db_url: str, sub: Submission, settings: GradeSettings) -> NotebookResult:
    start = time.monotonic()
    reason = stage_submission(ws, sub)
    if reason is not None:
        status = "missing" if not sub.path.is_file() else "invalid"
        _zero_grades(db_url, sub)
        result = NotebookResult(sub.student, sub.lesson, status, reason)
    else:
        status, reason = run_autograde(ws, db_url, sub, settings)
        if status != "graded":
            _zero_grades(db_url, sub)
        result = NotebookResult(sub.student, sub.lesson, status, reason)
    collect(ws, db_url, sub, result)
    result.seconds = round(time.monotonic() - start, 2)
    return result


# ---------------------------------------------------------------- command


def export_csv(db_url: str, path: Path) -> None:
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin()
    plugin.to = str(path)
    with Gradebook(db_url) as gb:
        plugin.export(gb)


def grade_command(submissions: str, out: str, settings: GradeSettings) -> int:
    from .feedback import write_feedback
    from .report import write_class_report, write_report

    lessons = lesson_ids()
    with staged(Path(submissions)) as (folder, problems):
        subs, found_problems = discover(folder, lessons)
        problems += found_problems
        out_dir = Path(out).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        ws = out_dir / "nbgrader"
        db_url = settings.db_url or f"sqlite:///{out_dir / 'gradebook.db'}"
        needed = sorted({s.lesson for s in subs})
        prepare_workspace(ws, needed, db_url)
        results: list[NotebookResult] = []
        with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
            futures = [pool.submit(grade_one, ws, db_url, s, settings) for s in subs]
            for n, fut in enumerate(futures, 1):
                r = fut.result()
                results.append(r)
                print(f"[{n}/{len(subs)}] {r.student}/{r.lesson}: {r.score:g}/{r.max_score:g}"
                      + (f" ({r.status}: {r.reason})" if r.status != "graded" else ""),
                      flush=True)
    export_csv(db_url, out_dir / "grades.csv")
    for r in results:
        write_feedback(ws, r, out_dir / "feedback" / r.student / r.lesson)
    write_report(out_dir / "report.json", results, problems, settings)
    write_class_report(out_dir / "report.html", results)
    for lesson in needed:
        rs = [r for r in results if r.lesson == lesson]
        mean = sum(r.score for r in rs) / len(rs)
        print(f"{lesson}: {len(rs)} notebooks, mean {mean:.2f}/{rs[0].max_score:g}, "
              f"{sum(r.status != 'graded' for r in rs)} not graded normally")
    for p in problems:
        print(f"note: {p}")
    print(f"wrote {out_dir}/grades.csv, report.json, report.html and feedback/")
    return 0


def results_as_dicts(results: list[NotebookResult]) -> list[dict]:
    return [asdict(r) for r in results]
