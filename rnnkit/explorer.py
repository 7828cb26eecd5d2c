"""The gradient-decay explorer: watch ||dh_T/dh_t|| vanish or explode as you change W_hh.

A vanilla RNN h_t = phi(h_{t-1} W_hh + u_t) is driven by random inputs u_t; the explorer plots
the spectral norm of dh_T/dh_t against t on a log axis, with the bound (gamma sigma_1)^(T - t),
next to the singular values and eigenvalue moduli of W_hh (so sigma_1 and the spectral radius
rho can be compared; the moduli come from W_hh's construction where it fixes them, see
:func:`rnnkit.gradients.make_whh_with_moduli`).

* :func:`decay_curves` computes everything for one :class:`ExplorerSettings`.
* :func:`decay_figure`, :func:`singular_values_figure` and :func:`explorer_figure` are static
  plotly figures (they show in exported notebooks and in feedback HTML); so are the lesson's
  other figures of norms, :func:`log_decay_figure`, :func:`power_norms_figure` and
  :func:`compare_decay_figure`.
* :class:`GradientExplorer` is the dashboard: ipywidgets controls and one ``go.FigureWidget``
  updated in place; :meth:`GradientExplorer.update` is one update (what a slider move does).

Where the norms come from: not from lesson 05's exercises (students write those, and
rnnkit holds no answer). :func:`chain_norms` runs the same driven RNN in torch and lets
autograd give every Jacobian dh_T/dh_t at once — one backward pass of H copies of the run,
with the identity as the upstream gradient, so row i of the result is e_i^T dh_T/dh_t — and
takes their spectral norms (:func:`chain_norms`). ``tests/test_explorer.py`` checks it against
the instructor's implementation of the exercise.

Changing sigma_1 only rescales W_hh (the same random directions are kept), so moving that
slider shows the effect of the scale alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from .gradients import ACTIVATIONS, DERIVATIVE_BOUND, INITS, decay_bound, make_whh_with_moduli

__all__ = [
    "DecayCurves",
    "chain_norms",
    "jacobians",
    "ExplorerSettings",
    "GradientExplorer",
    "compare_decay_figure",
    "decay_curves",
    "decay_figure",
    "explorer_figure",
    "gradient_explorer",
    "log_decay_figure",
    "power_norms_figure",
    "singular_values_figure",
]

NORM_LABEL = "‖∂h_T/∂h_t‖₂"

# The sliders' ranges, chosen so that every setting answers well under 100 ms
# (benchmarks/bench_explorer.py, one BLAS thread): the cost is one torch backward pass of H
# copies of a T-step run plus T + 1 exact spectral norms of H x H matrices, so it grows as
# T H^3 plus a per-step overhead. The lesson needs no more: its own figures use T <= 60 and its
# long-range task distances up to 45, so T = 150 is 2.5 times the longest; nothing it shows
# depends on H beyond a few dozen units (the decay is set by sigma_1, the activation, the
# initialisation and T; at H = 48 a Gaussian W_hh's spectral radius is still well below sigma_1,
# 0.58 sigma_1 for the explorer's seed). T = 200, H = 64 took about 100 ms, at the line.
MAX_LENGTH, MAX_HIDDEN = 150, 48


@dataclass(frozen=True)
class ExplorerSettings:
    """What the explorer's controls set."""

    sigma_1: float = 1.0  # largest singular value of W_hh
    length: int = 50  # T, the number of steps
    activation: str = "tanh"  # one of ACTIVATIONS
    hidden: int = 32  # H
    init: str = "orthogonal"  # one of INITS
    input_scale: float = 0.5  # standard deviation of the input drive u_t
    seed: int = 0


