"""Text tools that are no exercise answer: character tokens and reading a text file.

The word tokenizer, the vocabulary (``Vocab``) and padding (``pad_sequences``) answer lesson
01's exercises; they are no longer here. Lessons after 01 receive them as the hand-out file
``text.py`` released beside the notebook (``from text import Vocab``).
``PAD``/``UNK`` (the reserved token names) and ``tokenize_chars`` (``list(text)``) answer no
exercise and stay importable from here as well.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PAD", "UNK", "tokenize_chars", "load_text"]

PAD = "<pad>"
UNK = "<unk>"


def tokenize_chars(text: str) -> list[str]:
    """Split text into characters (spaces and punctuation included)."""
    return list(text)


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file (any text you want to model)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No text file at {path}.")
    return path.read_text(encoding="utf-8")
