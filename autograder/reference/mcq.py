"""Answer key and scoring of the lecture's 20 multiple choice questions.

Score = points x max(0, (right options chosen - wrong options chosen) / number of right
options). Options listed as *neutral* are debatable; choosing them neither earns nor costs,
and the lesson explains why:

* Q3 A — an image is not sequence data in the lecture's sense (a video is); marked wrong.
* Q11 D — one-to-one is a valid but degenerate mode: a single step of an RNN is a plain
  feed-forward network. The lecture's key leaves it out; neutral.
* Q15 D — careful initialisation makes exploding gradients less likely at the start of
  training but does not bound them later, unlike clipping; neutral.
* Q20 A — LSTMs greatly reduce the vanishing gradient problem rather than remove it; the
  lecture's key counts "solve" as right, and so do we.
"""

from __future__ import annotations

KEY: dict[int, set[str]] = {
    1: {"B", "C"},
    2: {"A", "B", "D"},
    3: {"B", "C"},
    4: {"B", "D"},
    5: {"B", "D"},
    6: {"A"},
    7: {"A", "C"},
    8: {"A", "B"},
    9: {"B"},
    10: {"B"},
    11: {"A", "B", "C"},
    12: {"A", "C"},
    13: {"B"},
    14: {"A"},
    15: {"A", "B"},
    16: {"B"},
    17: {"B", "C"},
    18: {"A"},
    19: {"A", "C"},
    20: {"A", "B"},
}

NEUTRAL: dict[int, set[str]] = {11: {"D"}, 15: {"D"}}


def mcq_fraction(k: int, answer) -> float:
    """Fraction of the marks (0 to 1) that ``answer`` earns on question ``k``."""
    if not isinstance(answer, set | frozenset):
        return 0.0
    right = KEY[k]
    chosen = {a for a in answer if isinstance(a, str)} - NEUTRAL.get(k, set())
    hits = len(chosen & right)
    wrong = len(chosen - right)
    return max(0.0, (hits - wrong) / len(right))


def grade_mcq(k: int, answer, points: float) -> float:
    """Print a one-line result and return the points earned (nbgrader's partial credit)."""
    frac = mcq_fraction(k, answer)
    right = KEY[k]
    if isinstance(answer, set | frozenset):
        chosen = {a for a in answer if isinstance(a, str)} - NEUTRAL.get(k, set())
        hits, wrong = len(chosen & right), len(chosen - right)
        print(
            f"mcq_{k}: {hits} of {len(right)} right options chosen"
            + (f", {wrong} wrong option{'s' if wrong != 1 else ''} chosen" if wrong else "")
            + f" — {frac * points:g} of {points:g} points."
        )
    else:
        print(f"mcq_{k}: not a set of letters — 0 of {points:g} points.")
    return round(frac * points, 6)