@dataclass
class DecayCurves:
    """The numbers behind the explorer's figures.

    t (T + 1,) time steps; norms (T + 1,) ||dh_T/dh_t||_2; bound (T + 1,) (gamma sigma_1)^(T-t);
    singular_values (H,) and eigen_moduli (H,) of W_hh, both in descending order; the moduli
    are the construction's where it fixes them (:func:`rnnkit.gradients.make_whh_with_moduli`:
    ``eigvals`` of the rounded non-normal matrix would scatter them).
    """

    settings: ExplorerSettings
    t: np.ndarray
    norms: np.ndarray
    bound: np.ndarray
    singular_values: np.ndarray
    eigen_moduli: np.ndarray

    @property
    def sigma_1(self) -> float:
        return float(self.singular_values[0])

    @property
    def rho(self) -> float:
        """Spectral radius of W_hh."""
        return float(self.eigen_moduli[0])

    @property
    def gamma(self) -> float:
        """Largest value of the activation's derivative."""
        return DERIVATIVE_BOUND[self.settings.activation]

    @property
    def mean_rate(self) -> float:
        """Geometric-mean factor per step, ||dh_T/dh_0||^(1/T) (0 if the gradient died)."""
        return float(self.norms[0] ** (1.0 / self.settings.length))


_TORCH_PHI = {"identity": lambda z: z, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
              "relu": torch.relu}


def jacobians(settings: ExplorerSettings, Whh: np.ndarray, drive: np.ndarray) -> torch.Tensor:
    """Every dh_T/dh_t, t = 0 .. T, of h_t = phi(h_{t-1} Whh + drive[t-1]), h_0 = 0, by torch
    autograd (float64): a tensor (T + 1, H, H), the last entry the identity.

    ``drive`` (T, H) is the input drive u_t; the activation is ``settings.activation``. One
    backward pass of H copies of the run, with the identity as the upstream gradient: row i of
    the gradient reaching h_t is e_i^T dh_T/dh_t.
    """
    phi = _TORCH_PHI[settings.activation]
    W = torch.as_tensor(np.asarray(Whh, dtype=np.float64))
    U = torch.as_tensor(np.asarray(drive, dtype=np.float64))
    T, H = U.shape
    eye = torch.eye(H, dtype=torch.float64)
    with torch.enable_grad():
        h = torch.zeros(H, H, dtype=torch.float64, requires_grad=True)  # H copies of h_0
        states = [h]
        for t in range(T):
            h = phi(torch.addmm(U[t][None, :], h, W))
            states.append(h)
        grads = torch.autograd.grad(h, states[:-1], grad_outputs=eye) if T else ()
    return torch.stack([*grads, eye])


def chain_norms(settings: ExplorerSettings, Whh: np.ndarray, drive: np.ndarray) -> np.ndarray:
    """||dh_T/dh_t||_2 for t = 0 .. T of :func:`jacobians`: shape (T + 1,), the last entry 1.

    The spectral norm of each G is sqrt(lambda_max(G G^T)) with G first divided by its largest
    entry (so neither 1e-200 nor 1e+200 under- or overflows when squared): a symmetric
    eigenvalue problem is cheaper than an SVD, and its largest eigenvalue is exact to rounding
    (relative error about 1e-15 against the SVD; ``benchmarks/bench_explorer.py`` prints it).
    """
    G = jacobians(settings, Whh, drive)
    scale = G.abs().amax(dim=(1, 2))
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    Gs = G / safe[:, None, None]
    top = torch.linalg.eigvalsh(Gs @ Gs.mT)[:, -1].clamp_min(0.0)
    return (torch.sqrt(top) * scale).numpy()


def decay_curves(settings: ExplorerSettings | None = None, **changes) -> DecayCurves:
    """Build W_hh, run the driven RNN and compute the Jacobian-chain norms and the bound.

    Results are cached by settings (the last 64), so going back to a slider position is instant.
    """
    return _decay_curves(replace(settings or ExplorerSettings(), **changes))


