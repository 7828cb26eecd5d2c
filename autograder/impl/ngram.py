"""Lesson 02: n-gram language models.

This lesson's exercises are still answered by ``rnnkit.ngram``, which students receive; the
one implementation is that module, re-exported here under the name later lessons and the
references use, so that moving it here later changes no caller.
"""

from rnnkit.ngram import *  # noqa: F403

LESSON = "02-ngrams"
