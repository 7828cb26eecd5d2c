"""nbgrader configuration of the RNN course.

Source notebooks (solutions and hidden tests) are in ``solutions/``; the student release is
``lessons/``. A class's files: nbgrader collects submissions into ``submitted/``;
``rnn-course grade submitted/ --out grading/`` writes the gradebook ``grading/gradebook.db``,
the autograded notebooks (``grading/nbgrader/autograded/``) and the feedback
(``grading/feedback/``), which is where Formgrader and nbgrader's ``release_feedback`` look
(``RNN_COURSE_GRADING`` names another grading folder, ``RNN_COURSE_SUBMITTED`` another
submitted folder). The gradebook is SQLite unless ``RNN_COURSE_DB_URL`` holds an SQLAlchemy
URL (``postgresql://user@host/db``). The exchange is nbgrader's default unless
``RNN_COURSE_EXCHANGE`` names one (``rnn-course hub`` sets it). ``rnn-course`` loads this
file; ``make instructor`` and the hub put this folder on JUPYTER_CONFIG_PATH so that
nbgrader's lab extension and Formgrader use it too.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

ROOT = Path(__file__).resolve().parent.parent

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = os.environ.get("RNN_COURSE_ROOT") or str(ROOT)  # hub: the course folder
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
GRADING = Path(os.environ.get("RNN_COURSE_GRADING") or ROOT / "grading").resolve()
c.CourseDirectory.submitted_directory = str(
    Path(os.environ.get("RNN_COURSE_SUBMITTED") or ROOT / "submitted").resolve())
c.CourseDirectory.autograded_directory = str(GRADING / "nbgrader" / "autograded")
c.CourseDirectory.feedback_directory = str(GRADING / "feedback")
c.CourseDirectory.db_url = os.environ.get("RNN_COURSE_DB_URL") or \
    f"sqlite:///{GRADING / 'gradebook.db'}"
if os.environ.get("RNN_COURSE_EXCHANGE"):
    c.Exchange.root = os.environ["RNN_COURSE_EXCHANGE"]
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
