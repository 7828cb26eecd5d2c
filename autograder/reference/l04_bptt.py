"""Reference answers of lesson 04 (backpropagation through time), the classic wrong answers
its tests name, and the random cases of its hidden tests.

Row-vector convention, batch first, as in lesson 03: ``x (N, D)``, ``h (N, H)``,
``X (N, T, D)``, ``H (N, T, H)``; a step cache is ``(x, h_prev, Wxh, Whh, h_next)`` and a
sequence cache is the list of step caches. Nothing here imports ``rnnkit.bptt``: the hidden
tests forbid that module while the student's code runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.impl.rnn_numpy import rnn_forward as rnn_forward  # the forward pass is lesson 03's
from autograder.impl.rnn_numpy import rnn_step_forward

HANDOUTS = ["ngram"]  # lesson 02's counting model, released beside the notebook as ngram.py

# ---------------------------------------------------------------------------- random cases


def random_rnn(rng: np.random.Generator, N: int, T: int, D: int, H: int):
    """Inputs, initial state and weights of a random RNN (weights small enough for tanh)."""
    X = rng.normal(size=(N, T, D))
    h0 = rng.normal(scale=0.5, size=(N, H))
    Wxh = rng.normal(scale=0.6, size=(D, H))
    Whh = rng.normal(scale=0.6, size=(H, H))
    bh = rng.normal(scale=0.3, size=H)
    return X, h0, Wxh, Whh, bh


# the forward pass is lesson 03's reference
step_forward = rnn_step_forward


# ---------------------------------------------------------------------------- cross-entropy


def _log_softmax(O):
    Z = O - O.max(axis=-1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(O, Y):
    """Mean of -log p(y) over all N*T positions, and dO = (softmax(O) - onehot(Y)) / (N*T)."""
    logp = _log_softmax(O)
    onehot = np.eye(O.shape[-1])[Y]
    n = Y.size
    return float(-(logp * onehot).sum() / n), (np.exp(logp) - onehot) / n


def ce_loss_mistakes(O, Y) -> list[tuple[float, str]]:
    logp = _log_softmax(O)
    nll = -(logp * np.eye(O.shape[-1])[Y]).sum()
    N, T = Y.shape
    out = [
        (nll / N, "the loss is divided by the batch size N only; average over all N*T "
                  "predictions (every time step of every row)."),
        (nll, "the loss is the sum over all predictions; the course's loss is their mean "
              "(nats per token), so that exp(loss) is the perplexity."),
        (nll / (N * T) / np.log(2), "the loss is in bits (log base 2); use the natural log."),
        (float(np.mean(-logp.mean(axis=-1))), "the loss averages -log p over every vocabulary "
         "entry; take -log p of the target id only."),
    ]
    if T > 1:
        out.insert(1, (nll / T, "the loss is divided by the number of time steps T only; "
                                "average over all N*T predictions."))
    return [(float(w), s) for w, s in out]


def ce_grad_mistakes(O, Y) -> list[tuple[np.ndarray, str]]:
    p = np.exp(_log_softmax(O))
    onehot = np.eye(O.shape[-1])[Y]
    N, T = Y.shape
    return [
        (p / (N * T), "the one-hot target is not subtracted: dO = (softmax(O) - onehot(Y)) "
                      "/ (N*T)."),
        (p - onehot, "dO is not divided by N*T, the number of predictions the loss averages."),
        ((p - onehot) / N, "dO is divided by N only; the loss averages over N*T predictions."),
        ((onehot - p) / (N * T), "the sign is flipped: the gradient of -log p is "
                                 "softmax(O) - onehot(Y)."),
    ]


# ---------------------------------------------------------------------------- step backward


def rnn_step_backward(dh_next, cache):
    x, h_prev, Wxh, Whh, h_next = cache
    da = dh_next * (1.0 - h_next**2)
    return da @ Wxh.T, da @ Whh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


STEP_NAMES = ("dx", "dh_prev", "dWxh", "dWhh", "dbh")


def _step_from_da(da, cache):
    x, h_prev, Wxh, Whh, h_next = cache
    return da @ Wxh.T, da @ Whh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def step_mistakes(dh_next, cache) -> dict[str, list[tuple[np.ndarray, str]]]:
    """For each output of rnn_step_backward, the classic wrong values and their sentences."""
    x, h_prev, Wxh, Whh, h_next = cache
    da = dh_next * (1.0 - h_next**2)
    out: dict[str, list] = {n: [] for n in STEP_NAMES}
    variants = [
        (dh_next * (1.0 - h_prev**2),
         "tanh' is taken at the wrong step: 1 - h**2 must use h_next, the state this step "
         "produced (cache[4]), not h_prev."),
        (dh_next * (1.0 - np.tanh(h_next) ** 2),
         "tanh is applied twice: h_next is already tanh(a), so tanh'(a) = 1 - h_next**2."),
        (dh_next, "the tanh derivative is missing: multiply dh_next by 1 - h_next**2 first."),
        (dh_next * h_next * (1.0 - h_next),
         "this is the sigmoid's derivative h(1 - h); the derivative of tanh is 1 - h**2."),
    ]
    for wrong_da, sentence in variants:
        for name, value in zip(STEP_NAMES, _step_from_da(wrong_da, cache)):
            out[name].append((value, sentence))
    out["dh_prev"].insert(0, (da @ Whh, "dh_prev uses Whh where it needs Whh.T: "
                                        "dh_prev = da @ Whh.T."))
    out["dWhh"].insert(0, (h_next.T @ da, "dWhh uses h_next; the recurrent weights multiply "
                                          "the PREVIOUS state, so dWhh = h_prev.T @ da."))
    out["dWhh"].insert(1, (da.T @ h_prev, "dWhh is transposed: dWhh = h_prev.T @ da, with "
                                          "rows for the old state's units."))
    if x.shape[1] == da.shape[1]:  # only then has the transposed product the right shape
        out["dWxh"].insert(0, (da.T @ x, "dWxh is transposed: dWxh = x.T @ da."))
    out["dbh"] = [
        (np.zeros_like(da[0]), "the bias gradient is zero: the bias feeds every row, so "
                               "dbh = da summed over the batch."),
        (da.mean(axis=0), "dbh is averaged over the batch; it must be summed (each row's "
                          "loss already carries its share of the mean)."),
        (da[0], "dbh holds only the first row; sum da over all rows of the batch."),
        (dh_next.sum(axis=0), "dbh is missing the tanh derivative: sum da = dh_next * "
                              "(1 - h_next**2) over the batch."),
    ] + out["dbh"]
    return out


# ---------------------------------------------------------------------------- full backward


GRAD_NAMES = ("dX", "dh0", "dWxh", "dWhh", "dbh")


def rnn_backward(dH, cache, k: int | None = None):
    """Full BPTT (k=None), or windows [0, k), [k, 2k), ... with no gradient across them."""
    N, T, Hn = dH.shape
    x0, _, Wxh, Whh, _ = cache[0]
    dX = np.zeros((N, T, Wxh.shape[0]))
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Hn)
    dh_next = np.zeros((N, Hn))
    for t in reversed(range(T)):
        dx, dh_prev, a, b, c = rnn_step_backward(dH[:, t] + dh_next, cache[t])
        dX[:, t] = dx
        dWxh += a
        dWhh += b
        dbh += c
        dh_next = np.zeros_like(dh_prev) if (k is not None and t > 0 and t % k == 0) else dh_prev
    return dX, dh_next, dWxh, dWhh, dbh


def rnn_backward_truncated(dH, cache, k: int):
    return rnn_backward(dH, cache, k)


def _variant(dH, cache, step: Callable, carry: bool = True, accumulate: bool = True,
             forward_order: bool = False, cut: Callable[[int], bool] | None = None):
    N, T, Hn = dH.shape
    _, _, Wxh, Whh, _ = cache[0]
    dX = np.zeros((N, T, Wxh.shape[0]))
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Hn)
    dh_next = np.zeros((N, Hn))
    order = range(T) if forward_order else reversed(range(T))
    for t in order:
        dx, dh_prev, a, b, c = step(dH[:, t] + (dh_next if carry else 0.0), cache[t])
        dX[:, t] = dx
        if accumulate:
            dWxh, dWhh, dbh = dWxh + a, dWhh + b, dbh + c
        else:
            dWxh, dWhh, dbh = a, b, c
        dh_next = np.zeros_like(dh_prev) if (cut is not None and cut(t)) else dh_prev
    return dX, dh_next, dWxh, dWhh, dbh


def backward_mistakes(dH, cache) -> dict[str, list[tuple[np.ndarray, str]]]:
    """For each output of rnn_backward, the classic wrong values and their sentences."""
    variants = [
        (_variant(dH, cache, rnn_step_backward, carry=False),
         "the gradient from the next time step is missing: at step t the cell receives "
         "dH[:, t] + dh_next, where dh_next is the dh_prev of step t+1."),
        (_variant(dH, cache, rnn_step_backward, accumulate=False),
         "the weight gradients hold only one step's contribution; the weights are shared by "
         "all time steps, so their gradients are sums over t."),
        (_variant(dH, cache, rnn_step_backward, forward_order=True),
         "the loop runs forward in time; BPTT goes from the last step back to the first, "
         "because step t needs the gradient coming from step t+1."),
    ]
    for step, what in _STEP_VARIANTS:
        variants.append((_variant(dH, cache, step),
                         "the loop over time looks right, but rnn_step_backward is wrong: "
                         + what + " (see the tests of rnn_step_backward)."))
    out: dict[str, list] = {n: [] for n in GRAD_NAMES}
    for values, sentence in variants:
        for name, value in zip(GRAD_NAMES, values):
            out[name].append((value, sentence))
    return out


def _step_with(da_of: Callable | None = None, dWhh_next: bool = False, dh_no_T: bool = False,
               dbh: str = "sum") -> Callable:
    def step(dh_next, cache):
        x, h_prev, Wxh, Whh, h_next = cache
        da = da_of(dh_next, h_prev, h_next) if da_of else dh_next * (1.0 - h_next**2)
        db = {"sum": da.sum(axis=0), "mean": da.mean(axis=0), "zero": np.zeros(da.shape[1])}
        return (da @ Wxh.T, da @ (Whh if dh_no_T else Whh.T), x.T @ da,
                (h_next if dWhh_next else h_prev).T @ da, db[dbh])
    return step


_STEP_VARIANTS = [
    (_step_with(lambda d, hp, hn: d * (1.0 - hp**2)), "tanh' is taken with h_prev, not h_next"),
    (_step_with(lambda d, hp, hn: d), "the tanh derivative is missing"),
    (_step_with(lambda d, hp, hn: d * (1.0 - np.tanh(hn) ** 2)), "tanh is applied twice"),
    (_step_with(dWhh_next=True), "dWhh uses h_next instead of h_prev"),
    (_step_with(dh_no_T=True), "dh_prev uses Whh instead of Whh.T"),
    (_step_with(dbh="zero"), "the bias gradient is zero"),
    (_step_with(dbh="mean"), "the bias gradient is averaged over the batch, not summed"),
]


def truncated_mistakes(dH, cache, k: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    T = dH.shape[1]
    variants = [
        (_variant(dH, cache, rnn_step_backward, cut=lambda t: (T - t) % k == 0 and t > 0),
         f"the windows are counted from the end; they start at step 0: [0, {k}), "
         f"[{k}, {2 * k}), ... (the way consecutive batches cut a long text)."),
        (_variant(dH, cache, rnn_step_backward, cut=lambda t: (t + 1) % k == 0),
         f"the cut is one step off: no gradient flows from step t into step t-1 when t is a "
         f"multiple of k = {k} (t = {k}, {2 * k}, ...)."),
        (_variant(dH, cache, rnn_step_backward),
         "nothing is truncated: this is full BPTT."),
    ]
    out: dict[str, list] = {n: [] for n in GRAD_NAMES}
    for values, sentence in variants:
        for name, value in zip(GRAD_NAMES, values):
            out[name].append((value, sentence))
    return out


# ---------------------------------------------------------------------------- clipping


def clip_by_global_norm(grads: dict, max_norm: float):
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_mistakes(grads: dict, max_norm: float) -> list[tuple[dict, str]]:
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))

    def per_param(g):
        n = float(np.linalg.norm(g))
        return g * min(1.0, max_norm / n) if n > 0 else g

    return [
        ({k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()},
         "each entry is clipped on its own (np.clip); that changes the gradient's direction. "
         "Scale ALL entries by the same factor max_norm / norm."),
        ({k: per_param(g) for k, g in grads.items()},
         "each parameter is clipped by its own norm; that changes the direction of the whole "
         "gradient. Use one global norm over all parameters."),
        ({k: g * (max_norm / norm) for k, g in grads.items()},
         "the gradient is rescaled even when its norm is below max_norm; only shrink it, "
         "never stretch it (the factor is min(1, max_norm / norm))."),
    ]


def flatten(grads: dict) -> np.ndarray:
    return np.concatenate([np.ravel(grads[k]) for k in sorted(grads)])


def random_grads(rng: np.random.Generator) -> dict:
    return {
        "Wxh": rng.normal(size=(int(rng.integers(2, 6)), 4)) * rng.uniform(0.1, 5),
        "Whh": rng.normal(size=(4, 4)) * rng.uniform(0.1, 5),
        "bh": rng.normal(size=4) * rng.uniform(0.1, 5),
    }


# ---------------------------------------------------------------------------- finite differences


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5):
    """Centred differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every entry."""
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def numeric_grad_mistakes(f, x, eps: float) -> list[tuple[np.ndarray, str]]:
    x = np.array(x, dtype=float)
    fwd = np.zeros_like(x)
    half = np.zeros_like(x)
    drift = np.zeros_like(x)
    xd = x.copy()
    f0 = f(x.copy())
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += eps
        xm = x.copy()
        xm[i] -= eps
        fwd[i] = (f(xp) - f0) / eps
        half[i] = (f(xp) - f(xm)) / eps
        old = xd[i]
        xd[i] = old + eps
        fp = f(xd)
        xd[i] = old - eps
        fm = f(xd)  # forgot to restore x[i]
        drift[i] = (fp - fm) / (2 * eps)
    return [
        (half, "the difference is divided by eps; the two points are 2 * eps apart, so "
               "divide by 2 * eps."),
        (drift, "x is not restored after the entry is nudged, so later entries are measured "
                "at a shifted point."),
        (fwd, "this is the one-sided difference (f(x + eps) - f(x)) / eps; use the centred "
              "one, (f(x + eps) - f(x - eps)) / (2 eps), whose error is O(eps**2)."),
    ]


# ---------------------------------------------------------------------------- torch loss


def lm_loss_reference(logits, Y):
    """Mean cross-entropy of logits (N, T, V) against Y (N, T), as a float."""
    import torch

    return float(torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), Y.reshape(-1)))
