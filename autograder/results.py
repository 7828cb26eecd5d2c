"""What grading produces, and the finished results kept between runs.

:class:`GradeSettings` holds a batch's limits and how it runs; a graded notebook is a
:class:`NotebookResult` with one :class:`CellResult` per graded cell. ``rnn-course grade``
keeps each finished result in ``<out>/results/<student>/<lesson>.json`` with a digest of
the submitted notebook and the lesson's source, so that a stopped batch resumes where it
was (:func:`load_finished`, :func:`save_finished`). The feedback pages
(:mod:`autograder.feedback`) and the reports (:mod:`autograder.report`) read these
objects only, never the grading machinery (:mod:`autograder.grade`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnkit.limits import LIMITS


@dataclass
class GradeSettings:
    """Limits per notebook (all have safe defaults) and how to run the batch."""

    cell_timeout: int = int(LIMITS.cell_seconds)  # seconds per cell
    notebook_timeout: int = int(LIMITS.notebook_seconds)  # seconds per notebook
    memory_bytes: int = LIMITS.memory_bytes  # address space of the student's kernel
    output_bytes: int = LIMITS.output_bytes  # output kept per cell
    workers: int = 1
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    db_url: str | None = None
    regrade: bool = False  # grade again notebooks already graded in this output folder


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


def notebook_digest(*paths: Path) -> str:
    """What a finished result was computed from (the files' bytes, a missing file too)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
    return h.hexdigest()


def result_path(out_dir: Path, student: str, lesson: str) -> Path:
    return out_dir / "results" / student / f"{lesson}.json"


def load_finished(out_dir: Path, student: str, lesson: str, digest: str) -> NotebookResult | None:
    """A result recorded by an earlier run for exactly this notebook and lesson source."""
    path = result_path(out_dir, student, lesson)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("digest") != digest:
        return None
    cells = [CellResult(**c) for c in data["result"].pop("cells")]
    return NotebookResult(**data["result"], cells=cells)


def save_finished(out_dir: Path, digest: str, result: NotebookResult) -> None:
    path = result_path(out_dir, result.student, result.lesson)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"digest": digest, "result": asdict(result)}))
    os.replace(tmp, path)  # a result file is whole or absent
