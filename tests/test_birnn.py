"""Lesson 07: the numpy BiRNN (autograder.impl.birnn) equals torch's bidirectional RNN once the
weights are mapped, its two halves are what their definitions say, each classic mistake
differs from the answer, and rnnkit.birnn's leak tools detect the future."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.impl import birnn as I
from autograder.impl.rnn_numpy import rnn_forward, rnn_step_forward
from rnnkit import birnn as B
from rnnkit import seqmodels as M
from rnnkit.batching import random_windows


def _case(N=3, T=5, D=4, H=6, seed=0):
    rng = np.random.default_rng(seed)
    p = B.init_birnn_params(D, H, rng, scale=2.0)
    return rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), p


def test_shapes_and_forward_half():
    X, hf, hb, p = _case()
    H = I.birnn_forward(X, hf, hb, p)
    assert H.shape == (3, 5, 12)
    Hf, _ = rnn_forward(X, hf, p["Wxh_f"], p["Whh_f"], p["bh_f"])
    np.testing.assert_allclose(H[..., :6], Hf)


def test_backward_half_is_stored_at_the_position_it_has_just_read():
    X, hf, hb, p = _case()
    H = I.birnn_forward(X, hf, hb, p)
    b_last, _ = rnn_step_forward(X[:, -1], hb, p["Wxh_b"], p["Whh_b"], p["bh_b"])
    np.testing.assert_allclose(H[:, -1, 6:], b_last)
    b_prev, _ = rnn_step_forward(X[:, -2], b_last, p["Wxh_b"], p["Whh_b"], p["bh_b"])
    np.testing.assert_allclose(H[:, -2, 6:], b_prev)
    # the backward half at position 0 depends on the last input, the forward half does not
    X2 = X.copy()
    X2[:, -1] += 1.0
    H2 = I.birnn_forward(X2, hf, hb, p)
    np.testing.assert_allclose(H2[:, 0, :6], H[:, 0, :6])
    assert np.abs(H2[:, 0, 6:] - H[:, 0, 6:]).max() > 1e-6


@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_bidirectional(bias):
    torch.manual_seed(1)
    rnn = torch.nn.RNN(4, 6, batch_first=True, bidirectional=True, bias=bias).double()
    p = I.torch_birnn_params(rnn)
    assert p["Wxh_f"].shape == (4, 6) and p["Whh_b"].shape == (6, 6) and p["bh_b"].shape == (6,)
    X, hf, hb, _ = _case()
    out, hn = rnn(torch.tensor(X), torch.tensor(np.stack([hf, hb])))
    H = I.birnn_forward(X, hf, hb, p)
    np.testing.assert_allclose(H, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(H[:, -1, :6], hn[0].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(H[:, 0, 6:], hn[1].detach().numpy(), atol=1e-12)


def test_both_biases_are_summed():
    rnn = torch.nn.RNN(3, 2, bidirectional=True)
    p = I.torch_birnn_params(rnn)
    forward = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    backward = (rnn.bias_ih_l0_reverse + rnn.bias_hh_l0_reverse).detach().numpy()
    np.testing.assert_allclose(p["bh_f"], forward, rtol=1e-6)
    np.testing.assert_allclose(p["bh_b"], backward, rtol=1e-6)
    assert np.abs(forward - backward).max() > 1e-3  # the two halves are not mixed up


def test_rejects_a_one_way_rnn():
    with pytest.raises(ValueError, match="bidirectional"):
        I.torch_birnn_params(torch.nn.RNN(3, 2))


def test_input_influence_sees_the_future_only_when_bidirectional():
    X = torch.randn(1, 6, 3)
    one = torch.nn.RNN(3, 4, batch_first=True)
    g = I.input_influence(one, X, 2)
    assert g.shape == (6,)
    assert (g[3:] == 0).all() and (g[:3] > 0).all()
    bi = torch.nn.RNN(3, 4, batch_first=True, bidirectional=True)
    assert (I.input_influence(bi, X, 2) > 0).all()
    assert X.grad is None  # the caller's tensor is left alone


def test_prefix_perplexity_equals_perplexity_for_a_one_way_model():
    m = M.Tagger(V=7, C=7, D=4, H=5)
    X = torch.randint(2, 7, (4, 6))
    Y = torch.randint(2, 7, (4, 6))
    with torch.no_grad():
        nll = torch.nn.functional.cross_entropy(m(X).transpose(1, 2), Y)
    assert B.prefix_perplexity(m, X, Y) == pytest.approx(float(torch.exp(nll)), rel=1e-5)
    bi = M.Tagger(V=7, C=7, D=4, H=5, bidirectional=True)
    with torch.no_grad():
        full = torch.exp(torch.nn.functional.cross_entropy(bi(X).transpose(1, 2), Y))
    assert B.prefix_perplexity(bi, X, Y) != pytest.approx(float(full), rel=1e-3)


def test_lm_batches_targets_are_the_next_tokens():
    ids = np.arange(100)
    (X, Y, _L), = random_windows(ids, T=8, batch_size=5, n_batches=1)(0)
    assert X.shape == Y.shape == (5, 8)
    assert torch.equal(Y[:, :-1], X[:, 1:]) and torch.equal(Y[:, -1], X[:, -1] + 1)


def test_figures_have_titles_and_axes():
    figs = [
        B.influence_figure({"one-way": np.eye(3), "BiRNN": np.ones((3, 3))}),
        B.tagging_accuracy_figure({"RNN": {"all": 0.8, "ambiguous": 0.5}}),
        B.perplexity_by_model_figure({"RNN": 1.7, "BiRNN": 1.04}, floor=1.34),
    ]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_every_classic_mistake_differs_from_the_answer():
    X, hf, hb, p = _case()
    H = I.birnn_forward(X, hf, hb, p)
    for m in I.BIRNN_MISTAKES:
        assert np.abs(I.birnn_forward(X, hf, hb, p, mistake=m) - H).max() > 1e-6, m
    torch.manual_seed(2)
    rnn = torch.nn.RNN(3, 4, batch_first=True, bidirectional=True)
    right = I.torch_birnn_params(rnn)
    for m in I.TORCH_PARAMS_MISTAKES:
        wrong = I.torch_birnn_params(rnn, mistake=m)
        assert any(wrong[k].shape != right[k].shape or not np.allclose(wrong[k], right[k])
                   for k in right), m
    x = torch.randn(1, 5, 3)
    g = I.input_influence(rnn, x, 1)
    for m in I.INFLUENCE_MISTAKES:
        assert not np.allclose(I.input_influence(rnn, x, 1, mistake=m), g), m


def test_leak_answer_is_the_last_position():
    assert I.LEAK_ANSWERS["leak_free_position"] == I.LEAK_T - 1
