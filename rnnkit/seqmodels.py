"""The torch models of lesson 06's five input/output modes, and a numpy decoder step.

=====================  =========================================  =========================
mode                   which hidden states feed the output        model
=====================  =========================================  =========================
one-to-one             the single state h_1 (an MLP)              :class:`OneToOne`
one-to-many            every state; h_0 comes from the input,     :class:`ClassToSequence`
                       each output is fed back as the next input
many-to-one            only the state after the last real token   :class:`SequenceClassifier`
many-to-many aligned   every state, one output per input          :class:`Tagger`
many-to-many           the encoder's final state starts the       :class:`EncoderDecoder`
unaligned              decoder; every decoder state feeds one
                       output token
=====================  =========================================  =========================

Each model's ``logits(batch)`` takes a ``(X, Y, lengths)`` batch (from
:func:`rnnkit.batching.shuffled_batches`) and passes its model the parts it reads, so the
losses and accuracies of :mod:`rnnkit.losses` work for every model without asking which
one it is. Each trains in about a second with :func:`rnnkit.train.fit_adam`.

The exercises of lesson 06 (greedy decoding, the last real state, the masked loss, the
shapes of each head) are not here: these models do the same in torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batching import Batch

__all__ = [
    "ClassToSequence",
    "EncoderDecoder",
    "NumpyStep",
    "OneToOne",
    "SequenceClassifier",
    "Tagger",
]


@dataclass
class NumpyStep:
    """One step of a small numpy RNN decoder whose input is a token id (one-hot)::

        h_next = tanh(Wxh[token] + h @ Whh + bh)      Wxh (V, H), Whh (H, H), bh (H,)
        logits = h_next @ Why + by                    Why (H, V), by (V,)

    ``step(token, h) -> (logits (V,), h_next (H,))``: the interface a decoding loop needs.
    A plain class (not a closure), so it can be copied between processes.
    """

    Wxh: np.ndarray
    Whh: np.ndarray
    Why: np.ndarray
    bh: np.ndarray | None = None
    by: np.ndarray | None = None

    def __call__(self, token: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pre = self.Wxh[int(token)] + np.asarray(h) @ self.Whh
        h_next = np.tanh(pre if self.bh is None else pre + self.bh)
        logits = h_next @ self.Why
        return (logits if self.by is None else logits + self.by), h_next

    @classmethod
    def random(cls, V: int, H: int, seed: int, scale: float = 1.5) -> NumpyStep:
        """Random weights (normal, std ``scale``), no biases."""
        rng = np.random.default_rng(seed)
        return cls(rng.normal(scale=scale, size=(V, H)), rng.normal(scale=scale, size=(H, H)),
                   rng.normal(scale=scale, size=(H, V)))


class OneToOne(nn.Module):
    """One input, one output: an RNN run for a single step from ``h_0 = 0``.

    With ``h_0 = 0`` the recurrent term ``h_0 @ Whh`` vanishes, so the step is
    ``h_1 = tanh(x @ Wxh + b)``: a feed-forward hidden layer. ``forward(x)`` takes (N,) ids and
    returns (N, C) logits.
    """

    def __init__(self, V: int, C: int, D: int = 8, H: int = 16):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(x)[:, None, :])  # a sequence of length 1: (N, 1, H)
        return self.out(hs[:, 0])

    def logits(self, batch: Batch) -> torch.Tensor:
        """``(x, y, lengths)`` -> (N, C): reads only ``x``."""
        return self(batch[0])


class ClassToSequence(nn.Module):
    """One-to-many: a class vector sets ``h_0``; the RNN then writes a sequence.

    ``h_0 = tanh(onehot(c) @ W_ch + b)``; at step t the input is the previous output token
    (``<bos>`` at t = 0), so training uses the true previous token (teacher forcing) and
    :meth:`generate` feeds its own samples back.
    """

    def __init__(self, K: int, V: int, D: int = 16, H: int = 32, bos: int = 2):
        super().__init__()
        self.K, self.bos = K, bos
        self.init_h = nn.Linear(K, H)
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def h0(self, c: torch.Tensor) -> torch.Tensor:
        """(N,) class ids -> initial state (1, N, H)."""
        return torch.tanh(self.init_h(F.one_hot(c, self.K).float()))[None]

    def forward(self, c: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (N,) classes, (N, T) targets -> (N, T, V) logits."""
        prev = torch.cat([torch.full_like(Y[:, :1], self.bos), Y[:, :-1]], dim=1)
        hs, _ = self.rnn(self.embed(prev), self.h0(c))
        return self.out(hs)

    def logits(self, batch: Batch) -> torch.Tensor:
        """``(c, Y, lengths)`` -> (N, T, V): teacher forcing on ``Y``."""
        return self(batch[0], batch[1])

    @torch.no_grad()
    def generate(self, c: torch.Tensor, T: int, generator: torch.Generator | None = None,
                 greedy_after: int = 1) -> torch.Tensor:
        """(N,) classes -> (N, T) token ids: sample the first ``greedy_after`` tokens, then
        take the most likely token, each fed back as the next input."""
        h = self.h0(c)
        tok = torch.full((len(c), 1), self.bos, dtype=torch.long)
        out = []
        for t in range(T):
            hs, h = self.rnn(self.embed(tok), h)
            logits = self.out(hs[:, -1])
            if t < greedy_after:
                tok = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)
            else:
                tok = logits.argmax(-1, keepdim=True)
            out.append(tok)
        return torch.cat(out, dim=1)


