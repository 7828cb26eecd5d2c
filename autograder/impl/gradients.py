"""Lesson 05's exercises, once: activation derivatives, the Jacobian-norm chain, the decay
predictions, the slope of a linear RNN's log-norm, and clipping by global norm.

For ``h_t = phi(a_t)`` with ``a_t = h_{t-1} Whh + x_t Wxh + b_h`` (row vectors) one step back
multiplies the gradient by ``J_t = diag(phi'(a_t)) Whh^T`` and ``dh_T/dh_t = J_T ... J_{t+1}``,
whose spectral norm is at most ``(gamma sigma_1)^(T - t)``. Arrays: ``a`` (T, H) with ``a[s]``
the pre-activation that makes ``h[s + 1]`` from ``h[s]``.

Each function takes ``mistake``: ``None`` gives the right answer, a name from the matching
``*_MISTAKES`` tuple what a student who makes that classic mistake computes; the reference
(``autograder/reference/l05_vanishing_gradients.py``) builds its cases and sentences on them.
Clipping is lesson 04's :func:`autograder.impl.bptt.clip_by_global_norm` on a list.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.impl.bptt import clip_by_global_norm, global_norm
from rnnkit.gradients import ACTIVATIONS, activate, spectral_radius

LESSON = "05-vanishing-gradients"

DERIVATIVE_MISTAKES = ("tanh_itself", "tanh_no_square", "one_minus_a_squared",
                       "sigmoid_itself", "sigmoid_as_tanh", "relu_at_zero", "relu_itself")
JACOBIAN_MISTAKES = ("frobenius", "frobenius_all", "no_derivative", "no_transpose",
                     "left_multiply", "activation_not_derivative", "reversed")
DECAY_ORTHOGONAL_MISTAKES = ("one_step_short", "one_step_more", "times_not_power", "lost")
BOUND_SIGMOID_MISTAKES = ("no_gamma", "gamma_once", "no_sigma")
STEPS_TO_VANISH_MISTAKES = ("round_down", "no_log_divide", "sigmoid_gamma")
SLOPE_MISTAKES = ("log10", "sign", "rho_itself", "sigma_slope")
LAMBDA_MISTAKES = ("pow10", "sigma_1", "slope_itself")
CLIP_MISTAKES = ("per_entry", "per_array", "always_scale", "squared_norm", "norm_after")


def activation_derivative(a: np.ndarray, name: str, mistake: str | None = None) -> np.ndarray:
    """phi'(a) element-wise for ``name`` in ACTIVATIONS; ReLU'(0) is taken as 0."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}")
    a = np.asarray(a, dtype=np.float64)
    if name == "identity":
        return np.ones_like(a)
    if name == "tanh":
        if mistake == "tanh_itself":
            return np.tanh(a)
        if mistake == "tanh_no_square":
            return 1.0 - np.tanh(a)
        if mistake == "one_minus_a_squared":
            return 1.0 - a ** 2
        return 1.0 - np.tanh(a) ** 2
    if name == "sigmoid":
        s = activate(a, "sigmoid")
        if mistake == "sigmoid_itself":
            return s
        if mistake == "sigmoid_as_tanh":
            return 1.0 - s ** 2
        return s * (1.0 - s)
    if mistake == "relu_at_zero":
        return (a >= 0).astype(np.float64)
    if mistake == "relu_itself":
        return np.maximum(a, 0.0)
    return (a > 0).astype(np.float64)


