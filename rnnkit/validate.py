"""``rnn-course validate NOTEBOOK``: run a lesson notebook in a fresh kernel and report.

Every test cell's result is printed on one line; the exit status is 0 only when every
test cell passed. Exercises not answered yet are listed as such, and a failed test says what
the grader's feedback says (:mod:`rnnkit.errors`, :func:`failed_test_sentence`): the same words for every exercise
not answered yet, whatever it holds (a function or a value). JupyterLab's Validate button
shows the same lines (:mod:`rnnkit.lab`). The kernel talks to this process over IPC
sockets, so nothing is printed on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import UNANSWERED, student_sentence
from .limits import LIMITS

__all__ = ["UNANSWERED", "failed_test_sentence", "is_grade", "is_solution", "report",
           "validate_command", "validate_notebook"]


def _load(path: Path):
    sys.modules.setdefault("rfc3987_syntax", None)  # jsonschema's unused format checker: 1 s
    import nbformat

    if not path.is_file():
        raise ValueError(f"{path}: no such file.")
    try:
        text = path.read_bytes().decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text.") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}).") from None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as e:
        raise ValueError(f"{path}: not a valid notebook ({e}).") from None


def failed_test_sentence(ename: str, evalue: str) -> str:
    """A failed test cell's sentence: the grader's (:func:`rnnkit.errors.student_sentence`
    for a test), so a test of an exercise not answered yet reads the same whether the
    exercise holds a function or a value, in validate and in the feedback."""
    return student_sentence(ename, evalue, where="test")[1]


def is_grade(cell) -> bool:
    """nbgrader's ``nbgrader.utils.is_grade``: a graded cell (a test, or a manual answer).

    The same test as nbgrader's, written out because importing ``nbgrader`` costs about
    1.5 s of CPU (its package imports its server extensions and gradebook), paid by every
    ``validate`` and every grading worker; ``tests/test_layout.py`` checks both agree."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade", False))


def is_solution(cell) -> bool:
    """nbgrader's ``nbgrader.utils.is_solution``: an answer cell (see :func:`is_grade`)."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _ipc_prefix() -> str:
    """A private folder for the kernel's IPC sockets (they are named ``<prefix>-<port>``)."""
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="rnn-validate-")) / "kernel")


def _remove_ipc_files(km) -> None:
    import shutil

    folder = Path(km.ip).parent
    if folder.name.startswith("rnn-validate-"):
        shutil.rmtree(folder, ignore_errors=True)


def _error(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), str(out.get("evalue", "")).strip()
    return None


def validate_notebook(path: Path, timeout: float = LIMITS.cell_seconds) -> list[tuple[str, str, str]]:
    """Execute ``path`` (not saved) and return ``(cell id, status, message)`` per graded cell."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = _load(path)
    km = KernelManager(kernel_name="python3", transport="ipc",
                       ip=_ipc_prefix())  # IPC: no "running over TCP" warning
    client = NotebookClient(
        nb, km=km, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    client.store_widget_state = False
    try:
        client.execute()
    finally:
        if km.has_kernel:  # nbclient leaves a kernel it was given running
            km.shutdown_kernel()
        _remove_ipc_files(km)
    rows = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or not gid:
            continue
        err = _error(cell)
        if is_solution(cell) and not is_grade(cell):
            if err:
                status = "unanswered" if err[0] == "NotImplementedError" else "error"
                rows.append((gid, status, student_sentence(*err, where="answer")[1]))
            continue
        if is_grade(cell):
            if err is None:
                rows.append((gid, "passed", ""))
            else:
                rows.append((gid, "failed", failed_test_sentence(*err)))
    return rows


MARKS = {"passed": "✔", "failed": "✘", "unanswered": "…", "error": "✘"}


def report(rows: list[tuple[str, str, str]]) -> tuple[list[str], int]:
    """The lines ``rnn-course validate`` prints for ``rows`` (one per cell, then a count) and
    its exit status: 0 only when there are tests and every one passed."""
    lines = [f"{MARKS[status]} {gid}: {status}" + (f" — {message}" if message else "")
             for gid, status, message in rows]
    tests = [r for r in rows if r[0].startswith("t") or r[1] in ("passed", "failed")]
    failed = [r for r in rows if r[1] != "passed"]
    passed_n = sum(r[1] == "passed" for r in rows)
    lines.append(f"{passed_n} passed, {len(failed)} failed" if tests else "no test cells found")
    return lines, (1 if failed or not tests else 0)


def validate_command(notebook: str, timeout: float = LIMITS.cell_seconds) -> int:
    path = Path(notebook)
    try:
        rows = validate_notebook(path, timeout=timeout)
    except ValueError as e:
        print(f"rnn-course validate: {e}", file=sys.stderr)
        return 2
    lines, status = report(rows)
    print("\n".join(lines))
    return status
