"""Lesson 01's exercises: tokenizer, vocabulary, one-hot/embedding, padding with masks.

The one implementation of lesson 01-sequences' answers (each exercise function takes
``mistake=None|"name"``: the right answer and each classic mistake come from the same code),
and the names later lessons use (``Vocab``, ``pad_sequences``, ``tokenize_words``,
``tokenize_chars``, ``PAD``, ``UNK``), handed out to them as the file ``text.py``.

The course's conventions: word tokens are lower-cased words and punctuation marks; a
vocabulary reserves id 0 for ``<pad>`` and id 1 for ``<unk>``, then numbers the other tokens
by decreasing frequency, ties broken by first appearance, with no gaps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rnnkit.text import PAD, UNK, load_text, tokenize_chars

LESSON = "01-sequences"

__all__ = [
    "PAD",
    "UNK",
    "tokenize_chars",
    "tokenize_words",
    "tokenize",
    "Vocab",
    "pad_sequences",
    "load_text",
    "word_tokens",
    "build_vocab",
    "encode",
    "cat_answer",
    "one_hot",
    "embed",
    "SGD_ROWS",
    "ADAM_ROWS",
    "ADAM_MOVES_UNUSED_ROWS",
    "pad_and_mask",
    "masked_mean",
    "bag_of_words",
    "zipf_exponent",
]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize_words(text: str, lower: bool = True) -> list[str]:
    """Split text into words and punctuation marks: ``"The cat." -> ["the", "cat", "."]``.

    Lower-casing (the default) makes "The" and "the" one token.
    """
    if lower:
        return _WORD.findall(text.lower())
    return re.findall(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]", text)


def tokenize(text: str, level: str = "word") -> list[str]:
    """Tokenize at ``level`` ``"word"`` or ``"char"``."""
    if level == "word":
        return tokenize_words(text)
    if level == "char":
        return tokenize_chars(text)
    raise ValueError(f"level must be 'word' or 'char', not {level!r}.")


class Vocab:
    """A mapping between tokens and integer ids.

    ``Vocab(tokens, min_freq=1)`` gives ``<pad>`` id 0, ``<unk>`` id 1, then every token seen
    at least ``min_freq`` times, most frequent first (ties: first appearance). Unknown tokens
    map to the ``<unk>`` id.

    >>> v = Vocab("the cat sat on the mat".split())
    >>> v.encode(["the", "dog"])
    [2, 1]
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        min_freq: int = 1,
        reserved: Sequence[str] = (PAD, UNK),
    ):
        if min_freq < 1:
            raise ValueError("min_freq must be at least 1.")
        if PAD not in reserved or UNK not in reserved:
            raise ValueError(f"reserved tokens must include {PAD!r} and {UNK!r}.")
        seen = list(tokens)
        counts = Counter(seen)  # Counter keeps first-appearance order for ties
        self.idx_to_token: list[str] = build_vocab(seen, min_freq, reserved=reserved)
        self.token_to_idx: dict[str, int] = {t: i for i, t in enumerate(self.idx_to_token)}
        self.counts: Counter = counts

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_idx

    def __repr__(self) -> str:
        head = ", ".join(self.idx_to_token[:6])
        return f"Vocab(size={len(self)}: {head}{', ...' if len(self) > 6 else ''})"

    @property
    def pad(self) -> int:
        return self.token_to_idx[PAD]

    @property
    def unk(self) -> int:
        return self.token_to_idx[UNK]

    def __getitem__(self, token: str) -> int:
        return self.token_to_idx.get(token, self.unk)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token list -> id list (unknown tokens -> ``<unk>`` id)."""
        return [self[t] for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Id list -> token list; raises on an id outside the vocabulary."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self):
                raise IndexError(f"id {i} is outside the vocabulary of size {len(self)}.")
            out.append(self.idx_to_token[i])
        return out


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    pad_id: int = 0,
    max_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pad id sequences to one length.

    Returns ``(ids, mask)``, both of shape ``(N, T)``: ``ids`` int64 padded on the right with
    ``pad_id`` (sequences longer than ``max_len`` are cut), ``mask`` bool, True at real tokens.
    """
    lengths = [len(s) for s in sequences]
    T = max(lengths, default=0) if max_len is None else int(max_len)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for row, seq in enumerate(sequences):
        n = min(len(seq), T)
        ids[row, :n] = np.asarray(seq[:n], dtype=np.int64)
        mask[row, :n] = True
    return ids, mask


# ---------------------------------------------------------------------------- exercises


def word_tokens(text: str, mistake: str | None = None) -> list[str]:
    """Exercise 1. Mistakes: ``"no_lower"``, ``"split"`` (punctuation stuck to words)."""
    if mistake == "no_lower":
        return tokenize_words(text, lower=False)
    if mistake == "split":
        return text.lower().split()
    return tokenize_words(text)


