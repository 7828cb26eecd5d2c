"""Lesson 01 (sequences): random cases, classic mistakes and visible cases of its tests.

The answers themselves are :mod:`autograder.impl.text`; every expected value and every
mistake here is computed from it (a mistake is the same function with ``mistake=...``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from autograder.impl import text as impl
from autograder.mistakes import Planted, answer_source, plant
from autograder.render import cases, distinct_mistakes

HANDOUTS: list[str] = []

# expected values of the hidden tests, from the one implementation
word_tokens = impl.word_tokens
build_vocab = impl.build_vocab
encode = impl.encode
one_hot = impl.one_hot
embed = impl.embed
pad_and_mask = impl.pad_and_mask
masked_mean = impl.masked_mean
bag_of_words = impl.bag_of_words
zipf_exponent = impl.zipf_exponent

# ---------------------------------------------------------------------------- sentences

TOKEN_SENTENCES = {
    "no_lower": "the text must be lower-cased first, so that 'The' and 'the' are one token.",
    "split": "a punctuation mark is a token of its own, not part of the word before it.",
}
VOCAB_SENTENCES = {
    "no_reserved": "ids 0 and 1 are reserved for '<pad>' and '<unk>'.",
    "rare_first": "the most frequent token comes first.",
    "first_appearance": ("tokens are ordered by how often they occur, most frequent first "
                         "(ties keep the order of first appearance)."),
    "no_min_freq": "tokens seen fewer than min_freq times are left out of the vocabulary.",
}
ENCODE_SENTENCES = {
    "unk_zero": "an unknown token maps to the id of '<unk>', which is 1, not 0 ('<pad>').",
}
CAT_TOKEN_SENTENCES = {
    "seed": ("these are the lecture notes' tokens: the first word, 'The', was dropped; it is a "
             "token too (it becomes 'the')."),
    "no_lower": "'The' should be lower-cased, so it is the same token as 'the'.",
}
CAT_ID_SENTENCES = {
    "seed": ("these are the lecture notes' ids: they come from the tokens without 'The', and "
             "they use 0, the id reserved for '<pad>'; a real token's id starts at 2."),
    "no_reserved": "ids 0 and 1 are reserved for '<pad>' and '<unk>', so real tokens start at 2.",
    "no_lower": "'The' and 'the' must share one id, because the text is lower-cased.",
}
ONE_HOT_SENTENCES = {
    "transposed": ("the result is transposed: one row per position, one column per vocabulary "
                   "entry."),
}
EMBED_SENTENCES: dict[str, str] = {}
MASK_SENTENCES = {
    "mask_inverted": "the mask is True at real tokens and False at padding, not the other way round.",
    "pad_left": "pad on the right: the real tokens come first, the padding after them.",
}
PAD_SENTENCES = {
    "pad_zero": "the padding uses the pad_id argument, not always 0.",
    "pad_left": "pad on the right: the real tokens come first, the padding after them.",
}
MEAN_SENTENCES = {
    "divide_by_T": ("the padding was averaged in: divide by the number of real tokens, not "
                    "by T."),
}
BOW_SENTENCES = {"presence": "count every occurrence, not just whether a token occurs."}
ZIPF_SENTENCES = {
    "slope": "return minus the slope: the exponent s is positive.",
    "unsorted": "sort the counts from largest to smallest before fitting.",
}
ADAM_ROWS_SEED = ("Adam's first moment still remembers the gradient of row 1 from step 1, so "
                  "row 1 moves again in step 2 (only 'lazy' or sparse variants such as "
                  "torch.optim.SparseAdam or LazyAdam update just the rows in the batch; and "
                  "decoupled weight decay, as in AdamW, moves every row).")
ADAM_UNUSED_SEED = ("Adam's moments move unused rows: a row with a non-zero running average of "
                    "past gradients changes even when it is not in the batch (SparseAdam / "
                    "LazyAdam-style optimisers are the exception: they update only used rows).")
SGD_ROWS_SENTENCE = ("plain SGD only changes the rows whose gradient is non-zero, i.e. the rows "
                     "in the current batch.")


def _mistakes(fn, sentences, *args, **kwargs):
    return [(fn(*args, mistake=m, **kwargs), s) for m, s in sentences.items()]


def token_mistakes(text):
    return distinct_mistakes(word_tokens(text), _mistakes(word_tokens, TOKEN_SENTENCES, text))


def vocab_mistakes(tokens, min_freq=1):
    return distinct_mistakes(build_vocab(tokens, min_freq),
                             _mistakes(build_vocab, VOCAB_SENTENCES, tokens, min_freq))


def encode_mistakes(tokens, vocab):
    return distinct_mistakes(encode(tokens, vocab),
                             _mistakes(encode, ENCODE_SENTENCES, tokens, vocab))


# ---------------------------------------------------------------------------- visible cases

_CAT_TEXT = "The cat sat on the mat."
_APOS_TEXT = "It's  late,\nisn't it?"
_VOCAB_TOKS = ["b", "a", "c", "a", "b", "a", "d"]
_ENCODE_PROBE = ["a", "d", "zebra"]


@cases("t01_tokenize")
def _t01_tokenize():
    return {"_text": _CAT_TEXT, "_expected": word_tokens(_CAT_TEXT),
            "_mistakes": token_mistakes(_CAT_TEXT),
            "_text2": _APOS_TEXT, "_expected2": word_tokens(_APOS_TEXT),
            "_mistakes2": token_mistakes(_APOS_TEXT)}


@cases("t01_vocab")
def _t01_vocab():
    v = build_vocab(_VOCAB_TOKS)
    return {"_toks": _VOCAB_TOKS, "_vocab_expected": v, "_vocab_mistakes": vocab_mistakes(_VOCAB_TOKS),
            "_vocab2_expected": build_vocab(_VOCAB_TOKS, 2),
            "_vocab2_mistakes": vocab_mistakes(_VOCAB_TOKS, 2),
            "_probe": _ENCODE_PROBE, "_ids_expected": encode(_ENCODE_PROBE, v),
            "_ids_mistakes": encode_mistakes(_ENCODE_PROBE, v)}


@cases("t01_cat")
def _t01_cat():
    toks, ids = impl.cat_answer()
    return {"_tokens_expected": toks,
            "_tokens_mistakes": distinct_mistakes(
                toks, [(impl.cat_answer(m)[0], s) for m, s in CAT_TOKEN_SENTENCES.items()]),
            "_ids_expected": ids,
            "_ids_mistakes": distinct_mistakes(
                ids, [(impl.cat_answer(m)[1], s) for m, s in CAT_ID_SENTENCES.items()])}


_EMB_IDS = [2, 0, 3]


@cases("t01_embedding")
def _t01_embedding():
    E = np.arange(12.0).reshape(4, 3)
    oh = one_hot(_EMB_IDS, 4)
    return {"_ids": _EMB_IDS, "_onehot_expected": oh,
            "_onehot_mistakes": distinct_mistakes(oh, _mistakes(one_hot, ONE_HOT_SENTENCES,
                                                                _EMB_IDS, 4)),
            "_E": E, "_embed_expected": embed(_EMB_IDS, E),
            "_embed_mistakes": distinct_mistakes(embed(_EMB_IDS, E),
                                                 _mistakes(embed, EMBED_SENTENCES, _EMB_IDS, E))}


_SEQS = [[5, 6, 7], [8], [9, 4]]


@cases("t01_padding")
def _t01_padding():
    ids, mask = pad_and_mask(_SEQS)
    X = np.array([[[1.0], [2.0], [3.0]], [[4.0], [0.0], [0.0]], [[2.0], [6.0], [0.0]]])
    ids7, _ = pad_and_mask(_SEQS, 7)
    mean = masked_mean(X, mask)
    return {"_seqs": _SEQS, "_ids_expected": ids.tolist(), "_mask_expected": mask.tolist(),
            "_mask_mistakes": distinct_mistakes(
                mask.tolist(), [(pad_and_mask(_SEQS, mistake=m)[1].tolist(), s)
                                for m, s in MASK_SENTENCES.items()]),
            "_ids7_expected": ids7.tolist(),
            "_ids7_mistakes": distinct_mistakes(
                ids7.tolist(), [(pad_and_mask(_SEQS, 7, mistake=m)[0].tolist(), s)
                                for m, s in PAD_SENTENCES.items()]),
            "_X": X, "_mean_expected": mean,
            "_mean_mistakes": distinct_mistakes(mean, _mistakes(masked_mean, MEAN_SENTENCES,
                                                                X, mask))}


@cases("t01_bow")
def _t01_bow():
    ids = [2, 2, 4]
    bow = bag_of_words(ids, 5)
    return {"_ids": ids, "_expected": bow,
            "_mistakes": distinct_mistakes(bow, _mistakes(bag_of_words, BOW_SENTENCES, ids, 5))}


@cases("t01_zipf")
def _t01_zipf():
    exact = [1000 / r for r in range(1, 51)]
    shuffled = [float(c) for c in np.random.default_rng(0).permutation(
        [500 / r**1.5 for r in range(1, 41)])]
    return {"_counts": exact, "_expected": zipf_exponent(exact),
            "_mistakes": distinct_mistakes(zipf_exponent(exact),
                                           _mistakes(zipf_exponent, ZIPF_SENTENCES, exact)),
            "_shuffled": shuffled, "_expected2": zipf_exponent(shuffled),
            "_mistakes2": distinct_mistakes(zipf_exponent(shuffled),
                                            _mistakes(zipf_exponent, ZIPF_SENTENCES, shuffled))}


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


# ---------------------------------------------------------------------------- MCQs

MCQ_REASONS = {
    1: {"A": "a set where order does not matter is exactly what a sequence is not.",
        "B": "right: the order of the elements is what makes a sequence.",
        "C": "right: elements can repeat ('the' twice in 'the cat sat on the mat').",
        "D": "wrong: sequences have variable length, which is why padding and masks exist."},
    2: {"A": "right: an MLP takes one input of a fixed size, so a sentence must be cut or padded.",
        "B": ("debatable (neutral): a bag-of-words or averaging MLP loses order, but a "
              "concatenating MLP does see it through position-specific weights."),
        "C": "wrong: needing recurrent connections is what an RNN has, not a flaw of an MLP.",
        "D": "right: its input is one static vector of a fixed size."},
    3: {"A": "wrong here: a single image is one static input (a video, frames in time, would "
             "be a sequence).",
        "B": "right: a sentence is an ordered sequence of tokens.",
        "C": "right: records over time are ordered by time.",
        "D": "wrong: a single static vector has no order of elements to model."},
}

# ---------------------------------------------------------------------------- planted mistakes

_NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "01-sequences" / \
    "01-sequences.ipynb"


_answer_source = partial(answer_source, _NOTEBOOK)
_plant = partial(plant, _NOTEBOOK)


def _planted() -> list[Planted]:
    if not _NOTEBOOK.exists():
        return []
    tok, voc, cat, emb, adam = "q01_tokenize", "q01_vocab", "q01_cat", "q01_embedding", "q01_adam"
    pad, bow, zipf = "q01_padding", "q01_bow", "q01_zipf"
    return [
        _plant(tok, "t01_tokenize", "lower-cased", "no_lower",
               ("r\"[a-z0-9]+(?:'[a-z]+)?|[^\\sa-z0-9]\", text.lower()",
                "r\"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\\sA-Za-z0-9]\", text")),
        _plant(tok, "t01_tokenize", "token of its own", "split",
               ('return re.findall(r"[a-z0-9]+(?:\'[a-z]+)?|[^\\sa-z0-9]", text.lower())',
                "return text.lower().split()")),
        _plant(voc, "t01_vocab", "reserved", "no_reserved",
               ('return ["<pad>", "<unk>"] + [t for t in kept if t not in ("<pad>", "<unk>")]',
                "return kept")),
        _plant(voc, "t01_vocab", "most frequent first", "first_appearance",
               ("Counter(tokens).most_common()", "Counter(tokens).items()")),
        _plant(voc, "t01_vocab", "'<unk>', which is 1", "unk_zero",
               ("token_to_idx.get(t, 1)", "token_to_idx.get(t, 0)")),
        _plant(voc, "t01_vocab", "min_freq", "no_min_freq", ("if c >= min_freq", "")),
        _plant(cat, "t01_cat", "lecture notes' tokens", "seed_tokens",
               ('word_tokens("The cat sat on the mat")', 'word_tokens("cat sat on the mat")')),
        _plant(cat, "t01_cat", "lecture notes' ids", "seed_ids",
               ("cat_ids = encode(cat_tokens, build_vocab(cat_tokens))",
                "cat_ids = [0, 2, 3, 5, 6]")),
        _plant(emb, "t01_embedding", "transposed", "transposed",
               ("return np.eye(vocab_size)[np.asarray(ids)]",
                "return np.eye(vocab_size)[np.asarray(ids)].T")),
        _plant(adam, "t01_adam", "Adam's first moment", "adam_rows_seed",
               ("adam_rows = {1, 3}", "adam_rows = {3}")),
        _plant(adam, "t01_adam", "moments move unused rows", "adam_unused_seed",
               ("adam_moves_unused_rows = True", "adam_moves_unused_rows = False")),
        _plant(adam, "t01_adam", "plain SGD", "sgd_rows", ("sgd_rows = {3}", "sgd_rows = {1, 3}"),
               hidden=True),
        _plant(pad, "t01_padding", "not the other way round", "mask_inverted",
               ("    return ids, mask\n", "    return ids, ~mask\n")),
        _plant(pad, "t01_padding", "pad_id argument", "pad_zero",
               ("np.full((len(seqs), T), pad_id", "np.full((len(seqs), T), 0")),
        _plant(pad, "t01_padding", "averaged in", "divide_by_T",
               ("/ m.sum(axis=1)", "/ X.shape[1]")),
        _plant(bow, "t01_bow", "every occurrence", "presence",
               ("minlength=vocab_size).astype(float)", "minlength=vocab_size).clip(max=1).astype(float)")),
        _plant(zipf, "t01_zipf", "minus the slope", "slope",
               ("return float(-np.polyfit", "return float(np.polyfit")),
        _plant(zipf, "t01_zipf", "sort the counts", "unsorted",
               ("np.sort(np.asarray(counts, dtype=float))[::-1]", "np.asarray(counts, dtype=float)")),
    ]


PLANTED: list[Planted] = _planted()
