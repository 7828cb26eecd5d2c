import numpy as np
import pytest

from autograder.impl.text import PAD, UNK, Vocab, pad_sequences, tokenize, tokenize_words
from rnnkit.batching import num_batches, seq_data_iter_random, seq_data_iter_sequential
from rnnkit.text import load_text


def test_cat_sentence_tokens_and_ids():
    tokens = tokenize_words("The cat sat on the mat")
    assert tokens == ["the", "cat", "sat", "on", "the", "mat"]
    vocab = Vocab(tokens)
    assert vocab.encode(tokens) == [2, 3, 4, 5, 2, 6]
    assert vocab.idx_to_token[:2] == [PAD, UNK]


def test_word_tokenizer_keeps_punctuation_and_contractions():
    assert tokenize_words("It's late, isn't it?") == ["it's", "late", ",", "isn't", "it", "?"]
    assert tokenize_words("The Cat", lower=False) == ["The", "Cat"]
    assert tokenize("ab", "char") == ["a", "b"]
    with pytest.raises(ValueError):
        tokenize("ab", "sentence")


def test_vocab_frequency_order_min_freq_unknown_and_decode():
    v = Vocab(list("bacabad"), min_freq=2)
    assert v.idx_to_token == [PAD, UNK, "a", "b"]
    assert v["zzz"] == v.unk == 1 and v.pad == 0
    assert v.decode([2, 3]) == ["a", "b"]
    with pytest.raises(IndexError):
        v.decode([99])
    assert len(v) == 4 and "a" in v and "c" not in v


def test_pad_sequences_mask_and_cut():
    ids, mask = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    ids, mask = pad_sequences([[5, 6, 7]], max_len=2)
    assert ids.tolist() == [[5, 6]] and mask.all()


def test_load_text_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path / "nope.txt")
    (tmp_path / "a.txt").write_text("héllo", encoding="utf-8")
    assert load_text(tmp_path / "a.txt") == "héllo"


def test_sequential_batches_are_contiguous_and_targets_shifted():
    corpus = list(range(100))
    batches = list(seq_data_iter_sequential(corpus, batch_size=2, num_steps=5))
    assert len(batches) == num_batches(100, 2, 5)
    (x0, y0), (x1, _) = batches[0], batches[1]
    assert x0.shape == (2, 5)
    assert (y0 == x0 + 1).all()
    assert (x1[:, 0] == x0[:, -1] + 1).all()  # row i continues row i


def test_random_batches_cover_disjoint_windows():
    rng = np.random.default_rng(0)
    corpus = np.arange(200)
    seen = []
    for X, Y in seq_data_iter_random(corpus, batch_size=3, num_steps=4, rng=rng):
        assert X.shape == Y.shape == (3, 4)
        assert (Y == X + 1).all()
        seen.extend(X[:, 0].tolist())
    assert len(seen) == len(set(seen)) > 30


def test_batching_rejects_too_short_corpus():
    with pytest.raises(ValueError, match="too few"):
        list(seq_data_iter_sequential(range(5), batch_size=2, num_steps=5))