@lru_cache(maxsize=64)
def _decay_curves(s: ExplorerSettings) -> DecayCurves:
    if s.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}.")
    Whh, eigen_moduli = make_whh_with_moduli(int(s.hidden), float(s.sigma_1), s.init,
                                             np.random.default_rng(s.seed))
    drive = float(s.input_scale) * np.random.default_rng(s.seed + 1).standard_normal(
        (int(s.length), int(s.hidden)))  # the same u_t as rnnkit.gradients.run_driven_rnn
    return DecayCurves(
        settings=s,
        t=np.arange(int(s.length) + 1),
        norms=chain_norms(s, Whh, drive),
        bound=decay_bound(Whh, int(s.length), s.activation),
        singular_values=np.linalg.svd(Whh, compute_uv=False),
        eigen_moduli=eigen_moduli,
    )


def _positive(y: np.ndarray) -> np.ndarray:
    """Zeros cannot be drawn on a log axis: show them as gaps."""
    y = np.asarray(y, dtype=np.float64).copy()
    y[~(y > 0)] = np.nan
    return y


def _summary(c: DecayCurves) -> str:
    s = c.settings
    return (f"{s.activation}, {s.init} W_hh, H = {s.hidden}: σ₁ = {c.sigma_1:.3g}, "
            f"ρ = {c.rho:.3g}, bound rate γσ₁ = {c.gamma * c.sigma_1:.3g}")


def _decay_traces(c: DecayCurves) -> list[go.Scatter]:
    return [
        go.Scatter(x=c.t, y=_positive(c.norms), mode="lines+markers", name=NORM_LABEL,
                   marker={"size": 4}, hovertemplate="t = %{x}: %{y:.3g}<extra></extra>"),
        go.Scatter(x=c.t, y=_positive(c.bound), mode="lines", name="bound (γσ₁)^(T−t)",
                   line={"dash": "dash", "color": "gray"}),
    ]


def _spectrum_traces(c: DecayCurves) -> list[go.Scatter]:
    i = np.arange(1, len(c.singular_values) + 1)
    return [
        go.Scatter(x=i, y=c.singular_values, mode="markers", name="singular values σ_i",
                   marker={"symbol": "circle", "size": 7}),
        go.Scatter(x=i, y=c.eigen_moduli, mode="markers", name="eigenvalue moduli |λ_i|",
                   marker={"symbol": "x", "size": 7}),
        go.Scatter(x=[1, len(i)], y=[1.0, 1.0], mode="lines", name="1 (neither grows nor shrinks)",
                   line={"dash": "dot", "color": "black"}),
    ]


def _spectrum_range(c: DecayCurves) -> list[float]:
    """From 0 to a little above both sigma_1 and 1, so equal values do not zoom into noise."""
    return [0.0, 1.1 * max(1.0, c.sigma_1)]


def decay_figure(curves: DecayCurves) -> go.Figure:
    """||dh_T/dh_t||_2 against t on a log axis, with the bound (static figure)."""
    fig = go.Figure(_decay_traces(curves))
    fig.update_layout(
        title=f"Gradient norm {NORM_LABEL} against t — {_summary(curves)}",
        xaxis_title="time step t (T = last step)",
        yaxis_title=f"{NORM_LABEL} (log scale, no units)", yaxis_type="log",
        height=400, margin={"t": 60, "b": 40}, title_font_size=13,
    )
    return fig


def singular_values_figure(curves: DecayCurves) -> go.Figure:
    """Singular values and eigenvalue moduli of W_hh in descending order (static figure)."""
    fig = go.Figure(_spectrum_traces(curves))
    fig.update_layout(
        title=f"Spectrum of W_hh: σ₁ = {curves.sigma_1:.3g}, ρ = {curves.rho:.3g}",
        xaxis_title="index i (descending order)", yaxis_title="value (no units)",
        yaxis_range=_spectrum_range(curves), height=360, margin={"t": 60, "b": 40},
    )
    return fig