class SequenceClassifier(nn.Module):
    """Many-to-one: read the whole (padded) sequence, classify from the state after the last
    real token. ``forward(X, lengths)``: (N, T) ids, (N,) lengths -> (N, C) logits."""

    def __init__(self, V: int, C: int, D: int = 16, H: int = 32):
        super().__init__()
        self.embed = nn.Embedding(V, D, padding_idx=0)
        self.rnn = nn.RNN(D, H, batch_first=True)
        self.out = nn.Linear(H, C)

    def forward(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(X))  # (N, T, H)
        last = hs[torch.arange(len(X)), lengths - 1]  # (N, H): not hs[:, -1], a pad position
        return self.out(last)

    def logits(self, batch: Batch) -> torch.Tensor:
        """``(X, y, lengths)`` -> (N, C)."""
        return self(batch[0], batch[2])


class Tagger(nn.Module):
    """Many-to-many aligned: one output per input step.

    ``forward(X)``: (N, T) ids -> (N, T, C) logits, from every hidden state. With
    ``bidirectional=True`` each position sees ``[h_fwd_t ; h_bwd_t]`` (2H features).
    """

    def __init__(self, V: int, C: int, D: int = 16, H: int = 32, bidirectional: bool = False):
        super().__init__()
        self.embed = nn.Embedding(V, D, padding_idx=0)
        self.rnn = nn.RNN(D, H, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(H * (2 if bidirectional else 1), C)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(self.embed(X))  # (N, T, H) or (N, T, 2H)
        return self.out(hs)

    def logits(self, batch: Batch) -> torch.Tensor:
        """``(X, Y, lengths)`` -> (N, T, C): reads only ``X``."""
        return self(batch[0])


class EncoderDecoder(nn.Module):
    """Many-to-many unaligned: an encoder RNN reads the source, its final state is the
    decoder's ``h_0``, and the decoder writes the target one token at a time.

    ``forward(X, lengths, Y)``: teacher forcing -> (N, T_out, V_tgt) logits. GRU cells
    (``cell="gru"``, the default) are used because they learn this task in a second; vanilla
    ``nn.RNN`` cells (``cell="rnn"``) learn it far more slowly.
    """

    def __init__(self, V_src: int, V_tgt: int, D: int = 32, H: int = 64, bos: int = 2,
                 eos: int = 3, cell: str = "gru"):
        super().__init__()
        self.bos, self.eos = bos, eos
        self.src_embed = nn.Embedding(V_src, D, padding_idx=0)
        self.tgt_embed = nn.Embedding(V_tgt, D, padding_idx=0)
        Cell = {"gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.encoder = Cell(D, H, batch_first=True)
        self.decoder = Cell(D, H, batch_first=True)
        self.out = nn.Linear(H, V_tgt)

    def encode(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(N, T_in) source ids -> (1, N, H): the encoder state after the last real token."""
        hs, _ = self.encoder(self.src_embed(X))
        return hs[torch.arange(len(X)), lengths - 1][None]

    def forward(self, X: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        prev = torch.cat([torch.full_like(Y[:, :1], self.bos), Y[:, :-1]], dim=1)
        hs, _ = self.decoder(self.tgt_embed(prev), self.encode(X, lengths))
        return self.out(hs)

    def logits(self, batch: Batch) -> torch.Tensor:
        """``(X, Y, lengths)`` -> (N, T_out, V_tgt): teacher forcing on ``Y``."""
        X, Y, L = batch
        return self(X, L, Y)

    @torch.no_grad()
    def translate(self, X: torch.Tensor, lengths: torch.Tensor, max_len: int = 8) -> list[list[int]]:
        """Greedy decoding: feed each predicted token back until ``<eos>`` (not included)."""
        h = self.encode(X, lengths)
        tok = torch.full((len(X), 1), self.bos, dtype=torch.long)
        out: list[list[int]] = [[] for _ in range(len(X))]
        done = torch.zeros(len(X), dtype=torch.bool)
        for _ in range(max_len):
            hs, h = self.decoder(self.tgt_embed(tok), h)
            tok = self.out(hs[:, -1]).argmax(-1, keepdim=True)
            for i in range(len(X)):
                if not done[i] and int(tok[i]) != self.eos:
                    out[i].append(int(tok[i]))
            done |= tok[:, 0] == self.eos
            if bool(done.all()):
                break
        return out
