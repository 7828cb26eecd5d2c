"""Reference answers and random test cases for lesson 06-io-modes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MODES = (
    "one-to-one",
    "one-to-many",
    "many-to-one",
    "many-to-many aligned",
    "many-to-many unaligned",
)

# The lecture's application table. Video activity recognition: one label for a clip is
# many-to-one; a label for every frame is many-to-many aligned. Both are accepted.
APPLICATIONS: dict[str, set[str]] = {
    "speech recognition": {"many-to-many unaligned"},
    "music generation": {"one-to-many"},
    "sentiment classification": {"many-to-one"},
    "DNA sequence analysis": {"many-to-many aligned"},
    "machine translation": {"many-to-many unaligned"},
    "video activity recognition": {"many-to-one", "many-to-many aligned"},
    "name entity recognition": {"many-to-many aligned"},
}

APPLICATION_HINTS: dict[tuple[str, str], str] = {
    ("speech recognition", "many-to-many aligned"):
        "speech has many more audio frames than the transcript has letters or words, and they "
        "do not line up one to one: it is many-to-many unaligned.",
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
        "a review gets one sentiment, not one per word: many-to-one.",
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


def head_shapes(N: int, T_in: int, T_out: int, H: int, C: int) -> dict[str, tuple]:
    """Per mode: (shape of the hidden states the output layer reads, shape of its logits)."""
    return {
        "one-to-one": ((N, H), (N, C)),
        "one-to-many": ((N, T_out, H), (N, T_out, C)),
        "many-to-one": ((N, H), (N, C)),
        "many-to-many aligned": ((N, T_in, H), (N, T_in, C)),
        "many-to-many unaligned": ((N, T_out, H), (N, T_out, C)),
    }


def last_hidden(H: np.ndarray, lengths) -> np.ndarray:
    lengths = np.asarray(lengths)
    return H[np.arange(len(H)), lengths - 1]


def random_states(rng: np.random.Generator):
    N, T, Hd = (int(v) for v in rng.integers(2, 7, size=3))
    T += 2
    H = rng.normal(size=(N, T, Hd))
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T  # one full-length row
    if N > 1:
        lengths[1] = 1
    return H, lengths


def masked_cross_entropy(logits: np.ndarray, tags: np.ndarray, mask: np.ndarray) -> float:
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(logp, tags[..., None], axis=-1)[..., 0]
    return float((nll * mask).sum() / mask.sum())


def random_tagging(rng: np.random.Generator):
    N, T, C = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(3, 6))
    logits = rng.normal(scale=2.0, size=(N, T, C))
    tags = rng.integers(0, C, size=(N, T))
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    mask = np.arange(T)[None, :] < lengths[:, None]
    return logits, tags, mask


def greedy_decode(step: Callable, h0: np.ndarray, bos: int, eos: int, max_len: int) -> list[int]:
    h, tok, out = h0, bos, []
    for _ in range(max_len):
        logits, h = step(tok, h)
        tok = int(np.argmax(logits))
        if tok == eos:
            break
        out.append(tok)
    return out


def random_decoder(rng: np.random.Generator):
    """A random decoder step (``rnnkit.modes.NumpyStep``), h0, bos, eos and max_len."""
    from rnnkit.modes import NumpyStep

    V, Hd = int(rng.integers(4, 9)), int(rng.integers(3, 7))
    step = NumpyStep(rng.normal(scale=1.5, size=(V, Hd)), rng.normal(scale=1.5, size=(Hd, Hd)),
                     rng.normal(scale=2.0, size=(Hd, V)))
    return step, rng.normal(size=Hd), 0, V - 1, int(rng.integers(3, 12))
