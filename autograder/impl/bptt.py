"""Lesson 04: backpropagation through time, truncation and clipping.

This lesson's exercises are still answered by ``rnnkit.bptt``, which students receive; the
one implementation is that module, re-exported here under the name later lessons and the
references use, so that moving it here later changes no caller.
"""

from rnnkit.bptt import *  # noqa: F403

LESSON = "04-bptt"
