"""``rnn-course validate NOTEBOOK``: run a lesson notebook in a fresh kernel and report.

Every test cell's result is printed on one line; the exit status is 0 only when every
test cell passed. Exercises not answered yet are listed as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _load(path: Path):
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


def _error(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), str(out.get("evalue", "")).strip()
    return None


def validate_notebook(path: Path, timeout: int = 120) -> list[tuple[str, str, str]]:
    """Execute ``path`` (not saved) and return ``(cell id, status, message)`` per graded cell."""
    from nbclient import NotebookClient

    nb = _load(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    client.store_widget_state = False
    client.execute()
    rows = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type != "code" or not gid:
            continue
        err = _error(cell)
        if meta.get("solution") and not meta.get("grade"):
            if err and err[0] == "NotImplementedError":
                rows.append((gid, "unanswered", "this exercise is not answered yet."))
            elif err:
                rows.append((gid, "error", f"{err[0]}: {err[1]}"))
            continue
        if meta.get("grade"):
            if err is None:
                rows.append((gid, "passed", ""))
            elif err[0] == "CheckFailed":
                rows.append((gid, "failed", err[1]))
            elif err[0] == "NotImplementedError":
                rows.append((gid, "failed", "the exercise it tests is not answered yet."))
            else:
                rows.append((gid, "failed", f"{err[0]}: {err[1]}"))
    return rows


def validate_command(notebook: str, timeout: int = 120) -> int:
    path = Path(notebook)
    try:
        rows = validate_notebook(path, timeout=timeout)
    except ValueError as e:
        print(f"rnn-course validate: {e}", file=sys.stderr)
        return 2
    marks = {"passed": "✔", "failed": "✘", "unanswered": "…", "error": "✘"}
    for gid, status, message in rows:
        print(f"{marks[status]} {gid}: {status}" + (f" — {message}" if message else ""))
    tests = [r for r in rows if r[0].startswith("t") or r[1] in ("passed", "failed")]
    failed = [r for r in rows if r[1] != "passed"]
    passed_n = sum(r[1] == "passed" for r in rows)
    print(f"{passed_n} passed, {len(failed)} failed" if tests else "no test cells found")
    return 1 if failed or not tests else 0
