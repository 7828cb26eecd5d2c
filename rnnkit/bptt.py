"""Backpropagation through time for lesson 03's numpy RNN (forward pass: the lesson's exercise).

The backward half of the CS231n-style pairs: each ``*_backward`` takes the upstream gradient
and the cache its ``*_forward`` returned. With ``a_t = x_t Wxh + h_{t-1} Whh + bh`` and
``h_t = tanh(a_t)``::

    da_t      = dh_t * (1 - h_t**2)          # tanh' at the SAME step, from the cached h_t
    dx_t      = da_t @ Wxh.T
    dh_{t-1}  = da_t @ Whh.T                 # flows into the previous step
    dWxh     += x_t.T @ da_t                 # shared weights: contributions add up
    dWhh     += h_{t-1}.T @ da_t
    dbh      += da_t.sum(axis=0)             # summed over the batch

where ``dh_t`` is the *total* gradient reaching ``h_t``: from the output at step ``t`` plus
``dh_next`` from step ``t+1``.

Also here: cross-entropy over time, truncated BPTT, clipping by global norm, numeric
gradient checks (against finite differences and torch autograd) that name the parameter and
time step that is off, and a fast vectorised numpy training loop for character models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from .checks import CheckFailed, rel_error

__all__ = [
    "GRAD_NAMES",
    "NumpyTrainer",
    "clip_by_global_norm",
    "clipping_figure",
    "grad_norm_figure",
    "gradient_reach_figure",
    "global_norm",
    "gradcheck_rnn_backward",
    "lm_loss_and_grads",
    "model_backward",
    "numeric_gradient",
    "output_backward",
    "rnn_backward",
    "rnn_backward_truncated",
    "rnn_step_backward",
    "softmax_cross_entropy",
    "torch_rnn_grads",
    "unrolled_graph_figure",
]

GRAD_NAMES: tuple[str, ...] = ("dX", "dh0", "dWxh", "dWhh", "dbh")


# --------------------------------------------------------------------------- backward pairs


def rnn_step_backward(dh_next: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of one cell step.

    Args:
        dh_next: total gradient of the loss with respect to ``h_next``, (N, H).
        cache: ``(x, h_prev, Wxh, Whh, h_next)`` from ``rnn_step_forward``.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dWxh`` (D, H), ``dWhh`` (H, H), ``dbh`` (H,).
    """
    x, h_prev, Wxh, Whh, h_next = cache
    da = dh_next * (1.0 - h_next**2)
    return da @ Wxh.T, da @ Whh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_backward(dH: np.ndarray, cache: Sequence[tuple]) -> tuple[np.ndarray, ...]:
    """Backward over a whole sequence (full BPTT).

    Args:
        dH: gradient of the loss with respect to each hidden state from the layers above
            (the output layer), batch first, (N, T, H). It does not include the gradient
            that flows from step t+1 back into h_t: that is added here, step by step.
        cache: the list of step caches from ``rnn_forward``.

    Returns:
        ``dX`` (N, T, D), ``dh0`` (N, H), ``dWxh`` (D, H), ``dWhh`` (H, H), ``dbh`` (H,).
    """
    return rnn_backward_truncated(dH, cache, k=None)


def rnn_backward_truncated(
    dH: np.ndarray, cache: Sequence[tuple], k: int | None
) -> tuple[np.ndarray, ...]:
    """BPTT cut into windows of ``k`` steps, ``[0, k), [k, 2k), ...``.

    The gradient does not flow from step ``t`` back into step ``t - 1`` when ``t`` is a
    multiple of ``k`` (as if the state were detached there, which is what training on
    consecutive batches of ``k`` steps does). ``k=None`` or ``k >= T`` is full BPTT.
    Returns what :func:`rnn_backward` returns.
    """
    N, T, _ = dH.shape
    x0, _, Wxh, Whh, _ = cache[0]
    dX = np.zeros((N, T, Wxh.shape[0]), dtype=np.result_type(dH, x0))
    dWxh, dWhh = np.zeros_like(Wxh, dtype=dX.dtype), np.zeros_like(Whh, dtype=dX.dtype)
    dbh = np.zeros(Whh.shape[0], dtype=dX.dtype)
    dh_next = np.zeros((N, Whh.shape[0]), dtype=dX.dtype)
    for t in reversed(range(T)):
        dx, dh_prev, dWxh_t, dWhh_t, dbh_t = rnn_step_backward(dH[:, t] + dh_next, cache[t])
        dX[:, t] = dx
        dWxh += dWxh_t
        dWhh += dWhh_t
        dbh += dbh_t
        dh_next = np.zeros_like(dh_prev) if (k is not None and t > 0 and t % k == 0) else dh_prev
    return dX, dh_next, dWxh, dWhh, dbh


