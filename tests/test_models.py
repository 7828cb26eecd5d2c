"""rnnkit.models: the torch character language model, its loss and its perplexity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.batching import seq_data_iter_sequential
from rnnkit.models import CharRNN, LMLoss, text_nll, text_perplexity
from rnnkit.train import fit


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("embed", [None, 8])
def test_shapes(cell, embed):
    torch.manual_seed(0)
    model = CharRNN(11, 16, embed_size=embed, cell=cell)
    logits, state = model(torch.randint(0, 11, (3, 7)))
    assert logits.shape == (3, 7, 11)
    first = state[0] if cell == "lstm" else state
    assert first.shape == (1, 3, 16)


def test_unknown_cell():
    with pytest.raises(ValueError, match="cell"):
        CharRNN(5, cell="transformer")


def test_uniform_model_has_perplexity_V():
    model = CharRNN(13, 8)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    ids = np.random.default_rng(0).integers(0, 13, 500)
    assert text_perplexity(model, ids) == pytest.approx(13.0, rel=1e-6)


def test_text_nll_does_not_depend_on_chunking():
    torch.manual_seed(1)
    model = CharRNN(9, 12)
    ids = np.random.default_rng(1).integers(0, 9, 301)
    total, n = text_nll(model, ids, chunk=1000)
    assert n == 300
    assert text_nll(model, ids, chunk=7)[0] == pytest.approx(total, rel=1e-5)
    # by hand: one pass, sum of -log p(next)
    with torch.no_grad():
        logits, _ = model(torch.tensor(ids[None, :-1]))
    logp = torch.log_softmax(logits[0], -1)
    by_hand = -float(logp[torch.arange(300), torch.tensor(ids[1:])].sum())
    assert total == pytest.approx(by_hand, rel=1e-5)


def test_lm_loss_carries_a_detached_state():
    torch.manual_seed(2)
    model = CharRNN(6, 10)
    ids = torch.randint(0, 6, (2, 21))
    X, Y = ids[:, :-1], ids[:, 1:]
    loss_fn = LMLoss(carry_state=True)
    l1, n1 = loss_fn(model, (X[:, :10], Y[:, :10]))
    assert n1 == 20 and not loss_fn.state.requires_grad
    l2, _ = loss_fn(model, (X[:, 10:], Y[:, 10:]))
    l2.backward()  # no "backward through the graph a second time": the state was detached
    l1.backward()
    # carried state: the two halves give the loss of the whole sequence
    logits, _ = model(X)
    whole = torch.nn.functional.cross_entropy(logits.reshape(-1, 6), Y.reshape(-1))
    expected = (float(l1.detach()) + float(l2.detach())) / 2
    assert float(whole.detach()) == pytest.approx(expected, rel=1e-5)
    loss_fn.reset()
    assert loss_fn.state is None
    fresh = LMLoss(carry_state=False)
    fresh(model, (X[:, :10], Y[:, :10]))
    assert fresh.state is None


def test_lm_loss_accepts_numpy_and_restarts_on_new_batch_size():
    model = CharRNN(6, 4)
    loss_fn = LMLoss()
    loss_fn(model, (np.zeros((3, 5), int), np.ones((3, 5), int)))
    _loss, n = loss_fn(model, (np.zeros((2, 5), int), np.ones((2, 5), int)))
    assert n == 10 and loss_fn.state.shape == (1, 2, 4)


def test_trained_model_learns_a_cycle_and_samples_it():
    torch.manual_seed(3)
    ids = np.tile(np.arange(5), 300)
    model = CharRNN(5, 16)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    hist = fit(model, lambda e: list(seq_data_iter_sequential(ids, 4, 10)), LMLoss(), opt,
               epochs=3, clip=1.0, evaluate=lambda m: math.log(text_perplexity(m, ids[:200])),
               progress=False)
    assert hist.valid_perplexity[-1] < 1.05
    assert model.sample([0, 1], 8, temperature=0) == [2, 3, 4, 0, 1, 2, 3, 4]
    g = torch.Generator().manual_seed(0)
    assert model.sample([3], 4, generator=g) == [4, 0, 1, 2]
    assert model.training
    with pytest.raises(ValueError):
        model.sample([], 3)


def test_comparison_figure():
    from rnnkit.models import comparison_figure

    fig = comparison_figure({"uniform": 23.0, "rnn": 1.38}, floor=1.34)
    assert list(fig.data[0].y) == [23.0, 1.38]
    assert fig.layout.title.text and fig.layout.yaxis.title.text and fig.layout.xaxis.title.text
