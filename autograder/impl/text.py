"""Lesson 01: text, vocabularies and padding.

This lesson's exercises are still answered by ``rnnkit.text``, which students receive; the
one implementation is that module, re-exported here under the name later lessons and the
references use (``from autograder.impl import text``), so that moving it here later changes
no caller.
"""

from rnnkit.text import *  # noqa: F403

LESSON = "01-sequences"
