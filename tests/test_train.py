"""rnnkit.train.fit: the one training loop every lesson uses."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from torch import nn

from rnnkit.train import History, detach_state, evaluate_loss, fit, grad_global_norm


def _regression(n_batches: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.tensor([[2.0], [-3.0]])
    out = []
    for _ in range(n_batches):
        X = torch.randn(16, 2, generator=g)
        out.append((X, X @ w + 0.5))
    return out


def _mse(model, batch):
    X, y = batch
    return ((model(X) - y) ** 2).mean()


def test_fit_learns_and_records_one_point_per_epoch():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    batches = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, batches, _mse, opt, epochs=5, progress=False)
    assert isinstance(hist, History)
    assert hist.step == [8, 16, 24, 32, 40]
    assert hist.epoch == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(hist.grad_norm) == 40
    assert hist.train_loss[-1] < 0.01 * hist.train_loss[0]
    assert all(math.isnan(v) for v in hist.valid_loss)
    assert torch.allclose(model.weight.detach(), torch.tensor([[2.0, -3.0]]), atol=0.05)


def test_train_loss_is_weighted_by_items():
    model = nn.Linear(1, 1)
    batches = [(torch.tensor(1.0), 1), (torch.tensor(4.0), 3)]

    def loss_fn(model, batch):
        value, n = batch
        return value + 0.0 * model.weight.sum(), n

    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    hist = fit(model, batches, loss_fn, opt, epochs=1, progress=False)
    assert hist.train_loss == [pytest.approx((1.0 * 1 + 4.0 * 3) / 4)]
    assert hist.train_perplexity == [pytest.approx(math.exp(13 / 4))]


def test_generator_batches_need_a_function_per_epoch():
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = _regression()
    with pytest.raises(ValueError, match="generator is used up"):
        fit(model, iter(data), _mse, opt, epochs=2, progress=False)
    seen = []

    def batches(epoch):
        seen.append(epoch)
        return (b for b in data)

    hist = fit(model, batches, _mse, opt, epochs=3, progress=False)
    assert seen == [0, 1, 2]
    assert hist.step == [8, 16, 24]


def test_evaluate_and_eval_every():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    valid = _regression(2, seed=1)
    modes = []

    def evaluate(m):
        modes.append(m.training)
        return {"loss": evaluate_loss(m, valid, _mse), "accuracy": 0.5}

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, _regression(), _mse, opt, epochs=2, evaluate=evaluate, eval_every=4,
               progress=False)
    assert hist.step == [4, 8, 12, 16]
    assert hist.epoch == [0.5, 1.0, 1.5, 2.0]
    assert modes == [False] * 4 and model.training
    assert hist.valid_metrics[0]["accuracy"] == 0.5
    assert hist.valid_loss[-1] < hist.valid_loss[0]
    assert hist.valid_perplexity[-1] == pytest.approx(math.exp(hist.valid_loss[-1]))


def test_eval_every_without_length_gets_epoch_positions_after_first_epoch():
    model = nn.Linear(2, 1)
    data = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    hist = fit(model, lambda e: iter(data), _mse, opt, epochs=2, eval_every=2, progress=False)
    assert hist.epoch == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]


def test_clip_rescales_to_global_norm_and_keeps_direction():
    model = nn.Linear(3, 2)
    X = torch.randn(5, 3) * 10
    batches = [(X, torch.randn(5, 2) * 100)]
    before = [p.detach().clone() for p in model.parameters()]
    # the raw gradient, computed by hand
    loss = _mse(model, batches[0])
    raw = torch.autograd.grad(loss, list(model.parameters()))
    raw_norm = float(torch.sqrt(sum((g**2).sum() for g in raw)))
    assert raw_norm > 1.0
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    hist = fit(model, batches, _mse, opt, epochs=1, clip=1.0, progress=False)
    assert hist.grad_norm == [pytest.approx(raw_norm, rel=1e-5)]
    assert hist.clipped == [True]
    update = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters())])
    raw_flat = torch.cat([g.flatten() for g in raw])
    assert float(update.norm()) == pytest.approx(1.0, rel=1e-4)
    cos = float(update @ raw_flat / (update.norm() * raw_flat.norm()))
    assert cos == pytest.approx(1.0, abs=1e-6)


def test_small_gradients_are_not_clipped():
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    hist = fit(model, _regression(1), lambda m, b: 1e-6 * _mse(m, b), opt, clip=10.0,
               progress=False)
    assert hist.clipped == [False]


def test_reset_is_called_each_epoch_and_around_evaluation():
    calls = []

    class Loss:
        def reset(self):
            calls.append("reset")

        def __call__(self, model, batch):
            calls.append("batch")
            return _mse(model, batch)

    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    fit(model, _regression(2), Loss(), opt, epochs=2, evaluate=lambda m: 0.0, progress=False)
    assert calls == ["reset", "batch", "batch", "reset", "reset"] * 2


def test_non_finite_loss_stops_with_a_clear_error():
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(FloatingPointError, match="step 1"):
        fit(model, _regression(1), lambda m, b: _mse(m, b) * math.inf, opt, progress=False)


def test_bad_loss_fn_return_value():
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="scalar"):
        fit(model, _regression(1), lambda m, b: m(b[0]), opt, progress=False)


def test_progress_bar_goes_to_stdout_only(capsys):
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    fit(model, _regression(), _mse, opt, epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert err == ""
    assert "16/16" in out


def test_history_figure_is_labelled():
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    hist = fit(model, _regression(), _mse, opt, epochs=2, evaluate=lambda m: 1.0,
               progress=False)
    fig = hist.figure(curve="perplexity", floor=1.5)
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "perplexity" in fig.layout.yaxis.title.text
    assert [d.name for d in fig.data] == ["training", "held-out"]
    assert fig.layout.shapes[0].y0 == 1.5
    assert list(fig.data[0].x) == [8, 16]
    assert list(fig.data[1].y) == pytest.approx([math.e, math.e])
    with pytest.raises(ValueError):
        hist.figure(curve="accuracy")


def test_lay_out_sets_title_labels_and_margins_on_every_axis():
    from plotly.subplots import make_subplots

    from rnnkit.layout import MARGIN, lay_out

    fig = lay_out(make_subplots(rows=1, cols=2), "t", "x (units)", "y (units)",
                  margin={"t": 70}, yaxis={"type": "log"}, barmode="group")
    assert fig.layout.title.text == "t" and fig.layout.barmode == "group"
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == "x (units)"
    assert fig.layout.yaxis2.title.text == "y (units)" and fig.layout.yaxis2.type == "log"
    assert fig.layout.margin.t == 70 and fig.layout.margin.b == MARGIN["b"]
    with pytest.raises(ValueError, match="label"):
        lay_out(go.Figure(), "t", "", "y")


def test_epoch_batches_are_reproducible_and_differ_between_epochs():
    from rnnkit.batching import random_windows

    make = random_windows(np.arange(200), T=5, batch_size=4, n_batches=3, seed=7)
    a, b = make(0), make(0)
    assert len(a) == 3 and all(torch.equal(x[0], y[0]) for x, y in zip(a, b))
    assert not torch.equal(make(1)[0][0], a[0][0])


def test_live_plot_updates_one_widget(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, _regression(), _mse, opt, epochs=3, evaluate=lambda m: 2.0, live=True,
               curve="loss", progress=False)
    assert len(shown) == 1
    fig = shown[0]
    assert list(fig.data[0].y) == pytest.approx(hist.train_loss)
    assert list(fig.data[1].y) == [2.0, 2.0, 2.0]


def _count_draws(monkeypatch):
    """Record every redraw of the live plot: the number of points it drew."""
    import rnnkit.train as train

    draws = []
    draw = train._Live._draw

    def counting(self, history):
        draws.append(len(history.step))
        draw(self, history)

    monkeypatch.setattr(train._Live, "_draw", counting)
    return draws


def test_live_plot_is_throttled_and_ends_on_the_returned_history(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setattr("rnnkit.train.LIVE_INTERVAL", 3600.0)  # nothing redraws on time alone
    draws = _count_draws(monkeypatch)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, _regression(), _mse, opt, epochs=5, eval_every=1, evaluate=lambda m: 2.0,
               live=True, curve="perplexity", progress=False)
    assert len(hist.step) == 40  # one point per step (an epoch adds none after its last step)
    assert draws == [1, 40]  # the first point at once, then the final state
    fig = shown[0]
    assert list(fig.data[0].y) == pytest.approx(hist.train_perplexity)
    assert list(fig.data[1].y) == pytest.approx(hist.valid_perplexity)


def test_live_plot_redraws_every_point_when_the_interval_is_zero(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    monkeypatch.setattr("rnnkit.train.LIVE_INTERVAL", 0.0)
    draws = _count_draws(monkeypatch)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, _regression(), _mse, opt, epochs=2, eval_every=4, live=True, progress=False)
    assert draws == [1, 2, 3, 4]  # every point once, no second draw of the final state


def test_live_plot_shows_what_was_recorded_when_training_stops_with_an_error(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setattr("rnnkit.train.LIVE_INTERVAL", 3600.0)
    calls = []

    def blows_up(model, batch):
        calls.append(1)
        return _mse(model, batch) * (math.inf if len(calls) > 6 else 1.0)

    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(FloatingPointError, match="step 7"):
        fit(model, _regression(), blows_up, opt, eval_every=2, live=True, progress=False)
    assert list(shown[0].data[0].x) == [2, 4, 6]


def test_clipping_records_the_same_norm_as_grad_global_norm():
    seen = []

    def loss_fn(model, batch):
        return _mse(model, batch) * 50.0

    class Spy(torch.optim.SGD):
        def step(self, closure=None):  # after clipping: the clipped gradients' norm
            seen.append(grad_global_norm(p for g in self.param_groups for p in g["params"]))
            return super().step(closure)

    model = nn.Linear(2, 1)
    opt = Spy(model.parameters(), lr=0.001)
    hist = fit(model, _regression(), loss_fn, opt, clip=1.0, progress=False)
    for norm, clipped, after in zip(hist.grad_norm, hist.clipped, seen):
        assert clipped == (norm > 1.0)
        assert after == pytest.approx(min(norm, 1.0), rel=1e-5)


def test_grad_global_norm_and_detach_state():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    assert grad_global_norm([a, b]) == pytest.approx(5.0)
    h = torch.ones(2, requires_grad=True) * 2
    c = torch.ones(2, requires_grad=True) * 3
    h2, c2 = detach_state((h, c))
    assert not h2.requires_grad and not c2.requires_grad
    assert np.allclose(h2.numpy(), 2.0) and detach_state(None) is None


def test_progress_bar_learns_its_length_after_one_epoch(capsys):
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = _regression()
    fit(model, lambda e: iter(data), _mse, opt, epochs=3, progress=True)
    out, err = capsys.readouterr()
    assert err == "" and "24/24" in out


def test_steps_per_epoch_with_one_endless_generator():
    drawn = []

    def endless():
        data = _regression()
        i = 0
        while True:
            drawn.append(i)
            yield data[i % len(data)]
            i += 1

    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    hist = fit(model, endless(), _mse, opt, epochs=3, steps_per_epoch=5, eval_every=5,
               progress=False)
    assert hist.step == [5, 10, 15] and hist.epoch == [1.0, 2.0, 3.0]
    assert drawn == list(range(15))  # no batch drawn and thrown away
