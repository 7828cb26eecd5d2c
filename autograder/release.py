"""``rnn-course release``: regenerate ``lessons/`` from ``solutions/`` with nbgrader."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from .course import (
    ROOT,
    CourseError,
    lesson_ids,
    load_config,
    nbgrader_failure,
    read_notebook_json,
    source_notebook,
    tools_on_path,
)


def nbgrader_api(root: Path, db_url: str, **overrides) -> NbGraderAPI:
    tools_on_path()
    config = load_config(**overrides)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def release(lessons: list[str] | None = None, root: Path = ROOT, log=print) -> list[str]:
    """Generate the student version of each lesson (all by default) into ``lessons/``.

    The gradebook nbgrader needs while generating is a throw-away one, so releasing writes
    nothing but ``lessons/<id>/``. Running it twice gives identical files.
    """
    available = lesson_ids(root)
    lessons = list(lessons) if lessons else available
    for lesson in lessons:
        if lesson not in available:
            raise CourseError(
                f"{source_notebook(lesson, root)}: no such lesson source "
                f"(lessons: {', '.join(available) or 'none'})."
            )
        read_notebook_json(source_notebook(lesson, root))  # clear error before nbgrader runs
    with tempfile.TemporaryDirectory(prefix="rnn-release-") as tmp:
        api = nbgrader_api(root, f"sqlite:///{tmp}/release.db")
        for lesson in lessons:
            result = api.generate_assignment(lesson, force=True, create=True)
            if not result["success"]:
                raise CourseError(
                    f"{source_notebook(lesson, root)}: nbgrader could not release it "
                    f"({nbgrader_failure(result)})."
                )
            log(f"released {lesson} -> lessons/{lesson}/")
    return lessons
