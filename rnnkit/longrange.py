"""A long-range memory task, and a vanilla RNN against an LSTM on it.

The *recall task*: a sequence starts with one of ``n_signals`` signal tokens, then
``distance`` distractor tokens drawn uniformly from ``n_noise`` others follow; after the last
one the model must say which signal came first. Nothing in between tells it, so the only
way to succeed is to carry the first token across ``distance`` steps, and the only training
signal for doing so is a gradient that travels back ``distance`` steps. Chance accuracy is
``1 / n_signals``.

A vanilla (tanh) RNN learns the task at short distances and falls to chance at long ones
within the same training budget; an LSTM whose forget-gate bias starts high keeps it.
:func:`compare_cells` trains both at each distance and :func:`accuracy_by_distance_figure`
draws their test accuracy against the distance.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from .batching import EpochBatches
from .layout import lay_out
from .train import fit

__all__ = [
    "RecallNet",
    "RecallTask",
    "accuracy_by_distance_figure",
    "compare_cells",
    "train_recall",
]


@dataclass(frozen=True)
class RecallTask:
    """Signal tokens are ids 0 .. n_signals - 1; distractors are the ids after them."""

    n_signals: int = 4
    n_noise: int = 8

    @property
    def vocab_size(self) -> int:
        return self.n_signals + self.n_noise

    @property
    def chance(self) -> float:
        return 1.0 / self.n_signals

    def batch(
        self, distance: int, n: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n sequences of ``distance + 1`` token ids and their labels.

        Returns x (n, distance + 1) int64 with x[:, 0] the signal, and y (n,) int64 = x[:, 0].
        """
        if distance < 1:
            raise ValueError(f"distance must be at least 1, not {distance}.")
        x = rng.integers(self.n_signals, self.vocab_size, size=(n, distance + 1))
        y = rng.integers(0, self.n_signals, size=n)
        x[:, 0] = y
        return torch.from_numpy(x), torch.from_numpy(y)


class RecallNet(nn.Module):
    """Embedding -> one recurrent layer ("rnn": tanh RNN, or "lstm") -> linear read-out of the
    last hidden state. forward(x (N, L) ids) -> logits (N, n_signals)."""

    def __init__(self, task: RecallTask, cell: str, hidden: int = 24, embed: int = 8,
                 forget_bias: float = 3.0):
        super().__init__()
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', not {cell!r}.")
        self.cell = cell
        self.emb = nn.Embedding(task.vocab_size, embed)
        rnn_class = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = rnn_class(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, task.n_signals)
        if cell == "lstm":  # gates are ordered input, forget, cell, output
            with torch.no_grad():
                self.rnn.bias_hh_l0[hidden:2 * hidden] = forget_bias
                self.rnn.bias_ih_l0[hidden:2 * hidden] = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.emb(x))  # (N, L, H)
        return self.out(hs[:, -1])


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Tiny models run faster on one thread than on two that compete."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_recall(
    cell: str,
    distance: int,
    task: RecallTask | None = None,
    steps: int = 200,
    batch_size: int = 64,
    lr: float = 1e-2,
    hidden: int = 24,
    clip: float = 1.0,
    seed: int = 0,
    n_test: int = 512,
    forget_bias: float = 3.0,
) -> float:
    """Train a RecallNet with Adam and global-norm clipping (``rnnkit.train.fit``, one epoch
    of ``steps`` batches); return its test accuracy (0-1).

    The test set is ``n_test`` fresh sequences, the same for every cell and seed at a distance.
    ``forget_bias`` is the LSTM's initial forget-gate bias (ignored for the vanilla RNN).
    """
    task = task or RecallTask()
    with _torch_threads(1):
        torch.manual_seed(seed)
        draw = partial(_recall_batches, task, distance, batch_size, steps)
        model = RecallNet(task, cell, hidden=hidden, forget_bias=forget_bias)
        fit(model, EpochBatches(draw, seed), _recall_loss,
            torch.optim.Adam(model.parameters(), lr=lr), clip=clip, progress=False)
        x, y = task.batch(distance, n_test, np.random.default_rng(10_000 + distance))
        with torch.no_grad():
            return float((model(x).argmax(dim=1) == y).double().mean())


def _recall_batches(task: RecallTask, distance: int, batch_size: int, steps: int,
                    rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` training batches of ``batch_size`` sequences, drawn from one ``rng``."""
    return [task.batch(distance, batch_size, rng) for _ in range(steps)]


def _recall_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def compare_cells(
    distances: Sequence[int] = (5, 15, 30, 45),
    cells: Sequence[str] = ("rnn", "lstm"),
    **train_kwargs,
) -> dict[str, list[float]]:
    """Test accuracy of each cell at each distance: {cell: [accuracy per distance]}."""
    return {
        cell: [train_recall(cell, int(d), **train_kwargs) for d in distances] for cell in cells
    }


_NAMES = {"rnn": "vanilla RNN (tanh)", "lstm": "LSTM"}


def accuracy_by_distance_figure(
    distances: Sequence[int],
    results: dict[str, list[float]],
    chance: float = RecallTask().chance,
    title: str = "Recall task: accuracy against distance",
) -> go.Figure:
    """Accuracy (%) against distance (steps), one line per cell, with the chance level."""
    fig = go.Figure()
    for cell, accs in results.items():
        fig.add_trace(go.Scatter(
            x=list(distances), y=[100 * a for a in accs], mode="lines+markers",
            name=_NAMES.get(cell, cell),
        ))
    fig.add_trace(go.Scatter(
        x=[min(distances), max(distances)], y=[100 * chance] * 2, mode="lines",
        name="chance", line={"dash": "dash", "color": "gray"},
    ))
    return lay_out(fig, title, "distance from the signal to the answer (time steps)",
                   "test accuracy (%)", yaxis={"range": [0, 105]})
