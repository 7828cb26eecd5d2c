"""How far back a gradient reaches in torch's vanilla, LSTM and GRU cells (lesson 08's figures).

:func:`gradient_reach` runs ``torch.nn.RNNCell``, ``torch.nn.LSTMCell`` and ``torch.nn.GRUCell``
on the same random inputs and measures, with torch autograd, the spectral norm of the
Jacobian of the last state with respect to the state at each earlier step t: ``‖∂h_T/∂h_t‖``
for the vanilla cell and the GRU, ``‖∂c_T/∂c_t‖`` along an LSTM's cell state.
:func:`reach_figure` draws the curves on a log axis, as lesson 05's explorer does.
:func:`attention_cost_table` gives the sizes of section 6 (sequential steps against the
T × T attention matrix).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from .layout import lay_out

__all__ = ["attention_cost_table", "gradient_reach", "reach_figure"]


def _norms_back_in_time(last: torch.Tensor, nodes: list[torch.Tensor]) -> np.ndarray:
    """Spectral norm of ∂last/∂node for every node.

    The batch holds H identical copies of one sequence; row i of the Jacobian is the gradient
    of ``last[i, i]`` reaching row i of a node, so one backward pass gives every Jacobian.
    """
    grads = torch.autograd.grad(torch.diagonal(last).sum(), nodes)
    return np.array([float(torch.linalg.matrix_norm(g, ord=2)) for g in grads])


def gradient_reach(length: int = 60, hidden: int = 16, inputs: int = 8, seed: int = 0,
                   forget_bias: float = 0.0, update_bias: float = 0.0,
                   input_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Norms of ∂(last state)/∂(state at t), t = 0..length, for the three torch cells.

    The cells get torch's default initialisation from ``seed``; ``forget_bias`` is added to
    the LSTM's forget-gate bias and ``update_bias`` to the GRU's update-gate bias (in torch's
    GRU, and in lesson 08's, ``z`` multiplies the old state: a large ``z`` keeps it). Returns
    ``{"t": (T+1,), "vanilla": (T+1,), "lstm": (T+1,), "gru": (T+1,)}``.
    """
    torch.manual_seed(seed)
    rnn = nn.RNNCell(inputs, hidden).double()
    lstm = nn.LSTMCell(inputs, hidden).double()
    gru = nn.GRUCell(inputs, hidden).double()
    with torch.no_grad():
        lstm.bias_ih[hidden:2 * hidden] += forget_bias
        gru.bias_ih[hidden:2 * hidden] += update_bias
    xs = input_scale * torch.randn(length, 1, inputs, dtype=torch.float64,
                                   generator=torch.Generator().manual_seed(seed + 1))
    xs = xs.expand(length, hidden, inputs)  # H copies of the sequence (see _norms_back_in_time)
    curves: dict[str, np.ndarray] = {"t": np.arange(length + 1)}
    for name, cell in (("vanilla", rnn), ("gru", gru)):
        h = torch.zeros(hidden, hidden, dtype=torch.float64, requires_grad=True)
        nodes = [h]
        for x in xs:
            h = cell(x, h)
            nodes.append(h)
        curves[name] = _norms_back_in_time(h, nodes)
    h = torch.zeros(hidden, hidden, dtype=torch.float64)
    c = torch.zeros(hidden, hidden, dtype=torch.float64, requires_grad=True)
    nodes = [c]
    for x in xs:
        h, c = lstm(x, (h, c))
        nodes.append(c)
    curves["lstm"] = _norms_back_in_time(c, nodes)
    return curves


def _positive(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).copy()
    y[~(y > 0)] = np.nan
    return y


def reach_figure(curves: dict[str, dict[str, np.ndarray] | np.ndarray], title: str) -> go.Figure:
    """Static log-axis figure of the norms against t; ``curves`` maps a legend label to
    ``(t, norms)`` arrays given as ``{"t": ..., "norms": ...}``."""
    fig = go.Figure()
    for label, c in curves.items():
        fig.add_trace(go.Scatter(x=c["t"], y=_positive(c["norms"]), mode="lines+markers",
                                 marker={"size": 4}, name=label,
                                 hovertemplate="t = %{x}: %{y:.3g}<extra></extra>"))
    return lay_out(fig, title, "time step t (T = last step)",
                   "‖∂(state at T)/∂(state at t)‖₂ (log scale, no units)", height=430,
                   margin={"t": 60}, yaxis={"type": "log"}, title_font_size=13,
                   legend={"orientation": "h", "y": -0.2})


def attention_cost_table(lengths, d_model: int = 512) -> list[dict[str, int]]:
    """Per layer and sequence: the RNN's sequential steps (T) against self-attention's T × T
    score matrix (entries, and multiply-adds for the scores Q Kᵀ, T² d)."""
    return [{"T": int(T), "rnn_sequential_steps": int(T), "attention_sequential_steps": 1,
             "attention_matrix_entries": int(T) * int(T),
             "score_multiply_adds": int(T) * int(T) * int(d_model)} for T in lengths]