def build_vocab(tokens: Sequence[str], min_freq: int = 1, mistake: str | None = None,
                reserved: Sequence[str] = (PAD, UNK)) -> list[str]:
    """Exercise 2: ``idx_to_token``. Mistakes: ``"no_reserved"``, ``"first_appearance"``
    (no sorting by count), ``"rare_first"``, ``"no_min_freq"``."""
    counts = Counter(tokens)
    ordered = counts.most_common()  # stable: ties keep first appearance
    if mistake == "first_appearance":
        ordered = list(counts.items())
    elif mistake == "rare_first":
        ordered = ordered[::-1]
    if mistake == "no_min_freq":
        min_freq = 1
    head = [] if mistake == "no_reserved" else list(dict.fromkeys(reserved))
    return head + [t for t, c in ordered if c >= min_freq and t not in head]


def encode(tokens: Iterable[str], idx_to_token: Sequence[str],
           mistake: str | None = None) -> list[int]:
    """Exercise 2: ids, unknown tokens -> 1. Mistake: ``"unk_zero"`` (unknown -> 0)."""
    index = {t: i for i, t in enumerate(idx_to_token)}
    unk = 0 if mistake == "unk_zero" else index.get(UNK, 1)
    return [index.get(t, unk) for t in tokens]


CAT_SENTENCE = "The cat sat on the mat"
SEED_CAT_TOKENS = ["cat", "sat", "on", "the", "mat"]
SEED_CAT_IDS = [0, 2, 3, 5, 6]


def cat_answer(mistake: str | None = None) -> tuple[list[str], list[int]]:
    """Exercise 3: ``(cat_tokens, cat_ids)``. Mistakes: ``"seed"`` (the lecture notes'),
    ``"no_lower"``, ``"no_reserved"``."""
    if mistake == "seed":
        return list(SEED_CAT_TOKENS), list(SEED_CAT_IDS)
    toks = word_tokens(CAT_SENTENCE, mistake="no_lower" if mistake == "no_lower" else None)
    vocab = build_vocab(toks, mistake="no_reserved" if mistake == "no_reserved" else None)
    return toks, encode(toks, vocab)


def one_hot(ids, vocab_size: int, mistake: str | None = None) -> np.ndarray:
    """Exercise 4: ``(T, V)`` float. Mistake: ``"transposed"``."""
    out = np.eye(vocab_size)[np.asarray(ids, dtype=np.int64)]
    return out.T if mistake == "transposed" else out


def embed(ids, E: np.ndarray, mistake: str | None = None) -> np.ndarray:
    """Exercise 4: rows of ``E``."""
    return np.asarray(E)[np.asarray(ids, dtype=np.int64)]


# Exercise 5: rows of a 6-row embedding changed by the second step (batch [1], then [3]).
SGD_ROWS = {3}
ADAM_ROWS = {1, 3}
ADAM_MOVES_UNUSED_ROWS = True


def pad_and_mask(seqs: Sequence[Sequence[int]], pad_id: int = 0,
                 mistake: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exercise 6. Mistakes: ``"mask_inverted"``, ``"pad_left"``, ``"pad_zero"`` (ignores
    ``pad_id``)."""
    ids, mask = pad_sequences(seqs, pad_id=0 if mistake == "pad_zero" else pad_id)
    if mistake == "mask_inverted":
        mask = ~mask
    if mistake == "pad_left":
        n = mask.sum(axis=1)
        ids = np.stack([np.roll(r, int(len(r) - k)) for r, k in zip(ids, n)]) if len(ids) else ids
        mask = np.stack([np.roll(r, int(len(r) - k)) for r, k in zip(mask, n)]) if len(ids) \
            else mask
    return ids, mask


def masked_mean(X: np.ndarray, mask: np.ndarray, mistake: str | None = None) -> np.ndarray:
    """Exercise 6: mean over real positions. Mistake: ``"divide_by_T"``."""
    X = np.asarray(X, dtype=float)
    m = np.asarray(mask)[..., None].astype(float)
    if mistake == "divide_by_T":
        return (X * m).sum(axis=1) / X.shape[1]
    return (X * m).sum(axis=1) / m.sum(axis=1)


def bag_of_words(ids, vocab_size: int, mistake: str | None = None) -> np.ndarray:
    """Exercise 7. Mistake: ``"presence"`` (1 for any occurrence)."""
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size).astype(float)
    return (counts > 0).astype(float) if mistake == "presence" else counts


def zipf_exponent(counts, mistake: str | None = None) -> float:
    """Exercise 8: minus the slope of log count against log rank. Mistakes: ``"slope"``
    (the slope itself), ``"unsorted"``."""
    freqs = np.asarray(counts, dtype=float)
    if mistake != "unsorted":
        freqs = np.sort(freqs)[::-1]
    ranks = np.arange(1, len(freqs) + 1)
    slope = float(np.polyfit(np.log(ranks), np.log(freqs), 1)[0])
    return slope if mistake == "slope" else -slope
