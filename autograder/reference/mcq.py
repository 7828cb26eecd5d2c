"""Answer key, scoring and per-option feedback of the lecture's 20 multiple choice questions.

Score = points x max(0, (right options chosen - wrong options chosen) / number of right
options). Options listed as *neutral* are debatable; choosing them neither earns nor costs,
and the lesson explains why:

* Q2 B — "they do not consider the order": a bag-of-words or averaging MLP does not see
  order, but a concatenating MLP does, through position-specific weights (lesson 01 shows
  it); neutral.
* Q3 A — an image is not sequence data in the lecture's sense (a video is); marked wrong.
* Q8 A — "update weights based on errors at each time step": BPTT sums the errors of every
  time step into one gradient and makes one update per sequence or window, not one per
  step; neutral.
* Q11 D — one-to-one is a valid but degenerate mode: a single step of an RNN is a plain
  feed-forward network. The lecture's key leaves it out; neutral.
* Q15 D — careful initialisation makes exploding gradients less likely at the start of
  training but does not bound them later, unlike clipping; neutral.
* Q20 A — LSTMs greatly reduce the vanishing gradient problem rather than remove it; the
  lecture's key counts "solve" as right, and so do we.

Why each option is right, wrong or debatable is said once, in the reference module of the
lesson that asks the question, as ``MCQ_REASONS = {k: {"A": "...", ...}}``; :func:`grade_mcq`
prints the reason of every wrong option chosen, every right option missed and every neutral
option chosen, so the feedback teaches as well as scores.
"""

from __future__ import annotations

import importlib
import pkgutil

KEY: dict[int, set[str]] = {
    1: {"B", "C"},
    2: {"A", "D"},
    3: {"B", "C"},
    4: {"B", "D"},
    5: {"B", "D"},
    6: {"A"},
    7: {"A", "C"},
    8: {"B"},
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

NEUTRAL: dict[int, set[str]] = {2: {"B"}, 8: {"A"}, 11: {"D"}, 15: {"D"}}

OPTIONS: dict[int, str] = {k: "ABCD" for k in KEY}  # the letters each question offers

_REASONS: dict[int, dict[str, str]] | None = None


def reasons() -> dict[int, dict[str, str]]:
    """Question -> option -> its one-line reason, gathered from every lesson reference module's
    ``MCQ_REASONS`` (a question's reasons come from one lesson)."""
    global _REASONS
    if _REASONS is None:
        found: dict[int, dict[str, str]] = {}
        package = importlib.import_module("autograder.reference")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if not info.name.startswith("l"):
                continue
            module = importlib.import_module(f"autograder.reference.{info.name}")
            for k, per_option in getattr(module, "MCQ_REASONS", {}).items():
                found.setdefault(int(k), {}).update(per_option)
        _REASONS = found
    return _REASONS


def mcq_fraction(k: int, answer) -> float:
    """Fraction of the marks (0 to 1) that ``answer`` earns on question ``k``."""
    if not isinstance(answer, set | frozenset):
        return 0.0
    right = KEY[k]
    chosen = {a for a in answer if isinstance(a, str)} - NEUTRAL.get(k, set())
    hits = len(chosen & right)
    wrong = len(chosen - right)
    return max(0.0, (hits - wrong) / len(right))


def explain(k: int, answer) -> list[str]:
    """One line per option that needs saying: each wrong option chosen, each right option
    missed, each debatable option chosen — with its reason."""
    if not isinstance(answer, set | frozenset):
        return []
    chosen = {a for a in answer if isinstance(a, str)}
    right, neutral = KEY[k], NEUTRAL.get(k, set())
    why = reasons().get(k, {})
    lines = []
    for option in sorted(chosen | right | neutral):
        if option in neutral:
            if option not in chosen:
                continue
            verdict = "debatable, neither earns nor costs"
        elif option in chosen and option not in right:
            verdict = "chosen, but wrong"
        elif option in right and option not in chosen:
            verdict = "right, but not chosen"
        else:
            continue
        if option not in OPTIONS.get(k, "ABCD"):
            lines.append(f"  {option!r} is not one of the options {', '.join(OPTIONS[k])}.")
            continue
        reason = why.get(option)
        lines.append(f"  {option} ({verdict})" + (f": {reason}" if reason else "."))
    return lines


def grade_mcq(k: int, answer, points: float) -> float:
    """Print why each wrong or missed option is so, then a one-line result; return the points
    earned (nbgrader's partial credit)."""
    frac = mcq_fraction(k, answer)
    right = KEY[k]
    if isinstance(answer, set | frozenset):
        chosen = {a for a in answer if isinstance(a, str)} - NEUTRAL.get(k, set())
        hits, wrong = len(chosen & right), len(chosen - right)
        for line in explain(k, answer):
            print(line)
        print(
            f"mcq_{k}: {hits} of {len(right)} right options chosen"
            + (f", {wrong} wrong option{'s' if wrong != 1 else ''} chosen" if wrong else "")
            + f" — {frac * points:g} of {points:g} points."
        )
    else:
        print(f"mcq_{k}: not a set of letters — 0 of {points:g} points.")
    return round(frac * points, 6)
