"""A vanilla RNN in numpy: the forward half (cell, sequence, output layer, softmax, sampling).

Row-vector convention with a batch of ``N`` rows, as in the course::

    h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh + bh)      x_t (N, D), h_t (N, H)
    o_t = h_t @ Whq + bq                            o_t (N, Q)

Shapes: ``Wxh (D, H)``, ``Whh (H, H)``, ``bh (H,)`` or ``(1, H)``, ``Whq (H, Q)``, ``bq (Q,)``
or ``(1, Q)``. Sequences are stored **batch first**: ``X (N, T, D)``, ``H (N, T, H)``,
``O (N, T, Q)``; ``H[:, t]`` is the state *after* reading ``X[:, t]`` (so ``h_0`` is not in
``H``).

Every forward function returns ``(out, cache)`` in the CS231n style; the cache holds exactly
what the backward pass (``rnnkit.bptt``) needs. Cache formats (stable):

* ``rnn_step_forward``  -> ``(x, h_prev, Wxh, Whh, h_next)``
* ``rnn_forward``       -> ``list`` of ``T`` step caches, in time order
* ``output_forward``    -> ``(H, Whq)`` (``H`` of shape (N, H) or (N, T, H))
* ``model_forward``     -> ``(rnn_cache, out_cache)``

Parameters of a whole model are a dict with keys ``Wxh, Whh, bh, Whq, bq`` (see
:func:`init_params`). Inputs of the character models are one-hot vectors, so ``D = Q = V``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "PARAM_NAMES",
    "count_params",
    "hidden_state_figure",
    "init_params",
    "model_forward",
    "num_params",
    "output_forward",
    "rnn_forward",
    "rnn_step_forward",
    "sample",
    "softmax",
    "temperature_figure",
]

PARAM_NAMES: tuple[str, ...] = ("Wxh", "Whh", "bh", "Whq", "bq")

StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rnn_step_forward(
    x: np.ndarray, h_prev: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray, bh: np.ndarray
) -> tuple[np.ndarray, StepCache]:
    """One step of the cell: ``h_next = tanh(x @ Wxh + h_prev @ Whh + bh)``.

    Args:
        x: inputs at this step, (N, D).
        h_prev: previous hidden state, (N, H).
        Wxh: input-to-hidden weights, (D, H).
        Whh: hidden-to-hidden weights, (H, H).
        bh: hidden bias, (H,) or (1, H); broadcast over the N rows.

    Returns:
        ``h_next`` (N, H) and the cache ``(x, h_prev, Wxh, Whh, h_next)``.
    """
    h_next = np.tanh(x @ Wxh + h_prev @ Whh + bh)
    return h_next, (x, h_prev, Wxh, Whh, h_next)


def rnn_forward(
    X: np.ndarray, h0: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray, bh: np.ndarray
) -> tuple[np.ndarray, list[StepCache]]:
    """Run the cell over a sequence, carrying the state from step to step.

    Args:
        X: inputs, batch first, (N, T, D).
        h0: initial hidden state, (N, H).
        Wxh, Whh, bh: as in :func:`rnn_step_forward` — the same weights at every step.

    Returns:
        ``H`` (N, T, H) with ``H[:, t] = h_{t+1}``, the state after reading ``X[:, t]``, and
        the cache: the list of the ``T`` step caches.
    """
    N, T, _ = X.shape
    H = np.zeros((N, T, Wxh.shape[1]), dtype=np.result_type(X, h0, Wxh, Whh, bh, np.float64))
    h, cache = h0, []
    for t in range(T):
        h, step_cache = rnn_step_forward(X[:, t], h, Wxh, Whh, bh)
        H[:, t] = h
        cache.append(step_cache)
    return H, cache


def output_forward(
    H: np.ndarray, Whq: np.ndarray, bq: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The output layer ``O = H @ Whq + bq`` (logits, before the softmax).

    Args:
        H: hidden states, (N, H) for one step or (N, T, H) for a sequence.
        Whq: hidden-to-output weights, (H, Q).
        bq: output bias, (Q,) or (1, Q).

    Returns:
        ``O`` of shape (N, Q) or (N, T, Q), and the cache ``(H, Whq)``.
    """
    return H @ Whq + np.reshape(bq, (-1,)), (H, Whq)


