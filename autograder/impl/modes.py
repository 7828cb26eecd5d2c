"""Lesson 06's exercises: the pieces that make the heads of the five modes differ.

* :func:`greedy_decode` — the loop every generator (one-to-many) and decoder (many-to-many
  unaligned) runs: take the most likely token, feed it back with the new state, stop at
  ``<eos>``;
* :func:`last_hidden` — the state after each row's last real token of a padded batch
  (many-to-one);
* :func:`masked_cross_entropy` — the mean cross-entropy over real tokens only (many-to-many
  aligned);
* :func:`head_shapes` — the shapes of the states each head reads and of its logits;
* :data:`APPLICATIONS` — the lecture's application table mapped to modes.

Each function takes ``mistake``: ``None`` gives the right answer, a name from ``*_MISTAKES``
what a student who makes that classic mistake computes (the reference builds its visible
cases and sentences on these).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.modes import MODES  # the five names (a tool, not an answer)

LESSON = "06-io-modes"


GREEDY_MISTAKES = ("keep_eos", "feed_bos", "reset_state", "one_too_many")
LAST_HIDDEN_MISTAKES = ("last_column", "no_minus_one", "mean_over_time")
MASKED_LOSS_MISTAKES = ("no_mask", "divide_by_all", "mean_of_means", "softmax_over_time")
HEAD_SHAPES_MISTAKES = ("many_to_one_every_state", "aligned_output_length",
                        "unaligned_input_length", "one_to_many_single_output")


def greedy_decode(step: Callable, h0: np.ndarray, bos: int, eos: int, max_len: int,
                  mistake: str | None = None) -> list[int]:
    """Greedy decoding from ``h0`` and the input token ``bos``: at most ``max_len`` tokens,
    stop (without adding it) at ``eos``. ``step(token, h) -> (logits (V,), h_next)``."""
    h, token, out = h0, bos, []
    for _ in range(max_len + (mistake == "one_too_many")):
        logits, h_next = step(bos if mistake == "feed_bos" else token,
                              h0 if mistake == "reset_state" else h)
        h = h_next
        token = int(np.argmax(logits))
        if token == eos:
            if mistake == "keep_eos":
                out.append(token)
            break
        out.append(token)
    return out


def last_hidden(H: np.ndarray, lengths, mistake: str | None = None) -> np.ndarray | None:
    """(N, T, H) states of a padded batch, (N,) real lengths -> (N, H) states after each row's
    last real token. The ``no_minus_one`` mistake gives ``None`` where it would index past
    the end (a student would get an IndexError there)."""
    H = np.asarray(H)
    lengths = np.asarray(lengths)
    if mistake == "last_column":
        return H[:, -1]
    if mistake == "mean_over_time":
        return H.mean(axis=1)
    if mistake == "no_minus_one":
        if (lengths >= H.shape[1]).any():
            return None
        return H[np.arange(len(H)), lengths]
    return H[np.arange(len(H)), lengths - 1]


def masked_cross_entropy(logits: np.ndarray, tags: np.ndarray, mask: np.ndarray,
                         mistake: str | None = None) -> float:
    """Mean over real tokens (``mask`` True) of ``-log softmax(logits)[tag]``."""
    logits, mask = np.asarray(logits, dtype=np.float64), np.asarray(mask, dtype=bool)
    axis = 1 if mistake == "softmax_over_time" else -1
    z = logits - logits.max(axis=axis, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    nll = -np.take_along_axis(log_p, np.asarray(tags)[..., None], axis=-1)[..., 0]
    if mistake == "no_mask":
        return float(nll.mean())
    if mistake == "divide_by_all":
        return float((nll * mask).sum() / mask.size)
    if mistake == "mean_of_means":
        return float(np.mean((nll * mask).sum(axis=1) / mask.sum(axis=1)))
    return float((nll * mask).sum() / mask.sum())


def head_shapes(N: int, T_in: int, T_out: int, H: int, C: int,
                mistake: str | None = None) -> dict[str, tuple]:
    """Per mode: (shape of the hidden states the output layer reads, shape of its logits)."""
    out = {
        "one-to-one": ((N, H), (N, C)),
        "one-to-many": ((N, T_out, H), (N, T_out, C)),
        "many-to-one": ((N, H), (N, C)),
        "many-to-many aligned": ((N, T_in, H), (N, T_in, C)),
        "many-to-many unaligned": ((N, T_out, H), (N, T_out, C)),
    }
    if mistake == "many_to_one_every_state":
        out["many-to-one"] = ((N, T_in, H), (N, T_in, C))
    elif mistake == "aligned_output_length":
        out["many-to-many aligned"] = ((N, T_out, H), (N, T_out, C))
    elif mistake == "unaligned_input_length":
        out["many-to-many unaligned"] = ((N, T_in, H), (N, T_in, C))
    elif mistake == "one_to_many_single_output":
        out["one-to-many"] = ((N, H), (N, C))
    return out


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


def applications() -> dict[str, str]:
    """One accepted mode per application (the first in MODES order)."""
    return {app: min(ok, key=MODES.index) for app, ok in APPLICATIONS.items()}
