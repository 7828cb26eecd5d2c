"""Lesson 04: backpropagation through time, truncation, clipping and the loss, in numpy.

The one implementation of the lesson's exercises (and of the backward pieces the lesson
uses without asking for them). Row vectors, batch first, as in lesson 03: ``x (N, D)``,
``h (N, H)``, ``X (N, T, D)``, ``H (N, T, H)``; a step cache is ``(x, h_prev, Wxh, Whh,
h_next)`` and a sequence cache the list of step caches (lesson 03's ``rnn_forward``). With
``a_t = x_t Wxh + h_{t-1} Whh + bh`` and ``h_t = tanh(a_t)`` one step backward is::

    da_t = dh_t * (1 - h_t**2);  dx_t = da_t Wxhᵀ;  dh_{t-1} = da_t Whhᵀ
    dWxh += x_tᵀ da_t;  dWhh += h_{t-1}ᵀ da_t;  dbh += da_t summed over the batch

Every function takes ``mistake``: ``None`` gives the right answer, a name from the
``*_MISTAKES`` tuples gives what a student who makes that classic mistake computes. Full,
truncated and every wrong BPTT come from one loop, :func:`bptt`.

Where the rest of the old ``rnnkit.bptt`` went (decided here, once):

* the answers (``rnn_step_backward``, ``rnn_backward``, ``rnn_backward_truncated``,
  ``output_backward``, ``softmax_cross_entropy``, ``model_backward``, ``global_norm``,
  ``clip_by_global_norm``, ``numeric_grad``, ``lm_loss``) and the fast vectorised
  ``lm_loss_and_grads`` with its ``NumpyTrainer`` live here. ``NumpyTrainer`` is an answer
  put together (forward, BPTT, clipping), so it stays on the instructor's side: the training
  benchmark imports it from here, and the lesson's own numpy training cell puts the
  student's functions together instead;
* ``rnnkit.bptt`` keeps the tools only: the figures, ``torch_rnn_grads`` (the same gradients
  by torch autograd: a torch equivalent, not the numpy exercise), ``GradReport`` and
  ``gradcheck_rnn_backward``, which now takes the forward pass and the finite-difference
  function as arguments (the notebook passes lesson 03's hand-out ``rnn_forward`` and the
  student's own ``numeric_grad``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from autograder.impl.rnn_numpy import init_params

LESSON = "04-bptt"

GRAD_NAMES: tuple[str, ...] = ("dX", "dh0", "dWxh", "dWhh", "dbh")
STEP_NAMES: tuple[str, ...] = ("dx", "dh_prev", "dWxh", "dWhh", "dbh")

CE_LOSS_MISTAKES = ("mean_over_N", "mean_over_T", "sum", "bits", "mean_over_vocab")
CE_GRAD_MISTAKES = ("no_onehot", "not_averaged", "grad_over_N", "sign")
# the tanh' mistakes first: they change every output of the step
TANH_MISTAKES = ("tanh_prime_no_square", "tanh_prime_prev", "tanh_twice", "no_tanh_prime",
                 "sigmoid_prime")
STEP_MISTAKES = TANH_MISTAKES + ("dh_prev_no_T", "dWhh_next", "dWhh_transposed",
                                 "dWxh_transposed", "dbh_zero", "dbh_mean", "dbh_first_row")
LOOP_MISTAKES = ("no_dh_next", "not_summed", "forward_order", "dh0_zero")
TRUNCATION_MISTAKES = ("windows_from_end", "cut_off_by_one", "not_truncated")
CLIP_MISTAKES = ("by_value", "per_tensor", "always_rescale", "no_sqrt", "max_param_norm")
NUMERIC_MISTAKES = ("no_half", "not_restored", "one_sided")
LM_LOSS_MISTAKES = ("sum", "last_step", "not_detached", "state_ignored")


# ---------------------------------------------------------------------------- cross-entropy


def _log_softmax(O: np.ndarray) -> np.ndarray:
    Z = O - O.max(axis=-1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(O: np.ndarray, Y: np.ndarray, mistake: str | None = None
                          ) -> tuple[float, np.ndarray]:
    """Cross-entropy over time: the mean over all ``N*T`` predictions of ``-log p(y_t)``.

    O: logits (N, T, V); Y: target ids (N, T). Returns ``loss`` in nats per token and
    ``dO`` (N, T, V) = ``(softmax(O) - onehot(Y)) / (N*T)``.
    """
    logp = _log_softmax(O)
    onehot = np.eye(O.shape[-1])[Y]
    N, T = Y.shape[0], int(np.prod(Y.shape[1:], dtype=int))
    nll = float(-(logp * onehot).sum())
    n = {"mean_over_N": N, "mean_over_T": T, "sum": 1}.get(mistake, N * T)
    loss = nll / n
    if mistake == "bits":
        loss /= math.log(2)
    if mistake == "mean_over_vocab":
        loss = float(np.mean(-logp.mean(axis=-1)))
    p = np.exp(logp)
    if mistake == "no_onehot":
        dO = p / (N * T)
    elif mistake == "not_averaged":
        dO = p - onehot
    elif mistake == "grad_over_N":
        dO = (p - onehot) / N
    elif mistake == "sign":
        dO = (onehot - p) / (N * T)
    else:
        dO = (p - onehot) / (N * T)
    return float(loss), dO


# ---------------------------------------------------------------------------- step backward


def rnn_step_backward(dh_next: np.ndarray, cache: tuple, mistake: str | None = None
                      ) -> tuple[np.ndarray, ...]:
    """Backward of one cell step.

    dh_next: total gradient reaching ``h_next`` (N, H); cache ``(x, h_prev, Wxh, Whh,
    h_next)``. Returns ``dx (N, D), dh_prev (N, H), dWxh (D, H), dWhh (H, H), dbh (H,)``.
    """
    x, h_prev, Wxh, Whh, h_next = cache
    tanh_prime = {
        "tanh_prime_no_square": lambda: 1.0 - h_next,       # 1 - tanh(a), or 1 - h
        "tanh_prime_prev": lambda: 1.0 - h_prev**2,
        "tanh_twice": lambda: 1.0 - np.tanh(h_next) ** 2,
        "no_tanh_prime": lambda: 1.0,
        "sigmoid_prime": lambda: h_next * (1.0 - h_next),
    }.get(mistake, lambda: 1.0 - h_next**2)()
    da = dh_next * tanh_prime
    dx = da @ Wxh.T
    dh_prev = da @ (Whh if mistake == "dh_prev_no_T" else Whh.T)
    dWxh = da.T @ x if mistake == "dWxh_transposed" else x.T @ da
    if mistake == "dWhh_next":
        dWhh = h_next.T @ da
    elif mistake == "dWhh_transposed":
        dWhh = da.T @ h_prev
    else:
        dWhh = h_prev.T @ da
    dbh = {"dbh_zero": lambda: np.zeros(da.shape[1]), "dbh_mean": lambda: da.mean(axis=0),
           "dbh_first_row": lambda: np.array(da[0])}.get(mistake, lambda: da.sum(axis=0))()
    return dx, dh_prev, dWxh, dWhh, dbh


# ---------------------------------------------------------------------------- BPTT


def bptt(dH: np.ndarray, cache: Sequence[tuple], k: int | None = None,
         mistake: str | None = None) -> tuple[np.ndarray, ...]:
    """The one BPTT loop: full (``k=None`` or ``k >= T``) or truncated into windows
    ``[0, k), [k, 2k), ...`` (no gradient from step ``t`` into ``t - 1`` when ``t`` is a
    positive multiple of ``k``).

    dH: gradient reaching each state from its own output (N, T, H), *without* the path from
    step t+1; cache: lesson 03's list of step caches. Returns ``dX (N, T, D), dh0 (N, H),
    dWxh (D, H), dWhh (H, H), dbh (H,)``. ``mistake`` is a loop or truncation mistake, or a
    step mistake (the loop right, the step wrong).
    """
    N, T, Hn = dH.shape
    x0, _, Wxh, Whh, _ = cache[0]
    dt = np.result_type(dH, x0, np.float64)
    dX = np.zeros((N, T, Wxh.shape[0]), dtype=dt)
    dWxh, dWhh = np.zeros(Wxh.shape, dtype=dt), np.zeros(Whh.shape, dtype=dt)
    dbh = np.zeros(Hn, dtype=dt)
    dh_next = np.zeros((N, Hn), dtype=dt)
    step_mistake = mistake if mistake in STEP_MISTAKES else None
    if mistake == "not_truncated":
        k = None

    def cut(t: int) -> bool:
        if k is None or t == 0:
            return False
        if mistake == "windows_from_end":
            return (T - t) % k == 0
        if mistake == "cut_off_by_one":
            return (t + 1) % k == 0
        return t % k == 0

    order = range(T) if mistake == "forward_order" else reversed(range(T))
    for t in order:
        upstream = dH[:, t] if mistake == "no_dh_next" else dH[:, t] + dh_next
        dx, dh_prev, dWxh_t, dWhh_t, dbh_t = rnn_step_backward(upstream, cache[t], step_mistake)
        dX[:, t] = dx
        if mistake == "not_summed":
            dWxh, dWhh, dbh = dWxh_t, dWhh_t, dbh_t
        else:
            dWxh, dWhh, dbh = dWxh + dWxh_t, dWhh + dWhh_t, dbh + dbh_t
        dh_next = np.zeros_like(dh_prev) if cut(t) else dh_prev
    if mistake == "dh0_zero":
        dh_next = np.zeros_like(dh_next)
    return dX, dh_next, dWxh, dWhh, dbh


def rnn_backward(dH: np.ndarray, cache: Sequence[tuple], mistake: str | None = None
                 ) -> tuple[np.ndarray, ...]:
    """Full BPTT over a whole sequence: :func:`bptt` with no truncation."""
    return bptt(dH, cache, None, mistake)


def rnn_backward_truncated(dH: np.ndarray, cache: Sequence[tuple], k: int | None,
                           mistake: str | None = None) -> tuple[np.ndarray, ...]:
    """BPTT in windows of ``k`` steps counted from step 0: :func:`bptt` with ``k``."""
    return bptt(dH, cache, k, mistake)


# ---------------------------------------------------------------------------- output layer


def output_backward(dO: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of ``O = H @ Whq + bq``: dO (N, T, Q) or (N, Q), cache ``(H, Whq)``.
    Returns ``dH`` like ``H``, ``dWhq (H, Q)``, ``dbq (Q,)``."""
    H, Whq = cache
    Hf, dOf = H.reshape(-1, H.shape[-1]), dO.reshape(-1, dO.shape[-1])
    return dO @ Whq.T, Hf.T @ dOf, dOf.sum(axis=0)


