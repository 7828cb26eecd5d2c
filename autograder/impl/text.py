"""Tokenizers, vocabularies, and padding with masks.

The course's conventions: word tokens are lower-cased words and punctuation marks; a
vocabulary reserves id 0 for ``<pad>`` and id 1 for ``<unk>``, then numbers the other tokens
by decreasing frequency, ties broken by first appearance, with no gaps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

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
]

PAD = "<pad>"
UNK = "<unk>"

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize_chars(text: str) -> list[str]:
    """Split text into characters (spaces and punctuation included)."""
    return list(text)


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


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file (any text you want to model)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No text file at {path}.")
    return path.read_text(encoding="utf-8")


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
        tokens = list(tokens)
        counts = Counter(tokens)  # Counter keeps first-appearance order for ties
        ordered = sorted(counts.items(), key=lambda kv: -kv[1])  # stable sort
        self.idx_to_token: list[str] = list(dict.fromkeys(reserved))
        for token, freq in ordered:
            if freq >= min_freq and token not in self.idx_to_token:
                self.idx_to_token.append(token)
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
