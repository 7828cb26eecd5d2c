"""Tools for lesson 05: activations, weight initialisations (with their eigenvalue moduli), a
driven RNN, bounds and powers.

Lesson 05's exercises (the activation derivatives and the chain of Jacobian norms) are not
here: they are answered by the students (and by the instructor's implementation, which
students do not receive). The explorer (:mod:`rnnkit.explorer`) gets its Jacobian
norms from torch autograd instead.

For ``h_t = phi(a_t)`` with ``a_t = h_{t-1} Whh + x_t Wxh + b_h`` (row vectors, as in the
rest of rnnkit) one step back in time multiplies the gradient by the step Jacobian

    dh_t / dh_{t-1} = diag(phi'(a_t)) Whh^T                         (H, H)

and going from step T back to step t multiplies ``T - t`` of them:

    dh_T / dh_t = J_T J_{T-1} ... J_{t+1}.

Its spectral norm is at most ``(gamma * sigma_1)^(T - t)``, where ``sigma_1`` is the largest
singular value of ``Whh`` and ``gamma`` the largest value the activation's derivative takes
(1 for identity, tanh and ReLU, 1/4 for the sigmoid). The bound uses singular values, not
eigenvalues: a non-normal ``Whh`` with spectral radius below 1 can still make the norm grow for
a while before it decays.

Arrays: pre-activations ``a`` have shape (T, H) with ``a[s]`` the pre-activation that makes
``h[s + 1]`` from ``h[s]``; hidden states ``hs`` have shape (T + 1, H) with ``hs[0] = h_0``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "DERIVATIVE_BOUND",
    "INITS",
    "activate",
    "decay_bound",
    "largest_singular_value",
    "make_whh",
    "make_whh_with_moduli",
    "power_norms",
    "run_driven_rnn",
    "spectral_radius",
]

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")
DERIVATIVE_BOUND = {"identity": 1.0, "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}
INITS = ("orthogonal", "gaussian", "identity", "non-normal")


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {name!r}.")


def activate(a: np.ndarray, name: str) -> np.ndarray:
    """phi(a) for the named activation, element-wise; any shape."""
    _check_activation(name)
    a = np.asarray(a, dtype=np.float64)
    if name == "identity":
        return a.copy()
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * a))  # overflow-free form of 1 / (1 + exp(-a))
    return np.maximum(a, 0.0)










def largest_singular_value(W: np.ndarray) -> float:
    """sigma_1(W), the spectral norm: how much W can stretch a vector."""
    return float(np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)[0])


def spectral_radius(W: np.ndarray) -> float:
    """max |lambda_i(W)|: the growth rate of ||W^k|| for large k. Never above sigma_1(W).

    From ``np.linalg.eigvals``, which is reliable for normal and mildly non-normal matrices.
    The eigenvalues of a strongly non-normal matrix are not: a perturbation of size eps moves
    those of an H x H Jordan block (ones above the diagonal) by about eps^(1/H), so rounding
    alone (eps near 1e-16) moves them by about 0.46 at H = 48 (see
    :func:`make_whh_with_moduli`)."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=np.float64)))))


def decay_bound(Whh: np.ndarray, T: int, name: str) -> np.ndarray:
    """The bound (gamma * sigma_1(Whh))^(T - t) on ||dh_T / dh_t||_2 for t = 0 .. T: (T + 1,)."""
    _check_activation(name)
    rate = DERIVATIVE_BOUND[name] * largest_singular_value(Whh)
    return rate ** (T - np.arange(T + 1, dtype=np.float64))


def power_norms(W: np.ndarray, K: int) -> np.ndarray:
    """||W^k||_2 for k = 0 .. K (the linear RNN's gradient norms at distance k): (K + 1,)."""
    W = np.asarray(W, dtype=np.float64)
    P = np.empty((K + 1,) + W.shape)
    P[0] = np.eye(W.shape[0])
    for k in range(1, K + 1):
        P[k] = P[k - 1] @ W
    return np.linalg.svd(P, compute_uv=False)[:, 0]


