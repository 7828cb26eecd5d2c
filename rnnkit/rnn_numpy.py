"""Tools for lesson 03 (the RNN cell): figures, and the lesson's numpy model run by torch.

The cell, the sequence forward pass, the softmax and generation are the lesson's exercises,
so they are not here. What is here needs no answer:

* :func:`char_rnn_from_params`: a :class:`rnnkit.models.CharRNN` (torch, float64) holding the
  weights of a numpy parameter dict ``{Wxh (V, H), Whh (H, H), bh, Whq (H, V), bq}`` with
  one-hot inputs; torch's ``nn.RNN`` computes the same cell, so the lesson's demonstrations
  (the "hello" model's predictions, its hidden states, sampling with a temperature) run
  whatever state the student's answers are in. :func:`char_rnn_states` reads a sequence of
  ids with it and returns the logits and the hidden states as numpy arrays.
* :func:`hidden_state_figure` and :func:`temperature_figure` (its softmax is torch's).

Row-vector convention, batch first, as in the lesson: ``torch``'s ``weight_ih`` is ``Wxh.T``,
its ``weight_hh`` is ``Whh.T``, its two biases add up to ``bh``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from .layout import lay_out

__all__ = [
    "char_rnn_from_params",
    "char_rnn_states",
    "hidden_state_figure",
    "temperature_figure",
]


def char_rnn_from_params(params: dict[str, np.ndarray]):
    """A float64 :class:`rnnkit.models.CharRNN` (one-hot inputs, tanh cell) with these weights.

    Args:
        params: ``Wxh (V, H)``, ``Whh (H, H)``, ``bh (H,)``, ``Whq (H, V)``, ``bq (V,)``.
    """
    from .models import CharRNN

    Wxh = np.asarray(params["Wxh"], dtype=np.float64)
    V, H = Wxh.shape
    model = CharRNN(vocab_size=V, hidden_size=H).double()

    def t(a) -> torch.Tensor:
        return torch.as_tensor(np.array(a, dtype=np.float64))

    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(t(Wxh.T))
        model.rnn.weight_hh_l0.copy_(t(np.asarray(params["Whh"]).T))
        model.rnn.bias_ih_l0.copy_(t(np.reshape(params["bh"], -1)))
        model.rnn.bias_hh_l0.zero_()
        model.head.weight.copy_(t(np.asarray(params["Whq"]).T))
        model.head.bias.copy_(t(np.reshape(params["bq"], -1)))
    return model.eval()


@torch.no_grad()
def char_rnn_states(model, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``ids`` (one sequence) from the zero state: logits (T, V) and states (T, H)."""
    X = model.inputs(torch.as_tensor([list(ids)], dtype=torch.long))
    H, _ = model.rnn(X)
    return model.head(H)[0].numpy(), H[0].numpy()


def hidden_state_figure(
    H: np.ndarray,
    tokens: Sequence[str] | None = None,
    title: str = "Hidden state over time",
    zmax: float = 1.0,
    colorbar_title: str = "h (tanh units, −1 to 1)",
) -> go.Figure:
    """Heatmap of one sequence's hidden states: units down, time steps across, colour = value.

    Args:
        H: (T, H) for one sequence (pass ``H[i]`` of a batch-first (N, T, H) array).
        tokens: optional input token at each step, shown under the time axis.
        zmax: the colour scale runs from ``-zmax`` to ``zmax`` (1 suits tanh states; use 2 for
            the difference of two states).
    """
    H = np.asarray(H)
    T, n_units = H.shape
    x = list(range(1, T + 1))
    ticks = [f"{t}: {tok!s}" for t, tok in zip(x, tokens)] if tokens is not None else None
    fig = go.Figure(
        go.Heatmap(
            z=H.T, x=x, y=list(range(n_units)), zmin=-zmax, zmax=zmax, colorscale="RdBu",
            reversescale=True, colorbar={"title": colorbar_title},
            hovertemplate="step %{x}, unit %{y}: %{z:.3f}<extra></extra>",
        )
    )
    lay_out(fig, title, "time step t (after reading token t)", "hidden unit (index)",
            height=min(520, max(260, 140 + 14 * n_units)), margin={"b": 50})
    if ticks is not None:
        fig.update_xaxes(tickmode="array", tickvals=x, ticktext=ticks)
    return fig


def temperature_figure(
    logits: np.ndarray,
    temperatures: Sequence[float],
    labels: Sequence[str] | None = None,
    title: str = "Sampling distribution softmax(o / τ) at several temperatures",
) -> go.Figure:
    """Grouped bars of ``softmax(logits / τ)`` for each temperature τ > 0.

    Args:
        logits: one step's output scores, (Q,).
        temperatures: the values of τ to compare.
        labels: the token of each output (default: its index).
    """
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    names = list(labels) if labels is not None else [str(i) for i in range(len(logits))]
    fig = go.Figure()
    for tau in temperatures:
        probs = torch.softmax(torch.as_tensor(logits / tau), dim=-1).numpy()
        fig.add_trace(go.Bar(x=names, y=probs, name=f"τ = {tau:g}"))
    return lay_out(fig, title, "next token", "probability", height=360,
                   yaxis={"range": [0, 1]}, barmode="group")
