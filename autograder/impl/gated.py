"""Gated cells in numpy: the LSTM and GRU step, forward and backward, and a numeric gradient.

Row vectors, batch first, as in lessons 03-05: ``x (N, D)``, ``h (N, H)``, ``c (N, H)``.
The gates of one step are computed by one product each for the input and the state, with
their columns stacked in blocks of ``H``:

* LSTM, gate order **i, f, g, o** (torch's order): ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``;
  ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c = f * c_prev + i * g``, ``h = o * tanh(c)``.
* GRU, gate order **r, z, n** (torch's order), reset applied to the state *before* its product
  (d2l's and Cho et al.'s form): ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)``;
  ``r, z = sigmoid(.)``, ``n = tanh(x Wx_n + (r * h_prev) Wh_n + b_n)``,
  ``h = z * h_prev + (1 - z) * n`` (``z`` keeps the old state).

Each function takes ``mistake``: ``None`` gives the right answer, a name from ``*_MISTAKES``
gives what a student who makes that classic mistake computes (the reference builds its
visible cases and its sentences on these).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LESSON = "08-gated-cells"

LSTM_FORWARD_MISTAKES = ("no_sigmoid", "forget_h", "squash_twice", "no_tanh_c", "output_inside",
                         "cs231n_order", "candidate_sigmoid", "no_bias", "forget_swapped")
LSTM_BACKWARD_MISTAKES = ("no_dc_from_h", "dc_prev_no_f", "upstream_dc_ignored",
                          "sigmoid_prime_as_tanh", "tanh_prime_of_c")
GRU_FORWARD_MISTAKES = ("update_swapped", "reset_after", "no_reset", "no_sigmoid",
                        "candidate_sigmoid", "no_bias")
GRU_BACKWARD_MISTAKES = ("no_direct_path", "update_swapped", "no_reset_path",
                         "sigmoid_prime_as_tanh", "dWh_n_without_reset")
NUMERIC_MISTAKES = ("one_sided", "no_half", "sign", "only_first_output")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function, computed without overflow as (1 + tanh(a / 2)) / 2."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a, dtype=np.float64)))


def _blocks(a: np.ndarray, k: int) -> list[np.ndarray]:
    H = a.shape[-1] // k
    return [a[..., j * H:(j + 1) * H] for j in range(k)]


# ---------------------------------------------------------------------------- LSTM


def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, Wx: np.ndarray,
                      Wh: np.ndarray, b: np.ndarray, mistake: str | None = None):
    """One LSTM step for a batch.

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) with the gate
    blocks in the order i, f, g, o. Returns (h (N, H), c (N, H), cache).
    """
    bias = 0.0 if mistake == "no_bias" else np.reshape(b, (1, -1))
    a = x @ Wx + h_prev @ Wh + bias
    ai, af, ag, ao = _blocks(a, 4)
    if mistake == "cs231n_order":  # reads the blocks as i, f, o, g
        ag, ao = ao, ag
    if mistake == "forget_swapped":  # reads the blocks as f, i, g, o
        ai, af = af, ai
    gate = (lambda v: v) if mistake == "no_sigmoid" else sigmoid
    i, f, o = gate(ai), gate(af), gate(ao)
    g = sigmoid(ag) if mistake == "candidate_sigmoid" else np.tanh(ag)
    c = f * (h_prev if mistake == "forget_h" else c_prev) + i * g
    if mistake == "squash_twice":
        c = np.tanh(c)
    tc = np.tanh(c)
    h = o * (c if mistake == "no_tanh_c" else tc)
    if mistake == "output_inside":
        h = np.tanh(o * c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, c, tc)


def lstm_step_backward(dh: np.ndarray, dc: np.ndarray, cache: tuple,
                       mistake: str | None = None):
    """Backward pass of :func:`lstm_step_forward` (its own cache).

    dh (N, H), dc (N, H): gradients reaching this step's h and c from later. Returns
    (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, c, tc = cache
    do = dh * tc
    through_h = dh * o * ((1.0 - c ** 2) if mistake == "tanh_prime_of_c" else (1.0 - tc ** 2))
    if mistake == "no_dc_from_h":
        dc_total = dc
    elif mistake == "upstream_dc_ignored":
        dc_total = through_h
    else:
        dc_total = dc + through_h
    di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i
    dc_prev = dc_total if mistake == "dc_prev_no_f" else dc_total * f

    def dsig(s):
        return 1.0 - s ** 2 if mistake == "sigmoid_prime_as_tanh" else s * (1.0 - s)

    da = np.concatenate([di * dsig(i), df * dsig(f), dg * (1.0 - g ** 2), do * dsig(o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# ---------------------------------------------------------------------------- GRU


def gru_step_forward(x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                     b: np.ndarray, mistake: str | None = None):
    """One GRU step for a batch.

    x (N, D), h_prev (N, H), Wx (D, 3H), Wh (H, 3H), b (3H,) with the blocks in the order
    r, z, n. Returns (h (N, H), cache).
    """
    bias = 0.0 if mistake == "no_bias" else np.reshape(b, (1, -1))
    xr, xz, xn = _blocks(x @ Wx + bias, 3)
    Whr, Whz, Whn = _blocks(Wh, 3)
    gate = (lambda v: v) if mistake == "no_sigmoid" else sigmoid
    r = gate(xr + h_prev @ Whr)
    z = gate(xz + h_prev @ Whz)
    if mistake == "reset_after":
        an = xn + r * (h_prev @ Whn)
    elif mistake == "no_reset":
        an = xn + h_prev @ Whn
    else:
        an = xn + (r * h_prev) @ Whn
    n = sigmoid(an) if mistake == "candidate_sigmoid" else np.tanh(an)
    h = (1.0 - z) * h_prev + z * n if mistake == "update_swapped" else z * h_prev + (1.0 - z) * n
    return h, (x, h_prev, Wx, Wh, r, z, n)


def gru_step_backward(dh: np.ndarray, cache: tuple, mistake: str | None = None):
    """Backward pass of :func:`gru_step_forward` (its own cache).

    dh (N, H). Returns (dx (N, D), dh_prev (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,)).
    """
    x, h_prev, Wx, Wh, r, z, n = cache
    Whr, Whz, Whn = _blocks(Wh, 3)
    dz = dh * ((n - h_prev) if mistake == "update_swapped" else (h_prev - n))
    dn = dh * (1.0 - z)
    dh_prev = np.zeros_like(h_prev) if mistake == "no_direct_path" else dh * z
    dan = dn * (1.0 - n ** 2)
    drh = dan @ Whn.T  # gradient reaching r * h_prev
    dr = drh * h_prev
    if mistake != "no_reset_path":
        dh_prev = dh_prev + drh * r

    def dsig(s):
        return 1.0 - s ** 2 if mistake == "sigmoid_prime_as_tanh" else s * (1.0 - s)

    dar, daz = dr * dsig(r), dz * dsig(z)
    da = np.concatenate([dar, daz, dan], axis=1)
    drz = np.concatenate([dar, daz], axis=1)
    dh_prev = dh_prev + drz @ np.concatenate([Whr, Whz], axis=1).T
    dWhn = (h_prev if mistake == "dWh_n_without_reset" else r * h_prev).T @ dan
    dWh = np.concatenate([h_prev.T @ drz, dWhn], axis=1)
    return da @ Wx.T, dh_prev, x.T @ da, dWh, da.sum(axis=0)


# ---------------------------------------------------------------------------- gradient check


def numeric_step_grad(step: Callable[..., tuple], args, k: int, douts, eps: float = 1e-5,
                      mistake: str | None = None) -> np.ndarray:
    """Centred-difference gradient of L = sum_j sum(step(*args)[j] * douts[j]) w.r.t. args[k].

    ``step`` returns a tuple whose first ``len(douts)`` entries are arrays shaped like
    ``douts`` (an LSTM step's (h, c, cache) with douts = (dh, dc)). Returns an array shaped
    like ``args[k]``; the caller's arrays are not changed.
    """
    args = list(args)
    x = np.array(args[k], dtype=np.float64)
    args[k] = x
    used = douts[:1] if mistake == "only_first_output" else douts

    def loss() -> float:
        outs = step(*args)
        return float(sum(np.sum(o * d) for o, d in zip(outs, used)))

    grad = np.zeros_like(x)
    base = loss() if mistake == "one_sided" else None
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = loss()
        if mistake == "one_sided":
            x[idx] = old
            grad[idx] = (plus - base) / eps
            continue
        x[idx] = old - eps
        minus = loss()
        x[idx] = old
        step_size = eps if mistake == "no_half" else 2.0 * eps
        grad[idx] = ((minus - plus) if mistake == "sign" else (plus - minus)) / step_size
    return grad


# ---------------------------------------------------------------------------- sizes


def n_params(kind: str, d: int, h: int) -> int:
    """Parameters of one cell (no output layer) with one bias per gate: 1, 4 or 3 blocks."""
    blocks = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    return blocks * (d * h + h * h + h)
