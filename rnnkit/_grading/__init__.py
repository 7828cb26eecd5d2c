"""The grader's code that runs inside a student's kernel: the only grader code students receive.

When a notebook is graded, its tests run in the grader's own process; the student's kernel
only answers requests (look up a name, call a function, read an attribute) through
:mod:`rnnkit._grading.remote`, whose codec sends data and never code, and hides rnnkit's own
version of an exercise while a hidden test calls the student's through
:mod:`rnnkit._grading.guard`. Nothing here holds an answer, a check or a score; it ships with
rnnkit only because the kernel must import it. It is private: notebooks never import it.
"""
