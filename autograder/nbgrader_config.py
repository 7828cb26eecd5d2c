"""nbgrader configuration of the RNN course.

Source notebooks (solutions and hidden tests) are in ``solutions/``; the student release is
``lessons/``. The gradebook is SQLite unless ``RNN_COURSE_DB_URL`` holds an SQLAlchemy URL
(``postgresql://user@host/db``). ``rnn-course`` loads this file; ``make lab`` puts this folder
on JUPYTER_CONFIG_PATH so the nbgrader extension in JupyterLab uses it too.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

ROOT = Path(__file__).resolve().parent.parent

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.db_url = os.environ.get(
    "RNN_COURSE_DB_URL", f"sqlite:///{ROOT / 'autograder' / 'gradebook.db'}"
)
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.db", ".DS_Store",
]

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution during validation and grading: per-cell limit, no widget state stored.
c.ExecutePreprocessor.timeout = int(os.environ.get("RNN_COURSE_CELL_TIMEOUT", "120"))
c.Execute.timeout = int(os.environ.get("RNN_COURSE_CELL_TIMEOUT", "120"))
c.Execute.store_widget_state = False
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