def make_whh(H: int, sigma_1: float, init: str, rng: np.random.Generator) -> np.ndarray:
    """A recurrent weight matrix (H, H) whose largest singular value is ``sigma_1``.

    ``init``:
      * ``"orthogonal"`` — sigma_1 times a random orthogonal matrix: every singular value and
        every |eigenvalue| equals sigma_1 (spectral radius = sigma_1).
      * ``"gaussian"`` — i.i.d. normal entries, rescaled; its spectral radius is about half of
        sigma_1.
      * ``"identity"`` — sigma_1 * I (the identity-scaled initialisation used with ReLU).
      * ``"non-normal"`` — Q (0.6 I + S) Q^T with S the shift matrix (ones just above the
        diagonal), rescaled: all eigenvalues equal, spectral radius far below sigma_1, so
        gradients can grow for a while and decay later.
    """
    return _build_whh(H, sigma_1, init, rng)[0]


def make_whh_with_moduli(H: int, sigma_1: float, init: str,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """:func:`make_whh`'s matrix (H, H) and its eigenvalue moduli (H,), in descending order.

    Where the construction fixes the eigenvalues they are read off it: sigma_1 for
    ``"orthogonal"`` and ``"identity"``, and for ``"non-normal"`` the diagonal of the
    triangular factor, 0.6 times the rescaling, for all H. ``np.linalg.eigvals`` cannot give
    those of the non-normal matrix: it is a similarity transform of one Jordan-like block,
    whose eigenvalues rounding to float64 scatters by about (1e-16)^(1/H) of its off-diagonal
    (at H = 48, seed 0, it returns moduli from 0.08 to 0.66 sigma_1 instead of 0.375 sigma_1
    for all). Its powers are not sensitive in that way: over 150 steps ||W^k|| follows the
    construction to 1e-3, so the construction's spectral radius is the one the gradients see. Only the
    Gaussian matrix, whose eigenvalues are well conditioned, goes through ``eigvals``.
    """
    W, moduli = _build_whh(H, sigma_1, init, rng)
    if moduli is None:
        moduli = np.abs(np.linalg.eigvals(W))
    return W, np.sort(moduli)[::-1]


def _build_whh(H: int, sigma_1: float, init: str,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """The matrix of :func:`make_whh`, and its eigenvalue moduli where the construction fixes
    them (None for the Gaussian matrix)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, not {init!r}.")
    sigma_1 = float(sigma_1)
    if init == "identity":
        return sigma_1 * np.eye(H), np.full(H, abs(sigma_1))
    if init == "gaussian":
        W = rng.standard_normal((H, H))
        return W * (sigma_1 / largest_singular_value(W)), None
    Q, R = np.linalg.qr(rng.standard_normal((H, H)))
    Q = Q * np.sign(np.diag(R))[None, :]  # uniformly distributed orthogonal matrix
    if init == "orthogonal":
        return sigma_1 * Q, np.full(H, abs(sigma_1))
    B = 0.6 * np.eye(H) + np.eye(H, k=1)  # upper triangular: its eigenvalues are its diagonal
    W = Q @ B @ Q.T
    scale = sigma_1 / largest_singular_value(W)
    return W * scale, np.abs(np.diag(B) * scale)


def run_driven_rnn(
    Whh: np.ndarray,
    T: int,
    name: str,
    input_scale: float,
    rng: np.random.Generator,
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run h_t = phi(h_{t-1} Whh + u_t) for T steps with random input drive u_t.

    u_t ~ N(0, input_scale^2) stands for x_t Wxh + b_h. Returns the pre-activations a (T, H)
    and the hidden states hs (T + 1, H), hs[0] = h0 (zeros by default).
    """
    Whh = np.asarray(Whh, dtype=np.float64)
    H = Whh.shape[0]
    u = float(input_scale) * rng.standard_normal((T, H))
    a = np.empty((T, H))
    hs = np.empty((T + 1, H))
    hs[0] = np.zeros(H) if h0 is None else h0
    for t in range(T):
        a[t] = hs[t] @ Whh + u[t]
        hs[t + 1] = activate(a[t], name)
    return a, hs