def output_backward(dO: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of ``O = H @ Whq + bq``.

    Args:
        dO: (N, T, Q) or (N, Q); cache: ``(H, Whq)`` from ``output_forward``.

    Returns:
        ``dH`` like ``H``, ``dWhq`` (H, Q), ``dbq`` (Q,).
    """
    H, Whq = cache
    Hf, dOf = H.reshape(-1, H.shape[-1]), dO.reshape(-1, dO.shape[-1])
    return dO @ Whq.T, Hf.T @ dOf, dOf.sum(axis=0)


def softmax_cross_entropy(O: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy over time: the mean over all ``N*T`` predictions of ``-log p(y_t)``.

    Args:
        O: logits, (N, T, V). Y: target ids, (N, T).

    Returns:
        ``loss`` in nats per token (so ``exp(loss)`` is the perplexity of these tokens) and
        ``dO`` (N, T, V) = ``(softmax(O) - onehot(Y)) / (N*T)``.
    """
    Z = O - O.max(axis=-1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))
    n = Y.size
    picked = np.take_along_axis(logp, Y[..., None], axis=-1)[..., 0]
    dO = np.exp(logp)
    np.put_along_axis(dO, Y[..., None], np.take_along_axis(dO, Y[..., None], -1) - 1.0, -1)
    return float(-picked.sum() / n), dO / n


def model_backward(dO: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
    """Gradients of every parameter of ``model_forward`` (and ``dX``, ``dh0``) from ``dO``."""
    rnn_cache, out_cache = cache
    dH, dWhq, dbq = output_backward(dO, out_cache)
    dX, dh0, dWxh, dWhh, dbh = rnn_backward(dH, rnn_cache)
    return {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Whq": dWhq, "bq": dbq, "X": dX, "h0": dh0}


# --------------------------------------------------------------------------- clipping


def global_norm(grads: dict[str, np.ndarray] | Sequence[np.ndarray]) -> float:
    """``sqrt(sum over all parameters and entries of g**2)``."""
    values = grads.values() if isinstance(grads, dict) else grads
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in values))