def model_forward(
    params: dict[str, np.ndarray], X: np.ndarray, h0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[list[StepCache], tuple[np.ndarray, np.ndarray]]]:
    """Cell over the sequence, then the output layer at every step.

    Args:
        params: dict with ``Wxh, Whh, bh, Whq, bq``.
        X: inputs (N, T, D); h0: initial state (N, H).

    Returns:
        logits ``O`` (N, T, Q), hidden states ``H`` (N, T, H), cache ``(rnn_cache, out_cache)``.
    """
    H, rnn_cache = rnn_forward(X, h0, params["Wxh"], params["Whh"], params["bh"])
    O, out_cache = output_forward(H, params["Whq"], params["bq"])
    return O, H, (rnn_cache, out_cache)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (the class axis, last by default).

    Subtracting the maximum of each row leaves the result unchanged (the factor
    ``exp(-max)`` cancels) but keeps every exponent at most 0, so ``exp`` cannot overflow.
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def init_params(
    d: int, h: int, q: int, rng: np.random.Generator, scale: float | None = None
) -> dict[str, np.ndarray]:
    """Random weights and zero biases for a model with D = d inputs, H = h units, Q = q outputs.

    Weights are drawn from N(0, scale²); by default ``scale = 1 / sqrt(fan_in)`` (``1/sqrt(d)``
    for ``Wxh``, ``1/sqrt(h)`` for ``Whh`` and ``Whq``). Biases have shape (h,) and (q,).
    """
    def weight(fan_in: int, fan_out: int) -> np.ndarray:
        s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
        return rng.normal(0.0, s, size=(fan_in, fan_out))

    return {
        "Wxh": weight(d, h),
        "Whh": weight(h, h),
        "bh": np.zeros(h),
        "Whq": weight(h, q),
        "bq": np.zeros(q),
    }


def num_params(d: int, h: int, q: int) -> int:
    """Number of parameters ``d·h + h·h + h + h·q + q`` — independent of the sequence length."""
    return d * h + h * h + h + h * q + q


def count_params(params: dict[str, np.ndarray]) -> int:
    """Total number of entries in a parameter dict."""
    return int(sum(np.size(v) for v in params.values()))


def sample(
    params: dict[str, np.ndarray],
    prefix: Sequence[int],
    n: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    h0: np.ndarray | None = None,
) -> list[int]:
    """Generate ``n`` token ids after ``prefix``, feeding each sampled token back as input.

    The prefix is read first (the *warm-up*); then each step draws the next id from
    ``softmax(o_t / temperature)`` and uses its one-hot vector as the next input.
    ``temperature < 1`` sharpens the distribution, ``> 1`` flattens it, and ``0`` means
    greedy decoding (always the most likely id).

    Args:
        params: dict with ``Wxh (V, H), Whh, bh, Whq (H, V), bq``; inputs are one-hot.
        prefix: at least one token id.
        n: how many ids to generate.
        rng: the random generator used for every draw.
        temperature: >= 0.
        h0: initial state (1, H); zeros by default.

    Returns:
        The ``n`` generated ids (the prefix is not included).
    """
    if len(prefix) == 0:
        raise ValueError("sample needs a prefix of at least one token id.")
    if temperature < 0:
        raise ValueError("temperature must be at least 0.")
    Wxh, Whh, bh, Whq, bq = (params[k] for k in PARAM_NAMES)
    V = Wxh.shape[0]
    h = np.zeros((1, Whh.shape[0])) if h0 is None else np.asarray(h0, dtype=np.float64)
    eye = np.eye(V)

    def step(token: int, h: np.ndarray) -> np.ndarray:
        return rnn_step_forward(eye[[token]], h, Wxh, Whh, bh)[0]

    for token in prefix:
        h = step(int(token), h)
    out: list[int] = []
    for _ in range(n):
        o = output_forward(h, Whq, bq)[0][0]
        if temperature == 0:
            token = int(np.argmax(o))
        else:
            token = int(rng.choice(len(o), p=softmax(o / temperature)))
        out.append(token)
        h = step(token, h)
    return out


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
    fig.update_layout(
        title=title, height=min(520, max(260, 140 + 14 * n_units)), margin={"t": 50, "b": 50},
        xaxis_title="time step t (after reading token t)", yaxis_title="hidden unit (index)",
    )
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
        fig.add_trace(go.Bar(x=names, y=softmax(logits / tau), name=f"τ = {tau:g}"))
    fig.update_layout(
        title=title, barmode="group", height=360, margin={"t": 50, "b": 40},
        xaxis_title="next token", yaxis_title="probability", yaxis_range=[0, 1],
    )
    return fig
