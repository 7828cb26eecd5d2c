"""A character language model in torch, the loss that trains it, its perplexity, and a bar
chart comparing the perplexities of several models (:func:`comparison_figure`).

``CharRNN`` reads ids ``(N, T)``, one-hot encodes them (or looks up an embedding), runs a
recurrent layer and maps every hidden state to next-token logits ``(N, T, V)``. It is the
numpy model of lessons 03-04 with torch doing the backward pass::

    model = CharRNN(vocab_size=V, hidden_size=128)
    loss_fn = LMLoss(carry_state=True)          # truncated BPTT over sequential batches
    fit(model, batches, loss_fn, torch.optim.Adam(model.parameters(), 1e-2), clip=1.0)
    text_perplexity(model, valid_ids)           # exp(total NLL / predicted tokens)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from .layout import lay_out
from .train import detach_state

__all__ = ["CharRNN", "LMLoss", "comparison_figure", "text_nll", "text_perplexity"]

_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class CharRNN(nn.Module):
    """Next-token model: ``h_t = cell(x_t, h_{t-1})``, ``logits_t = h_t W_hq + b_q``.

    Args:
        vocab_size: V, the number of token ids.
        hidden_size: H.
        embed_size: None for one-hot inputs (D = V, as in the numpy lessons), else an
            ``nn.Embedding`` of this size.
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        num_layers: stacked recurrent layers.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, embed_size: int | None = None,
                 cell: str = "rnn", num_layers: int = 1):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, not {cell!r}.")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_size) if embed_size else None
        in_size = embed_size or vocab_size
        self.rnn = _CELLS[cell](in_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def inputs(self, X: torch.Tensor) -> torch.Tensor:
        """Ids (N, T) -> input vectors (N, T, D)."""
        if self.embedding is not None:
            return self.embedding(X)
        return F.one_hot(X, self.vocab_size).to(self.head.weight.dtype)

    def forward(self, X: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Ids (N, T) and optional state -> logits (N, T, V) and the final state
        ((layers, N, H), or a pair of them for an LSTM)."""
        H, state = self.rnn(self.inputs(X), state)
        return self.head(H), state

    @torch.no_grad()
    def sample(self, prefix: Sequence[int], n: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> list[int]:
        """Feed ``prefix`` (at least one id), then draw ``n`` ids one at a time, each fed back
        as the next input. ``temperature`` < 1 sharpens, 0 means greedy (arg max)."""
        if len(prefix) == 0:
            raise ValueError("sample needs a prefix of at least one token id.")
        was_training = self.training
        self.eval()
        logits, state = self(torch.as_tensor([list(prefix)], dtype=torch.long))
        last = logits[0, -1]
        out: list[int] = []
        for _ in range(n):
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                probs = torch.softmax(last / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
            out.append(nxt)
            logits, state = self(torch.tensor([[nxt]]), state)
            last = logits[0, -1]
        self.train(was_training)
        return out


def _as_long(a: Any) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.long()
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


class LMLoss:
    """``loss_fn`` for :func:`rnnkit.train.fit` on language-model batches ``(X, Y)`` (N, T).

    Returns ``(mean cross-entropy per token, number of tokens)``. With ``carry_state=True``
    (for sequential batches, whose rows continue each other) the final state of one batch
    starts the next one, *detached*: the values flow on, the gradient stops at the batch
    boundary — truncated BPTT over ``T`` steps. With ``carry_state=False`` (random batches)
    every batch starts from the zero state. ``fit`` calls ``reset()`` at each epoch start.
    """

    def __init__(self, carry_state: bool = True):
        self.carry_state = carry_state
        self.state: Any = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, model: nn.Module, batch: tuple[Any, Any]) -> tuple[torch.Tensor, int]:
        X, Y = (_as_long(b) for b in batch)
        state = self.state if self.carry_state else None
        if state is not None:
            first = state[0] if isinstance(state, tuple) else state
            if first.shape[1] != X.shape[0]:  # a different batch size: start afresh
                state = None
        logits, state = model(X, state)
        self.state = detach_state(state) if self.carry_state else None
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
        return loss, Y.numel()


@torch.no_grad()
def text_nll(model: CharRNN, ids: Sequence[int], chunk: int = 2000) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ``ids[1:]`` given what precedes each token,
    read as one stream (batch 1, state carried across chunks), and the number of predicted
    tokens ``len(ids) - 1``."""
    ids_t = _as_long(np.asarray(ids))
    if ids_t.numel() < 2:
        raise ValueError("text_nll needs at least two tokens.")
    was_training = model.training
    model.eval()
    total, state = 0.0, None
    for i in range(0, ids_t.numel() - 1, chunk):
        X = ids_t[i : i + chunk][None]
        Y = ids_t[i + 1 : i + 1 + chunk][None]
        X = X[:, : Y.shape[1]]
        logits, state = model(X, state)
        total += float(F.cross_entropy(logits[0], Y[0], reduction="sum"))
    model.train(was_training)
    return total, ids_t.numel() - 1


def text_perplexity(model: CharRNN, ids: Sequence[int], chunk: int = 2000) -> float:
    """``exp(total NLL / predicted tokens)`` over the whole text — never a mean of
    per-sequence perplexities. A model that predicts uniformly over V ids scores exactly V."""
    total, n = text_nll(model, ids, chunk)
    return math.exp(total / n)


def comparison_figure(perplexities: dict[str, float], floor: float | None = None,
                      title: str = "Held-out perplexity per character (lower is better)"
                      ) -> go.Figure:
    """Bars of held-out perplexity, one per named model, with the true floor as a line."""
    names = list(perplexities)
    values = [float(perplexities[n]) for n in names]
    fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.3f}" for v in values],
                           textposition="outside", marker_color="#1f77b4"))
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", line_color="gray",
                      annotation_text=f"true entropy floor {floor:.3f}",
                      annotation_position="top left")
    top = max(values + [floor or 0.0])
    return lay_out(fig, title, "model", "perplexity (per character)",
                   yaxis={"range": [0, top * 1.15]})
