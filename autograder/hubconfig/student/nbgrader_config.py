"""nbgrader configuration of a student's lab on the course's hub (`rnn-course hub`).

The Assignments tab lists course ``rnn-course`` in the exchange the hub names in
``RNN_COURSE_EXCHANGE``; lessons are fetched into the student's home, which is their course
folder. Nothing here points at the instructor's files.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = os.path.expanduser("~")
c.Exchange.root = os.environ.get("RNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.path_includes_course = False
