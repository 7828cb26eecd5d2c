"""Reference answers and random test cases for lesson 01-sequences."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def word_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def build_vocab(tokens: list[str], min_freq: int = 1) -> list[str]:
    counts = Counter(tokens)
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return ["<pad>", "<unk>"] + [t for t, c in ordered if c >= min_freq and t not in
                                 ("<pad>", "<unk>")]


def encode(tokens: list[str], idx_to_token: list[str]) -> list[int]:
    index = {t: i for i, t in enumerate(idx_to_token)}
    return [index.get(t, 1) for t in tokens]


def one_hot(ids, vocab_size: int) -> np.ndarray:
    return np.eye(vocab_size)[np.asarray(ids)]


def embed(ids, E: np.ndarray) -> np.ndarray:
    return E[np.asarray(ids)]


def pad_and_mask(seqs: list[list[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = True
    return ids, mask


def masked_mean(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(float)
    return (X * m).sum(axis=1) / m.sum(axis=1)


def bag_of_words(ids, vocab_size: int) -> np.ndarray:
    return np.bincount(np.asarray(ids), minlength=vocab_size).astype(float)


def zipf_exponent(counts) -> float:
    freqs = np.sort(np.asarray(counts, dtype=float))[::-1]
    ranks = np.arange(1, len(freqs) + 1)
    slope = np.polyfit(np.log(ranks), np.log(freqs), 1)[0]
    return float(-slope)


# ---- random cases for hidden tests -------------------------------------------------

_WORDS = ["river", "bank", "money", "cat", "mat", "sat", "on", "the", "a", "dog", "it's",
          "state", "h2o", "zebra", "runs", "slowly", "and"]
_PUNCT = [".", ",", "!", "?", ";", ":", "(", ")", "-", '"']


def random_text(rng: np.random.Generator, n: int = 14) -> str:
    parts = []
    for _ in range(n):
        w = str(rng.choice(_WORDS))
        if rng.random() < 0.3:
            w = w.capitalize() if rng.random() < 0.5 else w.upper()
        parts.append(w)
        if rng.random() < 0.25:
            parts[-1] += str(rng.choice(_PUNCT))
    sep = [" ", "  ", "\n", "\t"]
    return "".join(p + str(rng.choice(sep)) for p in parts).strip()


def random_tokens(rng: np.random.Generator, n: int = 30) -> list[str]:
    pool = [str(w) for w in rng.choice(_WORDS, size=8, replace=False)]
    p = rng.dirichlet(np.ones(len(pool)))
    return [str(w) for w in rng.choice(pool, size=n, p=p)]


def random_id_seqs(rng: np.random.Generator, n: int = 4, vocab: int = 9) -> list[list[int]]:
    return [rng.integers(2, vocab, size=int(rng.integers(1, 7))).tolist() for _ in range(n)]
