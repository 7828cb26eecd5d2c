"""Lesson 03: the numpy RNN cell and sequence forward pass.

This lesson's exercises are still answered by ``rnnkit.rnn_numpy``, which students receive; the
one implementation is that module, re-exported here under the name later lessons and the
references use, so that moving it here later changes no caller.
"""

from rnnkit.rnn_numpy import *  # noqa: F403

LESSON = "03-rnn-cell"
