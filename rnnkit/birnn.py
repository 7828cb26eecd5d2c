"""Tools for lesson 07 (bidirectional RNNs): random BiRNN parameters, language-model batches,
prefix-only perplexity, generation and the lesson's figures.

The lesson's exercises — the numpy BiRNN forward, torch's bidirectional weights mapped onto
it, the influence of each input on one output — are not here: the notebook builds on the
student's own answers (and on lesson 03's ``rnn_forward``, handed out beside it as
``rnn_numpy.py``). Parameters are a dict with keys :data:`BIRNN_PARAM_NAMES` in the
row-vector convention of lesson 03: ``Wxh_* (D, H)``, ``Whh_* (H, H)``, ``bh_* (H,)``.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BIRNN_PARAM_NAMES",
    "accuracy_figure",
    "generate",
    "influence_figure",
    "init_birnn_params",
    "lm_batches",
    "perplexity_figure",
    "prefix_perplexity",
]

BIRNN_PARAM_NAMES: tuple[str, ...] = ("Wxh_f", "Whh_f", "bh_f", "Wxh_b", "Whh_b", "bh_b")


def init_birnn_params(D: int, H: int, rng: np.random.Generator,
                      scale: float = 0.5) -> dict[str, np.ndarray]:
    """Random BiRNN parameters (uniform in ±scale/sqrt(H)), float64."""
    s = scale / math.sqrt(H)
    shapes = {"Wxh": (D, H), "Whh": (H, H), "bh": (H,)}
    return {f"{k}_{d}": rng.uniform(-s, s, size=shapes[k]) for d in "fb" for k in shapes}


def lm_batches(ids: np.ndarray, T: int, batch_size: int, n_batches: int, seed: int = 0):
    """A function ``epoch -> list of (X, Y, lengths)`` language-model batches: random windows
    ``X = ids[s:s+T]`` with targets ``Y = ids[s+1:s+T+1]`` (the next token at every position).
    """
    ids = np.asarray(ids, dtype=np.int64)

    def epoch_batches(epoch: int):
        rng = np.random.default_rng(seed + epoch)
        out = []
        for _ in range(n_batches):
            s = rng.integers(0, len(ids) - T - 1, size=batch_size)
            X = np.stack([ids[i:i + T] for i in s])
            Y = np.stack([ids[i + 1:i + T + 1] for i in s])
            out.append((torch.as_tensor(X), torch.as_tensor(Y), torch.full((batch_size,), T)))
        return out

    return epoch_batches


@torch.no_grad()
def prefix_perplexity(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Perplexity of ``Y[:, t]`` when the model reads only the prefix ``X[:, :t+1]``.

    This is what a model can use while generating (the future is not written yet). For a
    one-way RNN it equals the ordinary perplexity; for a BiRNN it is much higher.
    ``model(X)`` returns (N, T, V) logits. Total NLL / total tokens, then exp.
    """
    model.eval()
    nll, count = 0.0, 0
    for t in range(X.shape[1]):
        logits = model(X[:, : t + 1])[:, -1]
        nll += float(F.cross_entropy(logits, Y[:, t], reduction="sum"))
        count += len(Y)
    return math.exp(nll / count)


@torch.no_grad()
def generate(model: nn.Module, prefix: list[int], n: int,
             generator: torch.Generator | None = None) -> list[int]:
    """Sample ``n`` tokens after ``prefix``: run ``model`` on everything written so far, sample
    the next token from its output at the last position, append it, repeat. This is all any
    model can do while generating: the tokens to the right do not exist yet."""
    model.eval()
    ids = list(prefix)
    for _ in range(n):
        logits = model(torch.tensor([ids]))[0, -1]
        ids.append(int(torch.multinomial(F.softmax(logits, -1), 1, generator=generator)))
    return ids[len(prefix):]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def influence_figure(maps: dict[str, np.ndarray],
                     title: str = "Which inputs reach the output at position t") -> go.Figure:
    """Side-by-side heatmaps of influence matrices ``G[t, s]`` (output position t, input
    position s), one per named model."""
    from plotly.subplots import make_subplots

    names = list(maps)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for i, name in enumerate(names):
        G = np.asarray(maps[name])
        fig.add_trace(go.Heatmap(z=G, colorscale="Blues", showscale=i == len(names) - 1,
                                 colorbar={"title": "‖∂out/∂x‖"},
                                 hovertemplate="output t=%{y}, input s=%{x}: %{z:.3f}"
                                 "<extra></extra>"), row=1, col=i + 1)
        fig.update_xaxes(title_text="input position s", row=1, col=i + 1)
        fig.update_yaxes(title_text="output position t", autorange="reversed", row=1, col=i + 1)
    fig.update_layout(title=title, height=360, margin={"t": 70, "b": 40})
    return fig


def accuracy_figure(results: dict[str, dict[str, float]],
                    title: str = "Tagging accuracy: one-way RNN against BiRNN") -> go.Figure:
    """Grouped bars: ``results[model][subset] = accuracy`` (0-1), shown in percent."""
    fig = go.Figure()
    for model, acc in results.items():
        fig.add_bar(name=model, x=list(acc), y=[100 * v for v in acc.values()],
                    text=[f"{100 * v:.0f}%" for v in acc.values()], textposition="outside")
    fig.update_layout(title=title, xaxis_title="held-out positions",
                      yaxis_title="accuracy (%)", yaxis_range=[0, 110], barmode="group",
                      height=360, margin={"t": 50, "b": 40})
    return fig


def perplexity_figure(values: dict[str, float], floor: float,
                      title: str = "Held-out perplexity against the true floor") -> go.Figure:
    """Bars of perplexities (per character) with the corpus's true floor as a dashed line."""
    fig = go.Figure(go.Bar(x=list(values), y=list(values.values()),
                           text=[f"{v:.2f}" for v in values.values()], textposition="outside"))
    fig.add_hline(y=floor, line_dash="dash", line_color="gray",
                  annotation_text=f"true floor {floor:.2f}", annotation_position="top left")
    fig.update_layout(title=title, xaxis_title="model and how it is scored",
                      yaxis_title="perplexity (per character)", height=380,
                      margin={"t": 50, "b": 40})
    return fig