def model_backward(dO: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
    """Gradients of every parameter of lesson 03's ``model_forward`` (and ``X``, ``h0``)."""
    rnn_cache, out_cache = cache
    dH, dWhq, dbq = output_backward(dO, out_cache)
    dX, dh0, dWxh, dWhh, dbh = rnn_backward(dH, rnn_cache)
    return {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Whq": dWhq, "bq": dbq, "X": dX, "h0": dh0}


# ---------------------------------------------------------------------------- clipping


def global_norm(grads: dict[str, np.ndarray] | Sequence[np.ndarray]) -> float:
    """``sqrt(sum over all parameters and entries of g**2)``."""
    values = grads.values() if isinstance(grads, dict) else grads
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in values))


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float,
                        mistake: str | None = None) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients by one factor ``min(1, max_norm / norm)`` (the direction is kept).
    Returns the clipped gradients (new arrays) and the global norm before clipping."""
    norm = global_norm(grads)
    if mistake == "no_sqrt":
        norm = norm**2
    if mistake == "max_param_norm":
        norm = max(global_norm([g]) for g in grads.values())
    if mistake == "by_value":
        return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, norm
    if mistake == "per_tensor":
        def own(g):
            n = global_norm([g])
            return g * min(1.0, max_norm / n) if n > 0 else g * 1.0
        return {k: own(g) for k, g in grads.items()}, norm
    if mistake == "always_rescale":
        scale = max_norm / norm if norm > 0 else 1.0
    else:
        scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


# ---------------------------------------------------------------------------- finite differences


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5,
                 mistake: str | None = None) -> np.ndarray:
    """Centred differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of
    ``x``; ``f`` takes an array shaped like ``x`` and returns a number. The caller's ``x`` is
    not changed."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    f0 = f(x.copy()) if mistake == "one_sided" else None
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        if mistake == "one_sided":
            x[i] = old
            g[i] = (fp - f0) / eps
            continue
        x[i] = old - eps
        fm = f(x)
        if mistake != "not_restored":
            x[i] = old
        g[i] = (fp - fm) / (eps if mistake == "no_half" else 2 * eps)
    return g


# ---------------------------------------------------------------------------- torch loss


def lm_loss(model, X, Y, state, mistake: str | None = None):
    """Mean cross-entropy of ``model(X, state)``'s logits (N, T, V) against ``Y`` (N, T), and
    the new state detached: ``(loss, new_state)``."""
    import torch.nn.functional as F

    logits, new = model(X, None if mistake == "state_ignored" else state)
    if mistake == "last_step":
        loss = F.cross_entropy(logits[:, -1], Y[:, -1])
    else:
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1),
                               reduction="sum" if mistake == "sum" else "mean")
    return loss, (new if mistake == "not_detached" else new.detach())


# ---------------------------------------------------------------------------- fast training


def lm_loss_and_grads(
    params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, h0: np.ndarray,
    work: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Loss and gradients of a one-hot character RNN on ids ``X, Y`` (N, T), vectorised.

    The same computation as ``model_forward`` + :func:`softmax_cross_entropy` +
    :func:`model_backward`, but the one-hot product ``x_t @ Wxh`` is a row lookup, the output
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
        self.params = {k: v.astype(dtype)
                       for k, v in init_params(vocab_size, hidden_size, vocab_size, rng).items()}
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
        from rnnkit.batching import seq_data_iter_sequential

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
