"""The one implementation of every exercise of the course (the instructor's side).

Each module answers the exercises of one lesson, named by its ``LESSON`` constant, and
imports only numpy, torch, rnnkit's tools and the modules of earlier lessons (as
``from autograder.impl import rnn_numpy``). ``autograder/reference/lNN_*.py`` builds that
lesson's random cases and classic-mistake variants on it. A later lesson that needs an
earlier lesson's code lists the module in its reference's ``HANDOUTS``; ``rnn-course release``
then writes it as a plain file beside that later lesson's notebook (see
:func:`autograder.release.handouts`). Nothing here is ever part of an earlier lesson's release.
"""
