"""Reference answers and random test cases for lesson 07-bidirectional."""

from __future__ import annotations

import numpy as np
import torch

NAMES = ("Wxh_f", "Whh_f", "bh_f", "Wxh_b", "Whh_b", "bh_b")


def _rnn(X: np.ndarray, h0: np.ndarray, Wxh, Whh, bh) -> np.ndarray:
    h, out = h0, []
    for t in range(X.shape[1]):
        h = np.tanh(X[:, t] @ Wxh + h @ Whh + bh)
        out.append(h)
    return np.stack(out, axis=1)


def birnn_forward(X, h0_f, h0_b, params) -> np.ndarray:
    Hf = _rnn(X, h0_f, params["Wxh_f"], params["Whh_f"], params["bh_f"])
    Hb = _rnn(X[:, ::-1], h0_b, params["Wxh_b"], params["Whh_b"], params["bh_b"])[:, ::-1]
    return np.concatenate([Hf, Hb], axis=-1)


def birnn_mistakes(X, h0_f, h0_b, params) -> list[tuple[np.ndarray, str]]:
    """Outputs of the classic wrong BiRNNs, with the sentence naming each mistake."""
    Hf = _rnn(X, h0_f, params["Wxh_f"], params["Whh_f"], params["bh_f"])
    Hb_rev = _rnn(X[:, ::-1], h0_b, params["Wxh_b"], params["Whh_b"], params["bh_b"])
    Hb_same = _rnn(X, h0_b, params["Wxh_b"], params["Whh_b"], params["bh_b"])
    Hb = Hb_rev[:, ::-1]
    return [
        (np.concatenate([Hf, Hb_rev], -1),
         ("the backward states are in reversed order: flip them back so that position t holds "
         "the backward state that has just read x_t.")),
        (np.concatenate([Hb, Hf], -1),
         "the forward features come first: H[:, t] = [f_t ; b_t]."),
        (np.concatenate([Hf, Hb_same], -1),
         ("the backward RNN must read the sequence from the end (reverse the time axis); yours "
         "reads it left to right, so it is a second forward RNN.")),
    ]


def random_case(rng: np.random.Generator):
    N, T, D, H = (int(v) for v in rng.integers(1, 6, size=4))
    T += 1
    s = 1.2 / np.sqrt(H)
    params = {
        "Wxh_f": rng.uniform(-s, s, (D, H)), "Whh_f": rng.uniform(-s, s, (H, H)),
        "bh_f": rng.uniform(-s, s, H), "Wxh_b": rng.uniform(-s, s, (D, H)),
        "Whh_b": rng.uniform(-s, s, (H, H)), "bh_b": rng.uniform(-s, s, H),
    }
    return rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params


def torch_params(rnn: torch.nn.RNN) -> dict[str, np.ndarray]:
    def g(name):
        return getattr(rnn, name).detach().double().numpy()

    out = {}
    for d, sfx in (("f", ""), ("b", "_reverse")):
        out[f"Wxh_{d}"] = g(f"weight_ih_l0{sfx}").T
        out[f"Whh_{d}"] = g(f"weight_hh_l0{sfx}").T
        out[f"bh_{d}"] = g(f"bias_ih_l0{sfx}") + g(f"bias_hh_l0{sfx}")
    return out


def random_torch_rnn(rng: np.random.Generator) -> tuple[torch.nn.RNN, np.ndarray]:
    D, H = (int(v) for v in rng.choice(np.arange(2, 8), size=2, replace=False))
    torch.manual_seed(int(rng.integers(1 << 30)))
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=True)
    X = rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(2, 7)), D))
    return rnn, X


def torch_output(rnn: torch.nn.RNN, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out, _ = rnn.double()(torch.as_tensor(X, dtype=torch.float64))
    rnn.float()
    return out.numpy()


def input_influence(rnn: torch.nn.RNN, X: torch.Tensor, t: int) -> np.ndarray:
    X = X.detach().clone().requires_grad_(True)
    out, _ = rnn(X)
    out[0, t].sum().backward()
    return X.grad[0].norm(dim=-1).numpy()


def random_influence_case(rng: np.random.Generator):
    D, H, T = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(3, 8))
    torch.manual_seed(int(rng.integers(1 << 30)))
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=bool(rng.integers(0, 2)))
    X = torch.as_tensor(rng.normal(size=(1, T, D)), dtype=torch.float32)
    return rnn, X, int(rng.integers(0, T))
