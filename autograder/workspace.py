"""Where a lesson's notebooks are in a course folder: one object for every path.

A course folder has nbgrader's layout (``CourseDirectory.directory_structure``,
``{nbgrader_step}/{student_id}/{assignment_id}``): the lessons' sources in ``solutions/``,
the student release in ``lessons/``, and, while grading, the students' notebooks in
``submitted/``, the graded ones in ``autograded/`` and the feedback pages in ``feedback/``
(``rnn-course grade`` puts the grading course in ``<out>/nbgrader`` and its feedback in
``<out>/feedback``). Every path is nbgrader's own ``CourseDirectory.format_path``, so the
files are where nbgrader's apps and Formgrader look for them. nbgrader is imported on the
first path asked for, not with this module.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

STEPS = {"source": "solutions", "release": "lessons", "submitted": "submitted",
         "autograded": "autograded", "feedback": "feedback"}


class Workspace:
    """The course folder ``root``; ``feedback``: where the feedback pages go (by default
    ``root/feedback``)."""

    def __init__(self, root: Path | str, feedback: Path | str | None = None):
        self.root = Path(root)
        self.feedback_root = Path(feedback) if feedback is not None else None

    @cached_property
    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        folders = {f"{step}_directory": name for step, name in STEPS.items()}
        if self.feedback_root is not None:
            folders["feedback_directory"] = str(self.feedback_root)
        return CourseDirectory(root=str(self.root), **folders)

    @property
    def feedback_folder(self) -> Path:
        """The folder of every student's feedback pages."""
        return self.feedback_root if self.feedback_root is not None else \
            self.root / STEPS["feedback"]

    def folder(self, step: str, lesson: str, student: str = ".") -> Path:
        """The folder of ``lesson`` at ``step`` (one of :data:`STEPS`); ``student`` for the
        steps that have one folder per student (submitted, autograded, feedback)."""
        cd = self.coursedir
        return Path(cd.format_path(getattr(cd, f"{step}_directory"), student, lesson))

    def notebook(self, step: str, lesson: str, student: str = ".") -> Path:
        """The lesson's notebook at ``step``: ``<folder>/<lesson>.ipynb``."""
        return self.folder(step, lesson, student) / f"{lesson}.ipynb"

    def feedback_page(self, lesson: str, student: str) -> Path:
        """The student's feedback page, ``<folder>/<lesson>.html`` (nbgrader's name)."""
        return self.folder("feedback", lesson, student) / f"{lesson}.html"
