"""Lesson 06 (input and output modes): random cases, classic mistakes and visible cases.

The answers are :mod:`autograder.impl.modes`; every expected value and every mistake here is
computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.impl import modes as impl
from autograder.mistakes import Planted, plant
from autograder.render import cases, distinct_mistakes

# Vocab and tokenize_words (lesson 01) build and read the data sets of rnnkit.seqdata.
HANDOUTS: list[str] = ["text"]

MODES = impl.MODES
APPLICATIONS = impl.APPLICATIONS

# ---------------------------------------------------------------------------- sentences

GREEDY_SENTENCES = {
    "keep_eos": "stop at <eos> without adding it to the output.",
    "feed_bos": "feed the token just produced back as the next input, not <bos> every time.",
    "reset_state": "carry the new hidden state to the next step; you restart from h0 each time.",
    "one_too_many": "produce at most max_len tokens; yours runs one step too many.",
}
LAST_HIDDEN_SENTENCES = {
    "last_column": ("H[:, -1] is the last column of the padded batch; rows shorter than T have "
                    "read padding there. Use each row's own length."),
    "no_minus_one": ("the last real token of a row of length L is at index L - 1 (indices start "
                     "at 0)."),
    "mean_over_time": "many-to-one reads one state, the last real one, not an average over time.",
}
MASKED_LOSS_SENTENCES = {
    "no_mask": ("the padding positions were counted: use the mask in the sum and divide by the "
                "number of real tokens."),
    "divide_by_all": "divide by the number of real tokens (mask.sum()), not by N * T.",
    "mean_of_means": ("this is the mean of per-sentence means; every real token should weigh the "
                      "same."),
    "softmax_over_time": ("the softmax is taken over the time axis: for each position the "
                          "probabilities of the C classes (the last axis) must sum to 1."),
}
HEAD_SHAPES_SENTENCES = {
    "many_to_one_every_state": ("many-to-one reads only the last real state, one (N, H) row per "
                                "sequence, and gives one label per sequence."),
    "aligned_output_length": ("aligned outputs have the input's length T_in: one output per "
                              "input step."),
    "unaligned_input_length": ("the decoder writes T_out tokens, not T_in: the output length is "
                               "its own."),
    "one_to_many_single_output": ("one-to-many produces a sequence: one output per generated "
                                  "step."),
}
HEAD_SHAPES_MODE = {"many_to_one_every_state": "many-to-one",
                    "aligned_output_length": "many-to-many aligned",
                    "unaligned_input_length": "many-to-many unaligned",
                    "one_to_many_single_output": "one-to-many"}

APPLICATION_HINTS: dict[tuple[str, str], str] = {
    ("speech recognition", "many-to-many aligned"):
        "speech has many more audio frames than the transcript has letters or words, and they "
        "do not line up one to one: it is many-to-many unaligned (CTC, which pads the "
        "transcript with blanks to the frames' length, is how an aligned model is trained for "
        "it).",
    ("speech recognition", "many-to-one"):
        "the output is a whole transcript (a sequence), not one label.",
    ("music generation", "many-to-many unaligned"):
        "the input is empty (∅) or a single seed, not a sequence: one-to-many.",
    ("music generation", "one-to-one"):
        "the output is a sequence of notes, so it is one-to-many.",
    ("DNA sequence analysis", "many-to-many unaligned"):
        "the output marks each base of the input (same length, same positions): aligned.",
    ("DNA sequence analysis", "many-to-one"):
        "the table's output is the input sequence with a label on every position, not one "
        "label for the whole strand: many-to-many aligned.",
    ("machine translation", "many-to-many aligned"):
        "a translation has its own length and word order, so output word t is not the "
        "translation of input word t: unaligned (encoder-decoder).",
    ("sentiment classification", "many-to-many aligned"):
        "a review gets one sentiment for the whole text, not one per word: many-to-one.",
    ("name entity recognition", "many-to-many unaligned"):
        "every input word gets exactly one tag at its own position: aligned.",
    ("name entity recognition", "many-to-one"):
        "every word gets a tag (person or not), so the output is a sequence: aligned.",
    ("video activity recognition", "one-to-many"):
        "the input is a sequence of frames, not one vector.",
}


def application_score(answer: dict, points: float) -> tuple[float, list[str]]:
    """Points for the application table (a share per application) and one sentence per
    wrong entry."""
    if not isinstance(answer, dict):
        return 0.0, ["applications should be a dict from application to mode."]
    right, notes = 0, []
    for app, ok in APPLICATIONS.items():
        got = answer.get(app)
        if got in ok:
            right += 1
        else:
            hint = APPLICATION_HINTS.get((app, got), "that is not its mode.")
            notes.append(f"{app}: {got!r} — {hint}")
    return round(points * right / len(APPLICATIONS), 6), notes


# ---------------------------------------------------------------------------- mistakes


def greedy_mistakes(step, h0, bos, eos, max_len) -> list[tuple]:
    return [(impl.greedy_decode(step, h0, bos, eos, max_len, mistake=m), s)
            for m, s in GREEDY_SENTENCES.items()]


def last_hidden_mistakes(H, lengths) -> list[tuple]:
    pairs = [(impl.last_hidden(H, lengths, mistake=m), s) for m, s in LAST_HIDDEN_SENTENCES.items()]
    return [(v, s) for v, s in pairs if v is not None]  # None: that mistake raises IndexError


def masked_loss_mistakes(logits, tags, mask) -> list[tuple]:
    return [(impl.masked_cross_entropy(logits, tags, mask, mistake=m), s)
            for m, s in MASKED_LOSS_SENTENCES.items()]


def head_shapes_mistakes(*args) -> dict[str, list[tuple]]:
    """{mode: [(wrong (states, logits) shapes, sentence)]}."""
    out: dict[str, list[tuple]] = {m: [] for m in MODES}
    for m, s in HEAD_SHAPES_SENTENCES.items():
        mode = HEAD_SHAPES_MODE[m]
        out[mode].append((impl.head_shapes(*args, mistake=m)[mode], s))
    return out


# ---------------------------------------------------------------------------- random cases


def random_decoder(rng: np.random.Generator):
    """A random decoder step (``rnnkit.seqmodels.NumpyStep``), h0, bos, eos and max_len."""
    from rnnkit.seqmodels import NumpyStep

    V, Hd = int(rng.integers(4, 9)), int(rng.integers(3, 7))
    step = NumpyStep(rng.normal(scale=1.5, size=(V, Hd)), rng.normal(scale=1.5, size=(Hd, Hd)),
                     rng.normal(scale=2.0, size=(Hd, V)))
    return step, rng.normal(size=Hd), 0, V - 1, int(rng.integers(3, 12))


def random_states(rng: np.random.Generator):
    N, T, Hd = (int(v) for v in rng.integers(2, 7, size=3))
    T += 2
    H = rng.normal(size=(N, T, Hd))
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T  # one full-length row
    if N > 1:
        lengths[1] = 1
    return H, lengths


def random_tagging(rng: np.random.Generator):
    N, T, C = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(3, 6))
    logits = rng.normal(scale=2.0, size=(N, T, C))
    tags = rng.integers(0, C, size=(N, T))
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    mask = np.arange(T)[None, :] < lengths[:, None]
    return logits, tags, mask


# ---------------------------------------------------------------------------- visible cases

GREEDY_V, GREEDY_H, GREEDY_SEED = 6, 4, 14


@cases("t06_greedy_decode")
def _t06_greedy_decode():
    from rnnkit.seqmodels import NumpyStep

    step, h0 = NumpyStep.random(V=GREEDY_V, H=GREEDY_H, seed=GREEDY_SEED), np.zeros(GREEDY_H)
    long, short = impl.greedy_decode(step, h0, 0, 5, 10), impl.greedy_decode(step, h0, 0, 5, 3)
    return {"_expected": long, "_mistakes": distinct_mistakes(long, greedy_mistakes(step, h0, 0, 5, 10)),
            "_expected_short": short,
            "_short_mistakes": distinct_mistakes(short, greedy_mistakes(step, h0, 0, 5, 3))}


def _visible_states():
    H = np.array([[[10 * n + t, -(10 * n + t)] for t in range(4)] for n in range(3)], dtype=float)
    return H, [2, 3, 1]


@cases("t06_last_hidden")
def _t06_last_hidden():
    H, lengths = _visible_states()
    want = impl.last_hidden(H, lengths)
    return {"_expected": want, "_mistakes": distinct_mistakes(want, last_hidden_mistakes(H, lengths))}


def _visible_tagging():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.1, 0.1, 0.8]],
                              [[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3]]]))
    tags = np.array([[0, 1, 2], [0, 2, 2]])
    mask = np.array([[True, True, False], [True, False, False]])
    return logits, tags, mask


@cases("t06_masked_loss")
def _t06_masked_loss():
    logits, tags, mask = _visible_tagging()
    want = impl.masked_cross_entropy(logits, tags, mask)
    return {"_expected": want,
            "_mistakes": distinct_mistakes(want, masked_loss_mistakes(logits, tags, mask))}


HEAD_ARGS = (32, 10, 7, 64, 5)


@cases("t06_head_shapes")
def _t06_head_shapes():
    want = impl.head_shapes(*HEAD_ARGS)
    mis = head_shapes_mistakes(*HEAD_ARGS)
    return {"_want": want, "_hints": {m: distinct_mistakes(want[m], mis[m]) for m in MODES if mis[m]}}


# ---------------------------------------------------------------------------- MCQ

MCQ_REASONS = {
    11: {
        "A": "option A is right: one vector in, a sequence out (music from a style, captions).",
        "B": "option B is right: a sequence in, one label out (sentiment of a review).",
        "C": "option C is right: a sequence in, a sequence out, aligned (tagging) or not "
             "(translation).",
        "D": "option D is debatable, so neutral: one-to-one is a valid way to run the network, "
             "but one step from h_0 = 0 is a plain feed-forward layer that processes no "
             "sequence (section 1); the lecture's key leaves it out.",
    },
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "06-io-modes" / "06-io-modes.ipynb"


def _plant(*args, **kw) -> Planted:
    return plant(_NOTEBOOK, *args, **kw)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():
        return []
    g, lh, ml, hs, ap = ("q06_greedy_decode", "q06_last_hidden", "q06_masked_loss",
                         "q06_head_shapes", "q06_applications")
    return [
        _plant(g, "t06_greedy_decode", "without adding it", "keep_eos",
               ("        if token == eos:\n            break\n        out.append(token)",
                "        out.append(token)\n        if token == eos:\n            break")),
        _plant(g, "t06_greedy_decode", "not <bos> every time", "feed_bos",
               ("logits, h = step(token, h)", "logits, h = step(bos, h)")),
        _plant(g, "t06_greedy_decode", "restart from h0", "reset_state",
               ("logits, h = step(token, h)", "logits, h = step(token, h0)")),
        _plant(g, "t06_greedy_decode", "at most max_len", "one_too_many",
               ("range(max_len)", "range(max_len + 1)")),
        _plant(lh, "t06_last_hidden", "last column of the padded batch", "last_column",
               ("return H[np.arange(H.shape[0]), lengths - 1]", "return H[:, -1]")),
        _plant(lh, "t06_last_hidden", "index L - 1", "no_minus_one",
               ("lengths - 1]", "lengths]")),
        _plant(lh, "t06_last_hidden", "not an average over time", "mean_over_time",
               ("return H[np.arange(H.shape[0]), lengths - 1]", "return H.mean(axis=1)")),
        _plant(ml, "t06_masked_loss", "padding positions were counted", "no_mask",
               ("return float((nll * mask).sum() / mask.sum())", "return float(nll.mean())")),
        _plant(ml, "t06_masked_loss", "not by N * T", "divide_by_all",
               ("/ mask.sum())", "/ mask.size)")),
        _plant(ml, "t06_masked_loss", "mean of per-sentence means", "mean_of_means",
               ("return float((nll * mask).sum() / mask.sum())",
                "return float(np.mean((nll * mask).sum(axis=1) / mask.sum(axis=1)))")),
        _plant(ml, "t06_masked_loss", "over the time axis", "softmax_over_time",
               ("z = logits - logits.max(axis=-1, keepdims=True)",
                "z = logits - logits.max(axis=1, keepdims=True)"),
               ("np.exp(z).sum(axis=-1, keepdims=True)", "np.exp(z).sum(axis=1, keepdims=True)")),
        _plant(hs, "t06_head_shapes", "one label per sequence", "many_to_one_every_state",
               ('"many-to-one": ((N, H), (N, C))', '"many-to-one": ((N, T_in, H), (N, T_in, C))')),
        _plant(hs, "t06_head_shapes", "the input's length T_in", "aligned_output_length",
               ('"many-to-many aligned": ((N, T_in, H), (N, T_in, C))',
                '"many-to-many aligned": ((N, T_out, H), (N, T_out, C))')),
        _plant(hs, "t06_head_shapes", "output length is its own", "unaligned_input_length",
               ('"many-to-many unaligned": ((N, T_out, H), (N, T_out, C))',
                '"many-to-many unaligned": ((N, T_in, H), (N, T_in, C))')),
        _plant(hs, "t06_head_shapes", "one output per generated step", "one_to_many_single_output",
               ('"one-to-many": ((N, T_out, H), (N, T_out, C))', '"one-to-many": ((N, H), (N, C))')),
        _plant(ap, "t06_applications", "one sentiment for the whole text", "sentiment_aligned",
               ('"sentiment classification": "many-to-one",\n    "DNA',
                '"sentiment classification": "many-to-many aligned",\n    "DNA')),
        _plant(ap, "t06_applications", "not one of the strings", "mode_misspelt",
               ('"music generation": "one-to-many",\n    "sentiment',
                '"music generation": "one to many",\n    "sentiment')),
    ]


PLANTED: list[Planted] = _planted()
