"""Classic mistakes planted into the solutions: each must be named by its test's message.

Every lesson's reference module lists, next to the cases its tests use, the classic mistakes
of each exercise as :class:`Planted` entries in ``PLANTED``. ``tests/test_mistakes.py``
replaces the answer cell of the solution with each entry's code, runs the test cell, and
checks that the failure names the mistake.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    """One classic mistake of one exercise.

    ``answer``: grade id of the answer cell (``q03_step``); ``code``: that whole cell as a
    student who makes the mistake writes it; ``test``: grade id of the test cell that must
    catch it (``t03_step``); ``says``: words its failure message must contain
    (case-insensitive); ``hidden``: True when only the hidden part of the test can see the
    mistake (the visible part checks only the form), so it is named when graded, not in
    validate.
    """

    answer: str
    code: str
    test: str
    says: str
    name: str = ""
    hidden: bool = False