def explorer_figure(curves: DecayCurves) -> go.Figure:
    """Both panels side by side: what the dashboard shows, as a static figure."""
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.64, 0.36], horizontal_spacing=0.1,
        subplot_titles=(f"{NORM_LABEL} against t", "spectrum of W_hh: σ_i and |λ_i|"),
    )
    for tr in _decay_traces(curves):
        fig.add_trace(tr, row=1, col=1)
    for tr in _spectrum_traces(curves):
        fig.add_trace(tr, row=1, col=2)
    fig.update_xaxes(title_text="time step t (T = last step)", row=1, col=1)
    fig.update_yaxes(title_text=f"{NORM_LABEL} (log scale, no units)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="index i (descending order)", row=1, col=2)
    fig.update_yaxes(title_text="value (no units)", range=_spectrum_range(curves), row=1, col=2)
    fig.update_layout(
        title=_summary(curves), title_font_size=13, height=430,
        margin={"t": 80, "b": 40, "l": 60, "r": 20},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


class GradientExplorer:
    """The dashboard: controls for every setting and one FigureWidget updated in place.

    ``GradientExplorer()`` as the last expression of a cell shows it; ``update(sigma_1=1.5)``
    does what moving a control does (recompute, then one ``batch_update`` of the figure).
    """

    def __init__(self, settings: ExplorerSettings | None = None, **changes):
        import ipywidgets as w

        self.settings = replace(settings or ExplorerSettings(), **changes)
        self.curves = decay_curves(self.settings)
        self.fig = go.FigureWidget(explorer_figure(self.curves))
        s = self.settings
        style = {"description_width": "170px"}
        layout = w.Layout(width="420px")
        common = {"continuous_update": False, "style": style, "layout": layout}
        self.controls = {
            "sigma_1": w.FloatSlider(value=s.sigma_1, min=0.1, max=3.0, step=0.05,
                                     description="largest singular value σ₁", readout_format=".2f",
                                     **common),
            "length": w.IntSlider(value=s.length, min=5, max=MAX_LENGTH, step=5,
                                  description="sequence length T", **common),
            "activation": w.Dropdown(options=list(ACTIVATIONS), value=s.activation,
                                     description="activation φ", style=style, layout=layout),
            "hidden": w.IntSlider(value=s.hidden, min=2, max=MAX_HIDDEN, step=2,
                                  description="hidden size H", **common),
            "init": w.Dropdown(options=list(INITS), value=s.init,
                               description="initialisation of W_hh", style=style, layout=layout),
            "input_scale": w.FloatSlider(value=s.input_scale, min=0.0, max=3.0, step=0.1,
                                         description="input scale", readout_format=".1f",
                                         **common),
        }
        for name, control in self.controls.items():
            control.add_class(f"rnnkit-explorer-{name.replace('_', '-')}")
            control.observe(self._on_change, names="value")
        self.info = w.HTML(self._info_html())
        self.info.add_class("rnnkit-explorer-info")
        c = list(self.controls.values())
        self.widget = w.VBox([w.HBox([w.VBox(c[:3]), w.VBox(c[3:])]), self.info, self.fig])
        self.widget.add_class("rnnkit-explorer")
        self._syncing = False

    def _info_html(self) -> str:
        c = self.curves
        return (
            f"<b>σ₁ = {c.sigma_1:.3f}</b>, <b>ρ = {c.rho:.3f}</b> (spectral radius), "
            f"γ = {c.gamma:g} (largest φ'), bound rate γσ₁ = {c.gamma * c.sigma_1:.3f} per step; "
            f"observed mean rate ‖∂h_T/∂h_0‖^(1/T) = {c.mean_rate:.3f}"
        )

    def _on_change(self, change) -> None:
        if self._syncing:
            return
        name = next(k for k, v in self.controls.items() if v is change["owner"])
        self.update(**{name: change["new"]})

    def update(self, **changes) -> DecayCurves:
        """Apply setting changes, recompute and redraw in place; returns the new curves."""
        self.settings = replace(self.settings, **changes)
        self._syncing = True
        try:
            for name, value in changes.items():
                if name in self.controls and self.controls[name].value != value:
                    self.controls[name].value = value
        finally:
            self._syncing = False
        self.curves = c = decay_curves(self.settings)
        norms, bound = _positive(c.norms), _positive(c.bound)
        i = np.arange(1, len(c.singular_values) + 1)
        with self.fig.batch_update():
            d = self.fig.data
            d[0].x, d[0].y = c.t, norms
            d[1].x, d[1].y = c.t, bound
            d[2].x, d[2].y = i, c.singular_values
            d[3].x, d[3].y = i, c.eigen_moduli
            d[4].x = [1, len(i)]
            self.fig.layout.title.text = _summary(c)
            self.fig.layout.yaxis2.range = _spectrum_range(c)
        self.info.value = self._info_html()
        return c

    def static_figure(self) -> go.Figure:
        """The current view as a static figure (for export or feedback HTML)."""
        return explorer_figure(self.curves)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def as_dict(self) -> dict:
        return asdict(self.settings)


def gradient_explorer(**settings) -> GradientExplorer:
    """The dashboard with the given starting settings (see :class:`ExplorerSettings`)."""
    return GradientExplorer(**settings)


def log_decay_figure(norms: np.ndarray, title: str) -> go.Figure:
    """ln ||dh_T/dh_t|| against the distance T - t on linear axes, with a fine grid, so a
    slope can be read off. ``norms`` is indexed by distance: norms[k] at distance k."""
    k = np.arange(len(norms))
    fig = go.Figure(go.Scatter(x=k, y=np.log(_positive(norms)), mode="lines+markers",
                               name="ln " + NORM_LABEL, marker={"size": 5}))
    fig.update_layout(
        title=title, xaxis_title="distance T − t (time steps)",
        yaxis_title="ln " + NORM_LABEL + " (natural log)", height=400,
        margin={"t": 50, "b": 40}, showlegend=False,
    )
    fig.update_xaxes(dtick=5, gridcolor="#ccc")
    fig.update_yaxes(dtick=0.5, gridcolor="#ccc")
    return fig


def power_norms_figure(matrices: dict[str, np.ndarray], K: int, title: str) -> go.Figure:
    """||W^k||_2 against k on a log axis (the linear RNN's gradient norm at distance k), one
    line per named matrix, with its spectral radius and largest singular value in the legend."""
    from .gradients import largest_singular_value, power_norms, spectral_radius

    fig = go.Figure()
    for name, W in matrices.items():
        fig.add_trace(go.Scatter(
            x=np.arange(K + 1), y=_positive(power_norms(W, K)), mode="lines+markers",
            marker={"size": 4},
            name=f"{name}: ρ = {spectral_radius(W):.2f}, σ₁ = {largest_singular_value(W):.2f}",
        ))
    fig.add_hline(y=1.0, line_dash="dot", line_color="black")
    fig.update_layout(
        title=title, xaxis_title="distance k (time steps)",
        yaxis_title="‖W^k‖₂ (log scale, no units)", yaxis_type="log", height=400,
        margin={"t": 50, "b": 40},
    )
    return fig


def compare_decay_figure(settings: dict[str, ExplorerSettings], title: str) -> go.Figure:
    """||dh_T/dh_t||_2 against t on a log axis for several named settings (static figure)."""
    fig = go.Figure()
    for name, s in settings.items():
        c = decay_curves(s)
        fig.add_trace(go.Scatter(x=c.t, y=_positive(c.norms), mode="lines", name=name))
    fig.update_layout(
        title=title, xaxis_title="time step t (T = last step)",
        yaxis_title=f"{NORM_LABEL} (log scale, no units)", yaxis_type="log", height=400,
        margin={"t": 50, "b": 40},
    )
    return fig
