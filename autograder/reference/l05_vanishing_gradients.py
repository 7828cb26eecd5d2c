"""Reference answers and random test cases for lesson 05-vanishing-gradients."""

from __future__ import annotations

import math

import numpy as np

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")


def activation_derivative(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if name == "identity":
        return np.ones_like(a)
    if name == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-a))
        return s * (1.0 - s)
    if name == "relu":
        return (a > 0).astype(np.float64)
    raise ValueError(name)


def jacobian_norms(Whh: np.ndarray, a: np.ndarray, name: str) -> np.ndarray:
    """||dh_T/dh_t||_2 for t = 0..T (T + 1 values, the last is 1)."""
    Whh = np.asarray(Whh, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    T, H = a.shape
    G = np.eye(H)
    norms = np.empty(T + 1)
    norms[T] = 1.0
    for t in range(T - 1, -1, -1):
        G = G @ np.diag(activation_derivative(a[t], name)) @ Whh.T
        norms[t] = np.linalg.norm(G, 2)
    return norms


def jacobian_norms_mistakes(Whh: np.ndarray, a: np.ndarray, name: str) -> list[tuple]:
    """Classic wrong answers to jacobian_norms, each with the sentence that names it."""
    Whh = np.asarray(Whh, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    T, H = a.shape
    d = activation_derivative(a, name)
    out = []

    def chain(step, combine="right", norm=2):
        G = np.eye(H)
        res = np.empty(T + 1)
        res[T] = np.linalg.norm(G, norm)
        for t in range(T - 1, -1, -1):
            J = step(t)
            G = G @ J if combine == "right" else J @ G
            res[t] = np.linalg.norm(G, norm)
        return res

    frobenius = chain(lambda t: np.diag(d[t]) @ Whh.T, norm="fro")
    frobenius_last_1 = frobenius.copy()
    frobenius_last_1[T] = 1.0
    out.append((frobenius_last_1,
                ("use the spectral norm np.linalg.norm(G, 2) (the largest singular value), not the "
                 "Frobenius norm.")))
    out.append((frobenius,
                ("use the spectral norm np.linalg.norm(G, 2) (the largest singular value), not the "
                "Frobenius norm.")))
    out.append((chain(lambda t: Whh.T),
                "each step's Jacobian is diag(φ'(a_t)) W_hhᵀ: the activation derivative is missing."))
    out.append((chain(lambda t: np.diag(d[t]) @ Whh),
                ("the step Jacobian of h_t = φ(h_{t-1} W_hh + ...) is diag(φ'(a_t)) W_hhᵀ — with "
                "the transpose of W_hh.")))
    out.append((chain(lambda t: np.diag(d[t]) @ Whh.T, combine="left"),
                ("the product must be J_T J_{T-1} ... J_{t+1}: multiply each new (earlier) step's "
                "Jacobian on the right.")))
    if name != "identity":
        phi = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
               "relu": lambda z: np.maximum(z, 0)}[name]
        out.append((chain(lambda t: np.diag(phi(a[t])) @ Whh.T),
                    "the diagonal holds the derivative φ'(a_t), not the activation φ(a_t)."))
    out.append((jacobian_norms(Whh, a, name)[::-1],
                ("entry t is ||∂h_T/∂h_t||, so the last entry (t = T) is 1 and the first (t = 0) "
                "is the longest chain; yours is reversed.")))
    return out


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    H = int(rng.integers(2, 7))
    T = int(rng.integers(2, 9))
    Whh = rng.normal(size=(H, H)) * float(rng.uniform(0.3, 0.9))
    a = rng.normal(size=(T, H)) * 2.0
    name = str(rng.choice(ACTIVATIONS))
    return Whh, a, name


# Exercise 3: decay factors
DECAY_ORTHOGONAL = 0.9 ** 20
BOUND_SIGMOID = (0.25 * 2.0) ** 10
STEPS_TO_VANISH = math.ceil(math.log(1e-3) / math.log(0.9))  # 66

# Exercise 4: the slope of the plot. W_READ is Q P diag(0.8, -0.55, 0.35, 0.1) P^-1 Q^T
# (P upper triangular, Q a random rotation), rounded: spectral radius 0.8, sigma_1 2.52.
W_READ = np.array([
    [-0.56, 0.407, -0.54, 1.199],
    [0.505, 0.088, 0.372, -0.975],
    [0.704, -0.44, 0.637, -1.238],
    [-0.077, -0.067, -0.32, 0.535],
])
LAMBDA_1 = float(np.max(np.abs(np.linalg.eigvals(W_READ))))
SLOPE = math.log(LAMBDA_1)
SIGMA_1_READ = float(np.linalg.norm(W_READ, 2))


def clip_grads(grads: list[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    norm = math.sqrt(sum(float(np.sum(np.asarray(g, dtype=np.float64) ** 2)) for g in grads))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [np.asarray(g, dtype=np.float64) * scale for g in grads], norm


def clip_mistakes(grads: list[np.ndarray], max_norm: float) -> list[tuple]:
    """Classic wrong clipped gradients (the list, concatenated) with their sentences."""
    def flat(gs):
        return np.concatenate([np.ravel(g) for g in gs])

    norm = float(np.linalg.norm(flat(grads)))
    out = [
        (flat([np.clip(g, -max_norm, max_norm) for g in grads]),
         ("clipping each entry to [-max_norm, max_norm] changes the gradient's direction; "
         "scale all arrays by the same factor max_norm / global norm.")),
        (flat([g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300)) for g in grads]),
         ("each array was clipped by its own norm, which changes the direction of the whole "
         "gradient; use one global norm over all arrays.")),
        (flat([g * (max_norm / norm) for g in grads]),
         ("gradients whose global norm is already below max_norm must stay unchanged "
         "(the factor is min(1, max_norm / norm)).")),
    ]
    return out


def random_grads(rng: np.random.Generator) -> list[np.ndarray]:
    shapes = [(int(rng.integers(1, 5)), int(rng.integers(1, 5))) for _ in range(int(rng.integers(2, 5)))]
    scale = float(rng.choice([0.1, 1.0, 10.0]))
    return [rng.normal(size=s) * scale for s in shapes]


# d2l exercise 3
D2L_3_KEY = {"B", "C", "E"}
D2L_3_WRONG = {"A", "D"}


def grade_d2l_3(answer, points: float) -> float:
    """Partial credit like the MCQs: (right chosen - wrong chosen) / 3, never below zero."""
    if not isinstance(answer, set | frozenset):
        print(f"d2l_3: not a set of letters — 0 of {points:g} points.")
        return 0.0
    chosen = {a for a in answer if isinstance(a, str)}
    hits, wrong = len(chosen & D2L_3_KEY), len(chosen - D2L_3_KEY)
    frac = max(0.0, (hits - wrong) / len(D2L_3_KEY))
    notes = []
    if "A" in chosen:
        notes.append("the gradient does not always reach 0: it explodes when the step Jacobians "
                     "stretch (e.g. σ₁ > 1 with ReLU or no activation)")
    if "C" not in chosen:
        notes.append("exploding gradients are the other half of the answer")
    if "D" in chosen:
        notes.append("shared weights are multiplied again at every step, which is exactly why "
                     "the size changes geometrically")
    print(f"d2l_3: {hits} of 3 right statements, {wrong} wrong — {frac * points:g} of "
          f"{points:g} points." + (" Note: " + "; ".join(notes) + "." if notes else ""))
    return round(frac * points, 6)
