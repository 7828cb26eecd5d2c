"""Mini-batches: language-model windows, and the batches ``fit`` draws afresh each epoch.

:class:`EpochBatches` is the one way the course's tools hand ``rnnkit.train.fit`` batches
that change from epoch to epoch: ``draw(rng)`` returns one epoch's batches, and epoch ``e``
gets ``rng = np.random.default_rng(seed + e)``, so every run is reproducible.
:func:`shuffled_batches` (every example once per epoch, in a fresh order) and
:func:`random_windows` (random language-model windows) are the two kinds of draw.

The two iterators cut a long id sequence into ``batch_size`` rows of ``num_steps`` inputs; the
target of each input is the next token. The *sequential* iterator keeps rows contiguous
across batches (row i of batch k+1 continues row i of batch k), so the hidden state can be
carried over; the *random* iterator samples windows in a random order, so the state must be
reset for each batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch

__all__ = [
    "EpochBatches",
    "num_batches",
    "random_windows",
    "seq_data_iter_random",
    "seq_data_iter_sequential",
    "shuffled_batches",
]

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""One batch, ``(X, Y, lengths)`` tensors: inputs, targets and the real length of each row."""


@dataclass(frozen=True)
class EpochBatches:
    """``fit``'s ``batches`` argument: called with the epoch number, returns that epoch's
    list of batches, ``draw(np.random.default_rng(seed + epoch))``."""

    draw: Callable[[np.random.Generator], list[Any]]
    seed: int = 0

    def __call__(self, epoch: int) -> list[Any]:
        return self.draw(np.random.default_rng(self.seed + epoch))


def _shuffle(X: torch.Tensor, Y: torch.Tensor, L: torch.Tensor, batch_size: int,
             rng: np.random.Generator) -> list[Batch]:
    order = rng.permutation(len(X))
    return [(X[idx], Y[idx], L[idx])
            for idx in (torch.as_tensor(order[i:i + batch_size])
                        for i in range(0, len(order), batch_size))]


def shuffled_batches(data: Any, batch_size: int, seed: int = 0) -> EpochBatches:
    """``(X, Y, lengths)`` tensor batches of ``data`` (anything with ``tensors()``, e.g. a
    :class:`rnnkit.seqdata.SeqData`): every example once per epoch, shuffled per epoch; the
    last batch may be smaller."""
    return EpochBatches(partial(_shuffle, *data.tensors(), batch_size), seed)


def _windows(ids: np.ndarray, T: int, batch_size: int, n_batches: int,
             rng: np.random.Generator) -> list[Batch]:
    out = []
    for _ in range(n_batches):
        s = rng.integers(0, len(ids) - T - 1, size=batch_size)
        X = np.stack([ids[i:i + T] for i in s])
        Y = np.stack([ids[i + 1:i + T + 1] for i in s])
        out.append((torch.as_tensor(X), torch.as_tensor(Y), torch.full((batch_size,), T)))
    return out


def random_windows(ids: Sequence[int], T: int, batch_size: int, n_batches: int,
                   seed: int = 0) -> EpochBatches:
    """``n_batches`` language-model batches ``(X, Y, lengths)`` per epoch: random windows
    ``X = ids[s:s+T]`` (``batch_size``, T) with targets ``Y = ids[s+1:s+T+1]`` (the next
    token at every position) and ``lengths`` all T."""
    return EpochBatches(partial(_windows, np.asarray(ids, dtype=np.int64), T, batch_size,
                                n_batches), seed)


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
