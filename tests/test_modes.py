"""rnnkit.seqdata, seqmodels, losses and modes (lesson 06): the data of each input/output mode
follow their rules; the models wire the
hidden states to the outputs as their mode says, and they learn their task."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from autograder.impl.text import Vocab
from rnnkit import birnn as B
from rnnkit import losses as LS
from rnnkit import modes as M
from rnnkit import seqdata as D
from rnnkit import seqmodels as S
from rnnkit.batching import shuffled_batches
from rnnkit.train import fit_adam


def test_data_are_deterministic():
    a, b = D.sentiment_data(200, seed=3, vocab=Vocab), D.sentiment_data(200, seed=3, vocab=Vocab)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Y, b.Y)
    assert not np.array_equal(a.X, D.sentiment_data(200, seed=4, vocab=Vocab).X)


def test_sentiment_labels_follow_the_negation_rule():
    d = D.sentiment_data(300, seed=1, vocab=Vocab)
    assert set(np.unique(d.Y)) == {0, 1}
    for x, y, n in zip(d.X, d.Y, d.lengths):
        words = d.src.decode(x[:n])
        assert (x[n:] == 0).all() and (x[:n] != 0).all()
        score = 0
        for i, w in enumerate(words):
            s = (w in D.POSITIVE_WORDS) - (w in D.NEGATIVE_WORDS)
            score += -s if i and words[i - 1] == "not" else s
        assert score != 0 and int(score > 0) == y


def test_name_tags_begin_and_continue():
    d = D.name_tagging_data(100, seed=2, vocab=Vocab)
    B, I, O = (D.NER_TAGS.index(t) for t in ("B-PER", "I-PER", "O"))
    words = d.src.decode(d.X[0][: d.lengths[0]])
    for x, y, n in zip(d.X, d.Y, d.lengths):
        words = d.src.decode(x[:n])
        for i, w in enumerate(words):
            names = D.PERSON_NAMES
            want = O if w not in names else I if i and words[i - 1] in names else B
            assert y[i] == want
        assert (y[n:] == 0).all()


def test_translation_drops_articles_and_moves_adjectives():
    d = D.translation_data(50, seed=0, vocab=Vocab)
    for x, y, n in zip(d.X, d.Y, d.lengths):
        src = d.src.decode(x[:n])
        tgt = [t for t in d.tgt.decode(y) if t != "<pad>"]
        words = [w for w in src if w not in D.ARTICLES]
        want, i = [], 0
        while i < len(words):
            if words[i] in D.SRC_ADJS:
                want += [D.SRC_NOUNS[words[i + 1]], D.SRC_ADJS[words[i]]]
                i += 2
            else:
                want.append({**D.SRC_NOUNS, **D.SRC_VERBS}[words[i]])
                i += 1
        assert tgt == want + ["<eos>"]
        assert len(tgt) != n  # unaligned: the lengths differ


def test_melody_steps_by_style():
    d = D.melody_data(40, T=6, seed=0, vocab=Vocab)
    for c, y in zip(d.X, d.Y):
        notes = [D.NOTES.index(t) for t in d.tgt.decode(y)]
        step = D.MELODY_STEPS[d.src[c]]
        assert all((b - a) % 8 == step % 8 for a, b in itertools.pairwise(notes))


def test_right_context_decides_the_ambiguous_tags():
    d = B.right_context_data(300, seed=0, vocab=Vocab)
    verb, noun = B.RC_TAGS.index("VERB"), B.RC_TAGS.index("NOUN")
    amb = d.extra["ambiguous"]
    for x, y, a in zip(d.X, d.Y, amb):
        words = d.src.decode(x)
        for t in np.flatnonzero(a):
            nxt = words[t + 1] if t + 1 < len(words) else None
            assert y[t] == (verb if nxt in B.DETERMINERS else noun)
    share_verb = (d.Y[amb] == verb).mean()
    assert 0.35 < share_verb < 0.55  # neither reading can be guessed from the prior alone


def test_batches_cover_each_example_once_per_epoch():
    d = D.sentiment_data(70, vocab=Vocab)
    make = shuffled_batches(d, 16, seed=0)
    first = make(0)
    assert [len(b[0]) for b in first] == [16, 16, 16, 16, 6]
    seen = torch.cat([b[0] for b in first])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, d.X.tolist()))
    assert not torch.equal(make(0)[0][0], make(1)[0][0])


def test_one_to_one_is_a_feed_forward_layer():
    m = S.OneToOne(V=10, C=3, D=4, H=5)
    x = torch.tensor([1, 4, 7])
    e = m.embed(x)
    h = torch.tanh(e @ m.rnn.weight_ih_l0.T + m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0)
    torch.testing.assert_close(m(x), m.out(h))


def test_classifier_reads_the_last_real_token_not_the_padding():
    m = S.SequenceClassifier(V=12, C=2, D=4, H=6)
    X = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
    L = torch.tensor([3, 5])
    longer = torch.cat([X, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(m(X, L), m(longer, L))
    torch.testing.assert_close(m(X, L)[0], m(X[:1, :3], L[:1])[0])


def test_one_way_tagger_is_causal_bidirectional_is_not():
    X = torch.tensor([[2, 3, 4, 5, 6]])
    Z = X.clone()
    Z[0, 4] = 7
    one = S.Tagger(V=8, C=3, D=4, H=5)
    torch.testing.assert_close(one(X)[0, :4], one(Z)[0, :4])
    bi = S.Tagger(V=8, C=3, D=4, H=5, bidirectional=True)
    assert bi.out.in_features == 10
    assert not torch.allclose(bi(X)[0, :4], bi(Z)[0, :4])


def test_generator_feeds_its_outputs_back():
    d = D.melody_data(400, seed=0, vocab=Vocab)
    m = S.ClassToSequence(4, len(d.tgt))
    fit_adam(m, d, LS.token_loss, epochs=8, progress=False)
    out = m.generate(torch.arange(4), 8, generator=torch.Generator().manual_seed(0))
    for c, row in enumerate(out.tolist()):
        notes = [D.NOTES.index(t) for t in d.tgt.decode(row)]
        step = D.MELODY_STEPS[d.src[c]]
        assert all((b - a) % 8 == step % 8 for a, b in itertools.pairwise(notes))


def test_encoder_decoder_learns_to_translate():
    tr, va = D.translation_data(3000, seed=0, vocab=Vocab).split(200)
    m = S.EncoderDecoder(len(tr.src), len(tr.tgt))
    h = fit_adam(m, tr, LS.token_loss, epochs=4, valid=va, progress=False)
    assert h.valid_loss[-1] < 0.05
    X, Y, L = va.tensors()
    want = [[t for t in y if t not in (0, 3)] for y in Y.tolist()]
    assert np.mean([a == b for a, b in zip(m.translate(X, L), want)]) > 0.95


def test_taggers_on_the_right_context_task():
    tr, va = B.right_context_data(1500, seed=0, vocab=Vocab).split(300)
    amb = va.extra["ambiguous"]
    acc = {}
    for bi in (False, True):
        m = S.Tagger(len(tr.src), len(tr.tgt), bidirectional=bi)
        fit_adam(m, tr, LS.token_loss, epochs=6, progress=False)
        acc[bi] = LS.tag_accuracy(m, va, amb)
    assert acc[False] < 0.7 and acc[True] > 0.97


def test_figures_have_titles_and_axes():
    d = D.word_polarity_data(vocab=Vocab)
    h = fit_adam(S.OneToOne(len(d.src), 3), d, LS.classifier_loss, epochs=2, valid=d,
                progress=False)
    for fig in (M.modes_figure(), M.loss_curves_figure({"one-to-one": h})):
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    curves = M.loss_curves_figure({"a": h, "b": h})
    assert [d.name for d in curves.data] == ["a", "b"]
    assert list(curves.data[0].x) == h.step and list(curves.data[0].y) == h.valid_loss
    train = M.loss_curves_figure({"a": h}, which="train")
    assert list(train.data[0].y) == h.train_loss
    diagram = M.modes_figure()
    labels = {a.text for a in diagram.layout.annotations if a.text}
    assert labels == {f"<b>{mode}</b>" for mode in M.MODES}
    # one row of x, h and y boxes per mode: 3 traces each
    assert len(diagram.data) == 3 * len(M.MODES)


def test_numpy_step_formula_and_pickling():
    import pickle

    step = S.NumpyStep.random(V=5, H=3, seed=0)
    h = np.array([0.1, -0.2, 0.3])
    logits, h_next = step(2, h)
    want_h = np.tanh(step.Wxh[2] + h @ step.Whh)
    np.testing.assert_allclose(h_next, want_h)
    np.testing.assert_allclose(logits, want_h @ step.Why)
    again = pickle.loads(pickle.dumps(step))
    np.testing.assert_allclose(again(2, h)[0], logits)
    with_bias = S.NumpyStep(step.Wxh, step.Whh, step.Why, bh=np.ones(3), by=np.ones(5))
    np.testing.assert_allclose(with_bias(2, h)[1], np.tanh(step.Wxh[2] + h @ step.Whh + 1))


# ---------------------------------------------------------------- lesson 06's answers (impl)

from autograder.impl import modes as I  # noqa: E402


def test_greedy_decode_matches_a_hand_loop_and_its_mistakes_differ():
    step = S.NumpyStep.random(V=6, H=4, seed=14)
    h0 = np.zeros(4)
    out, h, tok = [], h0, 0
    for _ in range(10):
        logits, h = step(tok, h)
        tok = int(np.argmax(logits))
        if tok == 5:
            break
        out.append(tok)
    assert I.greedy_decode(step, h0, 0, 5, 10) == out
    assert I.greedy_decode(step, h0, 0, 5, 10, mistake="keep_eos") == out + [5]
    assert len(I.greedy_decode(step, h0, 0, 5, 3, mistake="one_too_many")) == 4


def test_last_hidden_and_the_torch_classifier_agree():
    H = np.random.default_rng(0).normal(size=(3, 5, 2))
    lengths = np.array([5, 1, 3])
    got = I.last_hidden(H, lengths)
    np.testing.assert_array_equal(got, np.stack([H[0, 4], H[1, 0], H[2, 2]]))
    assert I.last_hidden(H, lengths, mistake="no_minus_one") is None  # would index past T


def test_masked_cross_entropy_equals_torch_ignore_index():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 4, 5))
    tags = rng.integers(1, 5, size=(3, 4))
    mask = np.arange(4)[None] < np.array([4, 2, 1])[:, None]
    Y = torch.as_tensor(np.where(mask, tags, 0))
    want = torch.nn.functional.cross_entropy(torch.as_tensor(logits).transpose(1, 2), Y,
                                             ignore_index=0)
    assert I.masked_cross_entropy(logits, tags, mask) == pytest.approx(float(want), rel=1e-10)
    for m in I.MASKED_LOSS_MISTAKES:
        assert I.masked_cross_entropy(logits, tags, mask, mistake=m) != \
            pytest.approx(float(want), rel=1e-6), m


def test_head_shapes_mistakes_change_one_mode_each():
    right = I.head_shapes(2, 3, 4, 5, 6)
    assert set(right) == set(M.MODES) == set(I.MODES)
    for m in I.HEAD_SHAPES_MISTAKES:
        wrong = I.head_shapes(2, 3, 4, 5, 6, mistake=m)
        assert sum(wrong[k] != right[k] for k in right) == 1, m
    assert all(I.applications()[a] in ok for a, ok in I.APPLICATIONS.items())
