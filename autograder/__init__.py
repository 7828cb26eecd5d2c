"""The instructor's side of the course: release, render, bundle, grade, export, hub.

Importing jsonschema (through nbformat, which every grading step reads notebooks with) builds
a grammar for the optional ``rfc3987_syntax`` format checker: seconds of a command that may
only print one error line, and about 0.9 s of every grading worker. Notebooks never use that
format, so the checker is left out for every process that imports this package.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