def clip_by_global_norm(
    grads: dict[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale all gradients together so their global norm is at most ``max_norm``.

    Every array is multiplied by the same factor ``min(1, max_norm / norm)``, so the
    direction of the whole gradient is kept (clipping each entry, or each parameter by its
    own norm, changes it). Returns the clipped gradients (new arrays) and the norm before.
    """
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


# --------------------------------------------------------------------------- gradient checks


def numeric_gradient(
    f: Callable[[], float | np.ndarray], x: np.ndarray, df: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """Centred finite differences of ``f`` with respect to the array ``x`` (changed in place
    and restored). ``f()`` returns a number, or an array whose sum weighted by ``df`` is the
    scalar being differentiated (``df`` = the upstream gradient, as in CS231n)."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        diff = np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)
        grad[i] = (np.sum(diff * df) if df is not None else float(diff)) / (2 * eps)
        it.iternext()
    return grad


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


def _torch_rnn_forward(X: np.ndarray, h0: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray,
                       bh: np.ndarray) -> tuple[np.ndarray, list]:
    """The states (N, T, H) and step caches ``(x, h_prev, Wxh, Whh, h_next)`` of a tanh RNN,
    computed by torch (float64): the forward pass is lesson 03's exercise, not in rnnkit."""
    import torch

    cell = torch.nn.RNNCell(Wxh.shape[0], Wxh.shape[1], nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.as_tensor(np.asarray(Wxh, dtype=np.float64).T))
        cell.weight_hh.copy_(torch.as_tensor(np.asarray(Whh, dtype=np.float64).T))
        cell.bias_ih.copy_(torch.as_tensor(np.reshape(bh, -1).astype(np.float64)))
        cell.bias_hh.zero_()
        h = torch.as_tensor(np.asarray(h0, dtype=np.float64))
        states, cache = [], []
        for t in range(X.shape[1]):
            h_next = cell(torch.as_tensor(np.asarray(X[:, t], dtype=np.float64)), h)
            cache.append((X[:, t], h.numpy(), Wxh, Whh, h_next.numpy()))
            states.append(h_next.numpy())
            h = h_next
    return np.stack(states, axis=1), cache


def gradcheck_rnn_backward(
    backward: Callable[[np.ndarray, list], tuple[np.ndarray, ...]],
    rng: np.random.Generator,
    N: int = 2, T: int = 4, D: int = 3, H: int = 5,
    against: str = "finite differences",
    tol: float = 1e-6,
    forward: Callable[..., tuple[np.ndarray, list]] | None = None,
) -> GradReport:
    """Check ``backward(dH, cache) -> (dX, dh0, dWxh, dWhh, dbh)`` on a random small case.

    For each time step ``t`` the loss is put on ``h_t`` alone (``dH`` is zero except at
    ``t``), so the report says at which step the gradient first goes wrong as well as which
    gradient. ``against`` is ``"finite differences"`` or ``"torch"`` (autograd).
    ``forward(X, h0, Wxh, Whh, bh) -> (H, cache)`` makes the caches (lesson 03's
    ``rnn_forward``; by default the same computation done by torch).
    """
    rnn_forward = forward if forward is not None else _torch_rnn_forward
    X = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    Wxh = rng.normal(scale=0.5, size=(D, H))
    Whh = rng.normal(scale=0.5, size=(H, H))
    bh = rng.normal(scale=0.5, size=H)
    report = GradReport(tol=tol, source=against)
    for t in range(T):
        dH = np.zeros((N, T, H))
        dH[:, t] = rng.normal(size=(N, H))
        _, cache = rnn_forward(X, h0, Wxh, Whh, bh)
        got = backward(dH, cache)
        if against == "torch":
            ref = torch_rnn_grads(X, h0, Wxh, Whh, bh, dH)
        else:
            def states() -> np.ndarray:
                return rnn_forward(X, h0, Wxh, Whh, bh)[0]

            ref = {n: numeric_gradient(states, a, df=dH)
                   for n, a in zip(GRAD_NAMES, (X, h0, Wxh, Whh, bh))}
        for name, value in zip(GRAD_NAMES, got):
            expected = ref[name]
            value = np.asarray(value, dtype=np.float64)
            err = rel_error(value, expected) if value.shape == expected.shape else math.inf
            report.errors[(name, t)] = err
    return report


# --------------------------------------------------------------------------- fast training


def lm_loss_and_grads(
    params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, h0: np.ndarray,
    work: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Loss and gradients of a one-hot character RNN on ids ``X, Y`` (N, T), vectorised.

    The same computation as ``model_forward`` + ``softmax_cross_entropy`` +
    ``model_backward``, but the one-hot product ``x_t @ Wxh`` is a row lookup, the output
    layer and every weight gradient are single matrix products over all ``N*T`` steps, and
    the loops over time hold one ``(N, H) x (H, H)`` product each. ``work`` holds reusable
    buffers (pass the same dict every step). Returns ``(loss, grads, h_T)``.
    """
    Wxh, Whh, bh, Whq, bq = (params[k] for k in ("Wxh", "Whh", "bh", "Whq", "bq"))
    N, T = X.shape
    Hn, V = Whh.shape[0], Whq.shape[1]
    dt = Whh.dtype
    work = {} if work is None else work
    key = (N, T, Hn, V, dt.str)
    if work.get("key") != key:
        work.clear()
        work.update(key=key, Hs=np.empty((T + 1, N, Hn), dt), dA=np.empty((T, N, Hn), dt))
    Hs, dA = work["Hs"], work["dA"]
    Xt, Yt = X.T, Y.T  # time first: (T, N)
    # forward
    Hs[0] = h0
    A = Wxh[Xt]
    A += bh
    for t in range(T):
        np.matmul(Hs[t], Whh, out=dA[t])
        dA[t] += A[t]
        np.tanh(dA[t], out=Hs[t + 1])
    Hflat = Hs[1:].reshape(T * N, Hn)
    O = Hflat @ Whq
    O += bq
    O -= O.max(axis=1, keepdims=True)
    np.exp(O, out=O)
    O /= O.sum(axis=1, keepdims=True)
    rows = np.arange(T * N)
    y = Yt.reshape(-1)
    loss = float(-np.log(np.maximum(O[rows, y], 1e-30), dtype=np.float64).mean())
    O[rows, y] -= 1.0
    O *= 1.0 / (T * N)  # O is now dO
    # backward
    dWhq = Hflat.T @ O
    dbq = O.sum(axis=0)
    dHout = (O @ Whq.T).reshape(T, N, Hn)
    dh = np.zeros((N, Hn), dt)
    for t in reversed(range(T)):
        da = dA[t]
        np.add(dHout[t], dh, out=da)
        da *= 1.0 - Hs[t + 1] ** 2
        np.matmul(da, Whh.T, out=dh)
    dAflat = dA.reshape(T * N, Hn)
    dWhh = Hs[:-1].reshape(T * N, Hn).T @ dAflat
    dbh = dAflat.sum(axis=0)
    if Wxh.shape[0] <= 256:  # small vocabulary: one product with the one-hot inputs
        onehot = np.zeros((T * N, Wxh.shape[0]), dt)
        onehot[rows, Xt.reshape(-1)] = 1.0
        dWxh = onehot.T @ dAflat
    else:
        dWxh = np.zeros_like(Wxh)
        np.add.at(dWxh, Xt.reshape(-1), dAflat)
    grads = {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Whq": dWhq, "bq": dbq}
    return loss, grads, Hs[T].copy()


class NumpyTrainer:
    """Plain SGD with clipping by global norm for a one-hot character RNN in numpy.

    ``NumpyTrainer(V, H, rng)`` makes float32 parameters; ``step(X, Y)`` does forward, BPTT,
    clipping and the update on one batch ``(N, T)`` and carries the final state to the next
    call (truncated BPTT over consecutive batches); ``fit(ids, ...)`` loops over an id
    sequence with :func:`rnnkit.batching.seq_data_iter_sequential`.
    """

    def __init__(self, vocab_size: int, hidden_size: int, rng: np.random.Generator,
                 lr: float = 1.0, clip: float | None = 1.0, dtype: type = np.float32):
        V, Hn = vocab_size, hidden_size
        self.params = {  # N(0, 1/fan_in) weights, zero biases (lesson 03's init_params)
            "Wxh": rng.normal(0.0, 1.0 / np.sqrt(V), size=(V, Hn)).astype(dtype),
            "Whh": rng.normal(0.0, 1.0 / np.sqrt(Hn), size=(Hn, Hn)).astype(dtype),
            "bh": np.zeros(Hn, dtype),
            "Whq": rng.normal(0.0, 1.0 / np.sqrt(Hn), size=(Hn, V)).astype(dtype),
            "bq": np.zeros(V, dtype),
        }
        self.lr, self.clip, self.dtype = lr, clip, np.dtype(dtype)
        self.state: np.ndarray | None = None
        self.work: dict[str, np.ndarray] = {}
        self.losses: list[float] = []
        self.grad_norms: list[float] = []

    def reset(self) -> None:
        self.state = None

    def step(self, X: np.ndarray, Y: np.ndarray) -> float:
        N = X.shape[0]
        if self.state is None or self.state.shape[0] != N:
            self.state = np.zeros((N, self.params["Whh"].shape[0]), self.dtype)
        loss, grads, self.state = lm_loss_and_grads(self.params, X, Y, self.state, self.work)
        norm = global_norm(grads)
        scale = self.lr
        if self.clip is not None and norm > self.clip:
            scale *= self.clip / norm
        for k, g in grads.items():
            self.params[k] -= self.dtype.type(scale) * g
        self.losses.append(loss)
        self.grad_norms.append(norm)
        return loss

    def batches(self, ids: Sequence[int], batch_size: int, num_steps: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        from .batching import seq_data_iter_sequential

        return seq_data_iter_sequential(ids, batch_size, num_steps)

    def fit(self, ids: Sequence[int], batch_size: int = 32, num_steps: int = 35,
            epochs: int = 1, max_steps: int | None = None) -> list[float]:
        """Train on ``ids``; returns the loss (nats per token) of every step."""
        done = 0
        for _ in range(epochs):
            self.reset()
            for X, Y in self.batches(ids, batch_size, num_steps):
                if max_steps is not None and done >= max_steps:
                    return self.losses
                self.step(X, Y)
                done += 1
        return self.losses


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
    fig.update_layout(
        title=f"The RNN unrolled over T = {T} steps: each h_t gets gradient from L_t and h_(t+1)",
        xaxis={"title": "time step t", "range": [-0.5, T + 0.5], "dtick": 1, "zeroline": False},
        yaxis={"title": "layer", "range": [-0.5, 2.5], "tickvals": [0, 1, 2],
               "ticktext": ["input", "hidden state", "output and loss"], "zeroline": False},
        height=360, margin={"t": 50, "b": 40}, plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def gradient_reach_figure(reach: dict[str, np.ndarray],
                          title: str = "How far back the gradient of the last loss reaches"
                          ) -> go.Figure:
    """Bars of ``||dL_T / dx_t||`` for each input step t, one group per named backward pass
    (e.g. full BPTT and truncated windows). Zero bars are steps the gradient never reaches."""
    fig = go.Figure()
    for name, norms in reach.items():
        norms = np.asarray(norms, dtype=float)
        fig.add_bar(x=np.arange(1, len(norms) + 1), y=norms, name=name)
    fig.update_layout(
        title=title, barmode="group", height=360, margin={"t": 50, "b": 40},
        xaxis_title="input time step t (the loss is at the last step)",
        yaxis_title="gradient norm ||dL/dx_t|| (log scale)", yaxis_type="log",
    )
    return fig


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
    fig.update_layout(
        title="Clipping by global norm keeps the direction; element-wise clipping turns it",
        xaxis={"title": "gradient entry 1", "range": [-lim, lim], "zeroline": True},
        yaxis={"title": "gradient entry 2", "range": [-lim, lim], "scaleanchor": "x",
               "zeroline": True},
        height=420, margin={"t": 50, "b": 40},
    )
    return fig


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
    fig.update_layout(title=title, xaxis_title="training step (batch)",
                      yaxis_title="global gradient norm (log scale)", yaxis_type="log",
                      height=340, margin={"t": 50, "b": 40})
    return fig
