"""Mini-batches of (input, target) windows for language modelling.

Both iterators cut a long id sequence into ``batch_size`` rows of ``num_steps`` inputs; the
target of each input is the next token. The *sequential* iterator keeps rows contiguous
across batches (row i of batch k+1 continues row i of batch k), so the hidden state can be
carried over; the *random* iterator samples windows in a random order, so the state must be
reset for each batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["seq_data_iter_sequential", "seq_data_iter_random", "num_batches"]


def _check(n: int, batch_size: int, num_steps: int) -> None:
    if batch_size < 1 or num_steps < 1:
        raise ValueError("batch_size and num_steps must be at least 1.")
    if n < batch_size * num_steps + 1:
        raise ValueError(
            f"the corpus has {n} tokens, too few for one batch of {batch_size} x {num_steps} "
            "(plus one target)."
        )


def num_batches(n_tokens: int, batch_size: int, num_steps: int) -> int:
    """How many batches the sequential iterator yields for ``n_tokens`` with offset 0."""
    return ((n_tokens - 1) // batch_size) // num_steps


def seq_data_iter_sequential(
    corpus: Sequence[int],
    batch_size: int,
    num_steps: int,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X, Y)`` of shape ``(batch_size, num_steps)``; rows continue across batches.

    With ``rng`` the start is shifted by a random offset below ``num_steps``.
    """
    corpus = np.asarray(corpus, dtype=np.int64)
    _check(len(corpus), batch_size, num_steps)
    offset = int(rng.integers(0, num_steps)) if rng is not None else 0
    if len(corpus) - offset < batch_size * num_steps + 1:
        offset = 0
    n = ((len(corpus) - offset - 1) // batch_size) * batch_size
    xs = corpus[offset : offset + n].reshape(batch_size, -1)
    ys = corpus[offset + 1 : offset + 1 + n].reshape(batch_size, -1)
    for i in range(0, (xs.shape[1] // num_steps) * num_steps, num_steps):
        yield xs[:, i : i + num_steps], ys[:, i : i + num_steps]


def seq_data_iter_random(
    corpus: Sequence[int],
    batch_size: int,
    num_steps: int,
    rng: np.random.Generator,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X, Y)`` windows in random order; each window is used at most once per pass."""
    corpus = np.asarray(corpus, dtype=np.int64)
    _check(len(corpus), batch_size, num_steps)
    offset = int(rng.integers(0, num_steps))
    if len(corpus) - offset < batch_size * num_steps + 1:
        offset = 0
    starts = np.arange(offset, len(corpus) - num_steps, num_steps)
    starts = starts[rng.permutation(len(starts))]
    for i in range(0, (len(starts) // batch_size) * batch_size, batch_size):
        s = starts[i : i + batch_size]
        X = np.stack([corpus[j : j + num_steps] for j in s])
        Y = np.stack([corpus[j + 1 : j + 1 + num_steps] for j in s])
        yield X, Y
