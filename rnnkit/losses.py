"""Losses (``fit``'s ``loss_fn``) and accuracies of the sequence models of lessons 06 and 07.

Every model of :mod:`rnnkit.seqmodels` has ``logits(batch)`` for a ``(X, Y, lengths)``
batch, so two losses cover all of them: :func:`classifier_loss` (one label per example) and
:func:`token_loss` (one target per position, padding id 0 ignored: a tagger's tags, a
generator's or decoder's tokens, a language model's next characters).
:class:`rnnkit.seqdata.SeqData` gives the tensors the accuracies score.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["accuracy", "classifier_loss", "tag_accuracy", "token_loss"]


def classifier_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int]:
    """Cross-entropy of one label per example; ``batch = (X, y, lengths)``."""
    y = batch[1]
    return F.cross_entropy(model.logits(batch), y), len(y)


def token_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over the real (non-pad) target positions; ``batch = (X, Y, L)``
    with ``Y`` (N, T) and ``model.logits(batch)`` (N, T, V)."""
    Y = batch[1]
    logits = model.logits(batch)
    return F.cross_entropy(logits.transpose(1, 2), Y, ignore_index=0), int((Y != 0).sum())


@torch.no_grad()
def accuracy(model: nn.Module, data) -> float:
    """Fraction of examples whose label is predicted right (one-to-one, many-to-one)."""
    batch = data.tensors()
    model.eval()
    return float((model.logits(batch).argmax(-1) == batch[1]).float().mean())


@torch.no_grad()
def tag_accuracy(model: nn.Module, data, where: np.ndarray | None = None) -> float:
    """Fraction of real positions (or of the positions marked True in ``where``, (N, T))
    tagged right."""
    batch = data.tensors()
    Y = batch[1]
    model.eval()
    pred = model.logits(batch).argmax(-1)
    mask = (Y != 0) if where is None else torch.as_tensor(where) & (Y != 0)
    return float((pred[mask] == Y[mask]).float().mean())