def jacobian_norms(Whh: np.ndarray, a: np.ndarray, name: str,
                   mistake: str | None = None) -> np.ndarray:
    """||dh_T/dh_t||_2 for t = 0 .. T: shape (T + 1,), the last entry 1."""
    Whh = np.asarray(Whh, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    T, H = a.shape
    order = "fro" if mistake in ("frobenius", "frobenius_all") else 2
    G = np.eye(H)
    norms = np.empty(T + 1)
    norms[T] = np.linalg.norm(G, order) if mistake == "frobenius_all" else 1.0
    for t in range(T - 1, -1, -1):
        if mistake == "no_derivative":
            d = np.ones(H)
        elif mistake == "activation_not_derivative":
            d = activate(a[t], name)
        else:
            d = activation_derivative(a[t], name)
        J = d[:, None] * (Whh if mistake == "no_transpose" else Whh.T)
        G = J @ G if mistake == "left_multiply" else G @ J
        norms[t] = np.linalg.norm(G, order)
    return norms[::-1].copy() if mistake == "reversed" else norms


# ---------------------------------------------------------------- exercise 3: three numbers


def decay_orthogonal(sigma: float = 0.9, k: int = 20, mistake: str | None = None) -> float:
    """||dh_T/dh_{T-k}|| of a linear RNN with W_hh = sigma Q, Q orthogonal: sigma**k."""
    if mistake == "one_step_short":
        return sigma ** (k - 1)
    if mistake == "one_step_more":
        return sigma ** (k + 1)
    if mistake == "times_not_power":
        return sigma * k
    if mistake == "lost":
        return 1.0 - sigma ** k
    return sigma ** k


def bound_sigmoid(sigma_1: float = 2.0, k: int = 10, mistake: str | None = None) -> float:
    """The bound (gamma sigma_1)**k for a sigmoid RNN, gamma = 1/4."""
    gamma = 0.25
    if mistake == "no_gamma":  # the lecture's "sigma_1 > 1 explodes"
        return sigma_1 ** k
    if mistake == "gamma_once":
        return gamma * sigma_1 ** k
    if mistake == "no_sigma":
        return gamma ** k
    return (gamma * sigma_1) ** k


def steps_to_vanish(sigma_1: float = 0.9, eps: float = 1e-3, mistake: str | None = None) -> int:
    """The smallest k with (gamma sigma_1)**k < eps for a tanh RNN (gamma = 1)."""
    gamma = 0.25 if mistake == "sigmoid_gamma" else 1.0
    if mistake == "no_log_divide":
        return math.ceil(-math.log(eps))
    k = math.log(eps) / math.log(gamma * sigma_1)
    return math.floor(k) if mistake == "round_down" else math.ceil(k)


# ---------------------------------------------------------------- exercise 4: the slope


def slope(W: np.ndarray, mistake: str | None = None) -> float:
    """The long-run slope of ln ||W^k|| against k: ln rho(W)."""
    rho = spectral_radius(W)
    if mistake == "log10":
        return math.log10(rho)
    if mistake == "sign":
        return -math.log(rho)
    if mistake == "rho_itself":
        return rho
    if mistake == "sigma_slope":
        return math.log(float(np.linalg.norm(W, 2)))
    return math.log(rho)


def lambda_1(W: np.ndarray, mistake: str | None = None) -> float:
    """|lambda_1|, the spectral radius, read back from the slope: exp(slope)."""
    s = slope(W)
    if mistake == "pow10":
        return 10 ** s
    if mistake == "sigma_1":
        return float(np.linalg.norm(W, 2))
    if mistake == "slope_itself":
        return s
    return math.exp(s)


# ---------------------------------------------------------------- exercise 5: clipping


def clip_grads(grads: list[np.ndarray], max_norm: float,
               mistake: str | None = None) -> tuple[list[np.ndarray], float]:
    """(clipped copies, global norm before clipping): lesson 04's clip_by_global_norm on a list.

    Mistakes: ``per_entry`` np.clip of each entry; ``per_array`` each array clipped by its own
    norm; ``always_scale`` the factor max_norm / norm even when the norm is small;
    ``squared_norm`` returns the sum of squares; ``norm_after`` returns the norm after clipping.
    """
    grads = [np.asarray(g, dtype=np.float64) for g in grads]
    if mistake == "per_entry":
        return [np.clip(g, -max_norm, max_norm) for g in grads], global_norm(grads)
    if mistake == "per_array":
        return [clip_by_global_norm({"g": g}, max_norm)[0]["g"] for g in grads], global_norm(grads)
    if mistake == "always_scale":
        norm = global_norm(grads)
        return [g * (max_norm / norm) for g in grads], norm
    clipped, norm = clip_by_global_norm({str(i): g for i, g in enumerate(grads)}, max_norm)
    out = [clipped[str(i)] for i in range(len(grads))]
    if mistake == "squared_norm":
        return out, norm ** 2
    if mistake == "norm_after":
        return out, global_norm(out)
    return out, norm
