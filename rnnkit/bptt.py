"""Tools for lesson 04 (backpropagation through time): gradient checks and figures.

The backward pass itself is the lesson's exercise, so it is not here. What is here:

* :func:`torch_rnn_grads`: the gradients of the states of a tanh RNN with respect to its
  inputs, initial state and weights, by torch autograd (float64) — an independent reference;
* :func:`gradcheck_rnn_backward` and :class:`GradReport`: run a backward pass
  ``backward(dH, cache)`` on a small random RNN, once per time step with the loss on that
  step's state alone, and compare every gradient with finite differences or torch. The
  forward pass (lesson 03's ``rnn_forward``) and the finite-difference function (the
  lesson's ``numeric_grad(f, x, eps)``) are passed in, so this module holds no answer;
* the figures: the unrolled graph, how far back a gradient reaches, clipping, and the
  gradient norm during training.

Conventions (row vectors, batch first) and cache formats are lesson 03's: a step cache is
``(x, h_prev, Wxh, Whh, h_next)``, a sequence cache the list of step caches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from .checks import CheckFailed, rel_error
from .layout import lay_out

__all__ = [
    "GRAD_NAMES",
    "GradReport",
    "clipping_figure",
    "grad_norm_figure",
    "gradcheck_rnn_backward",
    "gradient_reach_figure",
    "torch_rnn_grads",
    "unrolled_graph_figure",
]

GRAD_NAMES: tuple[str, ...] = ("dX", "dh0", "dWxh", "dWhh", "dbh")


# --------------------------------------------------------------------------- gradient checks


def torch_rnn_grads(X: np.ndarray, h0: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray,
                    bh: np.ndarray, dH: np.ndarray) -> dict[str, np.ndarray]:
    """The same gradients as :func:`rnn_backward`, computed by torch autograd (float64)."""
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in {"dX": X, "dh0": h0, "dWxh": Wxh, "dWhh": Whh, "dbh": bh}.items()}
    h, hs = t["dh0"], []
    for step in range(X.shape[1]):
        h = torch.tanh(t["dX"][:, step] @ t["dWxh"] + h @ t["dWhh"] + t["dbh"])
        hs.append(h)
    (torch.stack(hs, dim=1) * torch.tensor(dH, dtype=torch.float64)).sum().backward()
    return {k: v.grad.numpy() for k, v in t.items()}


@dataclass
class GradReport:
    """Relative errors of a backward pass, by gradient and by the time step of the loss."""

    errors: dict[tuple[str, int], float] = field(default_factory=dict)
    tol: float = 1e-6
    source: str = "finite differences"

    @property
    def ok(self) -> bool:
        return all(e <= self.tol for e in self.errors.values())

    def first_failure(self) -> tuple[str, int, float] | None:
        def order(item: tuple[tuple[str, int], float]) -> tuple[int, int]:
            (name, t), _ = item
            return t, GRAD_NAMES.index(name)

        for (name, t), err in sorted(self.errors.items(), key=order):
            if err > self.tol:
                return name, t, err
        return None

    def table(self) -> str:
        steps = sorted({t for _, t in self.errors})
        lines = ["loss at step | " + " ".join(f"{n:>9}" for n in GRAD_NAMES)]
        for t in steps:
            lines.append(f"{t:>12} | " + " ".join(f"{self.errors[(n, t)]:9.1e}"
                                                  for n in GRAD_NAMES))
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        bad = self.first_failure()
        if bad is None:
            return
        name, t, err = bad
        hint = ""
        if t > 0 and all(self.errors[(n, s)] <= self.tol for n in GRAD_NAMES for s in range(t)):
            hint = (" — it is right when the loss sits at earlier steps, so look at what "
                    "changes with more steps: the gradient arriving from later steps (dh_next) "
                    "and the sums over time of the weight gradients")
        raise CheckFailed(
            f"{name} disagrees with {self.source} (relative error {err:.2g}) when the loss "
            f"is on the hidden state at time step {t}{hint}."
        )


def gradcheck_rnn_backward(
    backward: Callable[[np.ndarray, list], tuple[np.ndarray, ...]],
    rng: np.random.Generator,
    forward: Callable[..., tuple[np.ndarray, list]],
    numeric_grad: Callable[..., np.ndarray] | None = None,
    N: int = 2, T: int = 4, D: int = 3, H: int = 5,
    against: str = "finite differences",
    tol: float = 1e-6,
    eps: float = 1e-5,
) -> GradReport:
    """Check ``backward(dH, cache) -> (dX, dh0, dWxh, dWhh, dbh)`` on a random small case.

    ``forward(X, h0, Wxh, Whh, bh) -> (H, cache)`` is the sequence forward pass whose cache
    ``backward`` reads. For each time step ``t`` the loss ``sum(H * dH)`` has ``dH`` zero
    except at ``t``, so the report says at which step the gradient first goes wrong as well
    as which gradient. ``against`` is ``"finite differences"`` (then ``numeric_grad(f, x,
    eps)``, centred differences of a function ``f`` of one array, is required) or
    ``"torch"`` (autograd).
    """
    if against != "torch" and numeric_grad is None:
        raise ValueError("gradcheck_rnn_backward needs numeric_grad to check against finite "
                         "differences (or against='torch').")
    X = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    Wxh = rng.normal(scale=0.5, size=(D, H))
    Whh = rng.normal(scale=0.5, size=(H, H))
    bh = rng.normal(scale=0.5, size=H)
    report = GradReport(tol=tol, source=against)
    for t in range(T):
        dH = np.zeros((N, T, H))
        dH[:, t] = rng.normal(size=(N, H))
        _, cache = forward(X, h0, Wxh, Whh, bh)
        got = backward(dH, cache)
        if against == "torch":
            ref = torch_rnn_grads(X, h0, Wxh, Whh, bh, dH)
        else:
            args = [X, h0, Wxh, Whh, bh]
            ref = {}
            for i, name in enumerate(GRAD_NAMES):
                def loss(a, i=i, args=args, dH=dH):
                    values = list(args)
                    values[i] = a
                    return float(np.sum(forward(*values)[0] * dH))

                ref[name] = np.asarray(numeric_grad(loss, args[i].copy(), eps), dtype=np.float64)
        for name, value in zip(GRAD_NAMES, got):
            expected = ref[name]
            value = np.asarray(value, dtype=np.float64)
            err = rel_error(value, expected) if value.shape == expected.shape else math.inf
            report.errors[(name, t)] = err
    return report


# --------------------------------------------------------------------------- figures


def unrolled_graph_figure(T: int = 4) -> go.Figure:
    """The RNN unrolled over ``T`` steps: inputs, states, outputs and losses, with the
    forward edges (grey) and the two gradient paths into each ``h_t`` (red, thinner)."""
    fig = go.Figure()
    rows = {"x": 0, "h": 1, "L": 2}
    labels = {"x": "x<sub>{t}</sub>", "h": "h<sub>{t}</sub>",
              "L": "o<sub>{t}</sub>, L<sub>{t}</sub>"}
    xs, ys, texts = [0.0], [1.0], ["h<sub>0</sub>"]
    for t in range(1, T + 1):
        for kind, y in rows.items():
            xs.append(float(t))
            ys.append(float(y))
            texts.append(labels[kind].format(t=t))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=texts,
                             textposition="middle center", hoverinfo="skip",
                             marker={"size": 50, "color": "white",
                                     "line": {"width": 2, "color": "#555"}},
                             showlegend=False))

    def arrow(x0, y0, x1, y1, color, dash=False, shift=0.0):
        fig.add_annotation(x=x1 + shift, y=y1 + shift, ax=x0 + shift, ay=y0 + shift,
                           xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1.2, arrowwidth=2 if not dash else 1.5,
                           arrowcolor=color, standoff=20, startstandoff=20, text="")

    for t in range(1, T + 1):
        arrow(t, 0, t, 1, "#888")              # x_t -> h_t   (Wxh)
        arrow(t - 1, 1, t, 1, "#888")          # h_{t-1} -> h_t (Whh)
        arrow(t, 1, t, 2, "#888")              # h_t -> o_t   (Whq)
        arrow(t, 2, t, 1, "#d62728", True, 0.08)       # dL_t/dh_t
        arrow(t, 1, t - 1, 1, "#d62728", True, 0.08)   # dh_next into h_{t-1}
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="forward (same Wxh, Whh, "
                             "Whq at every step)", line={"color": "#888"}))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="gradient (BPTT)",
                             line={"color": "#d62728"}))
    return lay_out(
        fig, f"The RNN unrolled over T = {T} steps: each h_t gets gradient from L_t and h_(t+1)",
        "time step t", "layer", height=360,
        xaxis={"range": [-0.5, T + 0.5], "dtick": 1, "zeroline": False},
        yaxis={"range": [-0.5, 2.5], "tickvals": [0, 1, 2],
               "ticktext": ["input", "hidden state", "output and loss"], "zeroline": False},
        plot_bgcolor="white", legend={"orientation": "h", "y": -0.25},
    )


def gradient_reach_figure(reach: dict[str, np.ndarray],
                          title: str = "How far back the gradient of the last loss reaches"
                          ) -> go.Figure:
    """Bars of ``||dL_T / dx_t||`` for each input step t, one group per named backward pass
    (e.g. full BPTT and truncated windows). Zero bars are steps the gradient never reaches."""
    fig = go.Figure()
    for name, norms in reach.items():
        norms = np.asarray(norms, dtype=float)
        fig.add_bar(x=np.arange(1, len(norms) + 1), y=norms, name=name)
    return lay_out(fig, title, "input time step t (the loss is at the last step)",
                   "gradient norm ||dL/dx_t|| (log scale)", height=360,
                   yaxis={"type": "log"}, barmode="group")


def clipping_figure(g: Sequence[float], max_norm: float) -> go.Figure:
    """A 2-D gradient ``g`` and what clipping makes of it: by global norm (same direction,
    length ``max_norm``) and element-wise (each entry cut to [-max_norm, max_norm])."""
    g = np.asarray(g, dtype=float)
    by_norm = g * min(1.0, max_norm / float(np.linalg.norm(g)))
    by_entry = np.clip(g, -max_norm, max_norm)
    fig = go.Figure()
    theta = np.linspace(0, 2 * np.pi, 200)
    fig.add_scatter(x=max_norm * np.cos(theta), y=max_norm * np.sin(theta), mode="lines",
                    name=f"norm = {max_norm:g}", line={"color": "gray", "dash": "dot"})
    fig.add_scatter(x=[-max_norm, max_norm, max_norm, -max_norm, -max_norm],
                    y=[-max_norm, -max_norm, max_norm, max_norm, -max_norm], mode="lines",
                    name=f"box |entry| ≤ {max_norm:g}", line={"color": "lightgray"})
    for vec, name, color in [(g, "gradient g", "black"),
                             (by_norm, "clipped by global norm", "#2ca02c"),
                             (by_entry, "clipped element-wise", "#d62728")]:
        fig.add_scatter(x=[0, vec[0]], y=[0, vec[1]], mode="lines+markers", name=name,
                        line={"color": color, "width": 3}, marker={"size": [0, 9]})
    lim = 1.15 * max(float(np.abs(g).max()), max_norm)
    return lay_out(
        fig, "Clipping by global norm keeps the direction; element-wise clipping turns it",
        "gradient entry 1", "gradient entry 2", height=420,
        xaxis={"range": [-lim, lim], "zeroline": True},
        yaxis={"range": [-lim, lim], "scaleanchor": "x", "zeroline": True},
    )


def grad_norm_figure(norms: Sequence[float], clip: float | None = None,
                     title: str = "Global gradient norm at each training step") -> go.Figure:
    """The gradient norm before clipping at every step, with the clipping threshold."""
    norms = np.asarray(norms, dtype=float)
    fig = go.Figure(go.Scatter(x=np.arange(1, len(norms) + 1), y=norms, mode="lines",
                               name="norm before clipping"))
    if clip is not None:
        fig.add_hline(y=clip, line_dash="dash", line_color="#d62728",
                      annotation_text=f"clip at {clip:g}: larger gradients are scaled down",
                      annotation_position="top right")
    return lay_out(fig, title, "training step (batch)", "global gradient norm (log scale)",
                   height=340, yaxis={"type": "log"})
