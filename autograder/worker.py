"""Autograde one submission in its own process: ``python -m autograder.worker JSON``.

The parent gives the course folder, gradebook URL, lesson, student and cell timeout; this
process runs nbgrader's autograde and prints one JSON line with the outcome. Running each
notebook in its own process lets the parent enforce a wall-time limit per notebook and
survive anything the notebook's kernel does.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path


def autograde(course: str, db_url: str, lesson: str, student: str, cell_timeout: int) -> dict:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        Execute,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from .preprocessors import StderrNotFatal
    from .release import nbgrader_api

    api = nbgrader_api(
        Path(course),
        db_url,
        **{
            "Execute.timeout": cell_timeout,
            "ExecutePreprocessor.timeout": cell_timeout,
            "Autograde.autograde_preprocessors": [
                Execute, StderrNotFatal, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
            ],
        },
    )
    api.log.setLevel(logging.ERROR)
    result = api.autograde(lesson, student, force=True, create=True)
    error = (result.get("error") or "").strip()
    return {"success": bool(result["success"]), "error": error.splitlines()[-1] if error else ""}


def main() -> int:
    args = json.loads(sys.argv[1])
    try:
        outcome = autograde(**args)
    except Exception as e:  # reported to the parent, which records it per notebook
        outcome = {"success": False, "error": f"{type(e).__name__}: {e}"}
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
