"""Lesson 04's maths (autograder.impl.bptt: backward pass, cross-entropy over time,
truncation, clipping, finite differences, the fast trainer) against finite differences and
torch autograd, its mistake variants, and rnnkit.bptt's tools (gradient check, figures)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.impl import bptt as impl
from autograder.impl.rnn_numpy import init_params, model_forward, rnn_forward, rnn_step_forward
from rnnkit import bptt
from rnnkit.checks import CheckFailed, rel_error


def _numeric(f, a, df=None, eps=1e-5):
    """d sum(f() * df) / d a by impl.numeric_grad, with ``a`` changed in place (CS231n style)."""
    def value(v):
        old = a.copy()
        a[...] = v
        try:
            out = np.asarray(f(), dtype=np.float64)
            return float(np.sum(out * df)) if df is not None else float(out)
        finally:
            a[...] = old

    return impl.numeric_grad(value, a.copy(), eps)


def _gradcheck(backward, rng, **kw):
    return bptt.gradcheck_rnn_backward(backward, rng, rnn_forward, impl.numeric_grad, **kw)


def _case(rng, N=3, T=5, D=4, H=6):
    X = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    Wxh = rng.normal(scale=0.5, size=(D, H))
    Whh = rng.normal(scale=0.5, size=(H, H))
    bh = rng.normal(scale=0.5, size=H)
    return X, h0, Wxh, Whh, bh


def test_step_backward_by_hand():
    # one unit, one input: h = tanh(2*1 + 0.5*1 + 0) = tanh(2.5)
    x, h_prev = np.array([[1.0]]), np.array([[1.0]])
    Wxh, Whh, bh = np.array([[2.0]]), np.array([[0.5]]), np.zeros(1)
    _h, cache = rnn_step_forward(x, h_prev, Wxh, Whh, bh)
    dx, dh_prev, dWxh, dWhh, dbh = impl.rnn_step_backward(np.array([[1.0]]), cache)
    d = 1 - np.tanh(2.5) ** 2
    assert dx[0, 0] == pytest.approx(2 * d)
    assert dh_prev[0, 0] == pytest.approx(0.5 * d)
    assert dWxh[0, 0] == pytest.approx(d) and dWhh[0, 0] == pytest.approx(d)
    assert dbh.shape == (1,) and dbh[0] == pytest.approx(d)


def test_step_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    X, h0, Wxh, Whh, bh = _case(rng)
    x = X[:, 0]
    dh = rng.normal(size=h0.shape)
    _, cache = rnn_step_forward(x, h0, Wxh, Whh, bh)
    grads = impl.rnn_step_backward(dh, cache)
    for g, a in zip(grads, (x, h0, Wxh, Whh, bh)):
        num = _numeric(lambda: rnn_step_forward(x, h0, Wxh, Whh, bh)[0], a, df=dh)
        assert rel_error(g, num) < 1e-7


def test_rnn_backward_matches_finite_differences_and_torch():
    rng = np.random.default_rng(2)
    report = _gradcheck(impl.rnn_backward, rng)
    assert report.ok, report.table()
    report = _gradcheck(impl.rnn_backward, rng, against="torch", tol=1e-10)
    assert report.ok, report.table()


def _no_dh_next(dH, cache):
    """The classic bug: each step only sees the gradient from its own output."""
    _N, T, _H = dH.shape
    outs = [impl.rnn_step_backward(dH[:, t], cache[t]) for t in range(T)]
    dX = np.stack([o[0] for o in outs], axis=1)
    return dX, outs[0][1], sum(o[2] for o in outs), sum(o[3] for o in outs), sum(o[4] for o in outs)


def test_gradcheck_names_the_time_step_and_the_dh_next_bug():
    report = _gradcheck(_no_dh_next, np.random.default_rng(3))
    assert not report.ok
    _name, t, err = report.first_failure()
    assert t == 1 and err > 1e-3
    with pytest.raises(CheckFailed, match="time step 1.*dh_next"):
        report.raise_if_failed()
    assert "loss at step" in report.table()


def test_gradcheck_names_a_wrong_bias_gradient():
    def no_bias(dH, cache):
        dX, dh0, dWxh, dWhh, dbh = impl.rnn_backward(dH, cache)
        return dX, dh0, dWxh, dWhh, np.zeros_like(dbh)

    report = _gradcheck(no_bias, np.random.default_rng(4))
    assert report.first_failure()[:2] == ("dbh", 0)


def test_truncated_backward():
    rng = np.random.default_rng(5)
    X, h0, Wxh, Whh, bh = _case(rng, T=7)
    _, cache = rnn_forward(X, h0, Wxh, Whh, bh)
    dH = rng.normal(size=(3, 7, 6))
    full = impl.rnn_backward(dH, cache)
    for k in (7, 10, None):
        for a, b in zip(impl.rnn_backward_truncated(dH, cache, k), full):
            np.testing.assert_allclose(a, b)
    # loss only at the last step: nothing reaches states before its window [6, 7) with k=3
    dH_last = np.zeros_like(dH)
    dH_last[:, -1] = 1.0
    dX, dh0, *_ = impl.rnn_backward_truncated(dH_last, cache, 3)
    assert np.all(dX[:, :6] == 0) and np.all(dh0 == 0) and np.any(dX[:, 6] != 0)
    # equals the sum of independent windows [0,3), [3,6), [6,7) run from their own states
    H = rnn_forward(X, h0, Wxh, Whh, bh)[0]
    starts = [h0, H[:, 2], H[:, 5]]
    total = [np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(bh)]
    for s, (a, b) in zip(starts, [(0, 3), (3, 6), (6, 7)]):
        _, c = rnn_forward(X[:, a:b], s, Wxh, Whh, bh)
        _, _, *g = impl.rnn_backward(dH[:, a:b], c)
        total = [t + gi for t, gi in zip(total, g)]
    got = impl.rnn_backward_truncated(dH, cache, 3)[2:]
    for a, b in zip(got, total):
        np.testing.assert_allclose(a, b)


def test_softmax_cross_entropy():
    O = np.zeros((2, 3, 5))
    Y = np.array([[0, 1, 2], [3, 4, 0]])
    loss, dO = impl.softmax_cross_entropy(O, Y)
    assert loss == pytest.approx(np.log(5))  # uniform over V = 5: perplexity exactly 5
    assert dO.shape == O.shape and dO[0, 0, 0] == pytest.approx((0.2 - 1) / 6)
    rng = np.random.default_rng(6)
    O = rng.normal(size=(2, 3, 5)) * 3
    loss, dO = impl.softmax_cross_entropy(O, Y)
    ref = torch.nn.functional.cross_entropy(torch.tensor(O).reshape(-1, 5),
                                            torch.tensor(Y).reshape(-1))
    assert loss == pytest.approx(float(ref))
    num = _numeric(lambda: impl.softmax_cross_entropy(O, Y)[0], O)
    np.testing.assert_allclose(dO, num, rtol=1e-6, atol=1e-9)
    # huge logits do not overflow
    loss, _ = impl.softmax_cross_entropy(np.array([[[1000.0, 0.0]]]), np.array([[0]]))
    assert loss == pytest.approx(0.0)


def _lm_case(rng, V: int, H: int, N: int, T: int):
    """Random parameters and batch; hidden states, loss and gradients from the step pairs."""
    p = init_params(V, H, V, rng)
    p["bh"], p["bq"] = rng.normal(size=H), rng.normal(size=V)
    X, Y = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    h0 = rng.normal(size=(N, H))
    O, Hs, cache = model_forward(p, np.eye(V)[X], h0)
    loss, dO = impl.softmax_cross_entropy(O, Y)
    return p, X, Y, h0, Hs, loss, impl.model_backward(dO, cache)


def test_model_backward_matches_torch():
    rng = np.random.default_rng(7)
    V, N, T = 6, 2, 4
    p, X, Y, h0, _, loss, g = _lm_case(rng, V, H=5, N=N, T=T)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    h, outs = torch.tensor(h0), []
    for t in range(T):
        h = torch.tanh(tp["Wxh"][X[:, t]] + h @ tp["Whh"] + tp["bh"])
        outs.append(h @ tp["Whq"] + tp["bq"])
    tl = torch.nn.functional.cross_entropy(torch.stack(outs, 1).reshape(-1, V),
                                           torch.tensor(Y).reshape(-1))
    tl.backward()
    assert loss == pytest.approx(float(tl.detach()))
    for k in p:
        np.testing.assert_allclose(g[k], tp[k].grad.numpy(), rtol=1e-8, atol=1e-12)


def test_fast_lm_grads_equal_the_reference_pairs():
    rng = np.random.default_rng(8)
    for V in (7, 300):  # one-hot product and scatter-add paths
        p, X, Y, h0, Hs, loss, g = _lm_case(rng, V, H=5, N=3, T=6)
        work: dict = {}
        for _ in range(2):  # the reused buffers give the same answer
            loss2, g2, hT = impl.lm_loss_and_grads(p, X, Y, h0, work)
            assert loss2 == pytest.approx(loss)
            np.testing.assert_allclose(hT, Hs[:, -1])
            for k in g2:
                np.testing.assert_allclose(g2[k], g[k], atol=1e-12)


def test_clip_by_global_norm_keeps_direction():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}
    clipped, norm = impl.clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert impl.global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.0, 0.8]])
    assert grads["a"][0] == 3.0  # inputs untouched
    same, norm = impl.clip_by_global_norm(grads, 10.0)
    np.testing.assert_allclose(same["b"], grads["b"])
    # element-wise clipping changes the direction; global-norm clipping does not
    g = np.array([10.0, 0.9])
    elementwise = np.clip(g, -1, 1)
    ours = impl.clip_by_global_norm({"g": g}, 1.0)[0]["g"]
    cos = lambda u, v: u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    assert cos(ours, g) == pytest.approx(1.0) and cos(elementwise, g) < 0.9


def test_numpy_trainer_learns_a_cycle():
    rng = np.random.default_rng(9)
    ids = np.tile(np.arange(5), 400)
    trainer = impl.NumpyTrainer(5, 16, rng, lr=1.0, clip=5.0)
    losses = trainer.fit(ids, batch_size=4, num_steps=10, epochs=3)
    assert trainer.params["Whh"].dtype == np.float32
    assert losses[0] > 1.4 and losses[-1] < 0.1
    assert len(trainer.grad_norms) == len(losses)


def test_figures_are_labelled():
    figs = [
        bptt.unrolled_graph_figure(3),
        bptt.gradient_reach_figure({"full": np.array([0.1, 0.5, 1.0]),
                                    "k = 1": np.array([0.0, 0.0, 1.0])}),
        bptt.clipping_figure([3.0, 0.6], 1.0),
        bptt.grad_norm_figure([0.5, 2.0, 1.5], clip=1.0),
    ]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "time step" in figs[0].layout.xaxis.title.text
    assert [d.name for d in figs[1].data] == ["full", "k = 1"]
    assert list(figs[1].data[1].y) == [0.0, 0.0, 1.0] and figs[1].layout.yaxis.type == "log"
    assert list(figs[3].data[0].y) == [0.5, 2.0, 1.5] and list(figs[3].data[0].x) == [1, 2, 3]
    assert figs[3].layout.shapes[0].y0 == 1.0  # the clipping threshold
    # the clipping picture: global-norm arrow has length 1 and the gradient's direction
    by_norm = next(d for d in figs[2].data if d.name == "clipped by global norm")
    end = np.array([by_norm.x[1], by_norm.y[1]])
    assert np.linalg.norm(end) == pytest.approx(1.0)
    assert end[1] / end[0] == pytest.approx(0.6 / 3.0)
    assert len(figs[0].layout.annotations) == 5 * 3


def test_the_one_loop_gives_full_and_truncated_and_each_mistake_differs():
    rng = np.random.default_rng(11)
    X, h0, Wxh, Whh, bh = _case(rng, T=7)
    _, cache = rnn_forward(X, h0, Wxh, Whh, bh)
    dH = rng.normal(size=(3, 7, 6))
    right = impl.bptt(dH, cache, 3)
    for mistake in impl.LOOP_MISTAKES + impl.TRUNCATION_MISTAKES + impl.STEP_MISTAKES:
        if mistake == "dWxh_transposed":  # D = 4, H = 6: the transposed product has no use
            continue
        wrong = impl.bptt(dH, cache, 3, mistake=mistake)
        assert any(a.shape != b.shape or not np.allclose(a, b) for a, b in zip(wrong, right)), \
            mistake
    # T = 7, k = 3: windows from the end ([0,1), [1,4), [4,7)) differ from [0,3), [3,6), [6,7)
    assert not np.allclose(impl.bptt(dH, cache, 3, "windows_from_end")[2], right[2])


def test_tanh_prime_mistakes_and_the_other_variants():
    rng = np.random.default_rng(12)
    X, h0, Wxh, Whh, bh = _case(rng, N=2, T=1, D=3, H=3)
    h, cache = rnn_step_forward(X[:, 0], h0, Wxh, Whh, bh)
    dh = rng.normal(size=h.shape)
    right = impl.rnn_step_backward(dh, cache)
    a = np.arctanh(h)
    no_square = impl.rnn_step_backward(dh, cache, "tanh_prime_no_square")
    np.testing.assert_allclose(no_square[4], (dh * (1 - np.tanh(a))).sum(0))
    for m in impl.STEP_MISTAKES:
        assert any(not np.allclose(u, v) for u, v in
                   zip(impl.rnn_step_backward(dh, cache, m), right)), m
    O, Y = rng.normal(size=(2, 3, 4)), rng.integers(0, 4, (2, 3))
    loss, dO = impl.softmax_cross_entropy(O, Y)
    for m in impl.CE_LOSS_MISTAKES:
        assert impl.softmax_cross_entropy(O, Y, m)[0] != pytest.approx(loss), m
    for m in impl.CE_GRAD_MISTAKES:
        assert not np.allclose(impl.softmax_cross_entropy(O, Y, m)[1], dO), m
    g = {"a": np.array([3.0, -0.5]), "b": np.array([[0.2, 4.0]])}
    for m in impl.CLIP_MISTAKES:
        def differs(max_norm, m=m):
            clipped, norm = impl.clip_by_global_norm(g, max_norm)
            c2, n2 = impl.clip_by_global_norm(g, max_norm, m)
            return n2 != pytest.approx(norm) or any(not np.allclose(c2[k], clipped[k]) for k in g)

        assert differs(1.0) or differs(10.0), m  # always_rescale shows below max_norm only
    f = np.linalg.norm
    x = np.array([1.0, -2.0, 0.5])
    good = impl.numeric_grad(f, x, 1e-3)
    np.testing.assert_allclose(good, x / f(x), atol=1e-6)
    for m in impl.NUMERIC_MISTAKES:
        assert not np.allclose(impl.numeric_grad(f, x, 1e-3, m), good, atol=1e-7), m


def test_lm_loss_in_torch():
    torch.manual_seed(0)
    model = torch.nn.RNN(4, 4, batch_first=True)
    X, Y = torch.randn(2, 3, 4), torch.randint(0, 4, (2, 3))
    s0 = torch.randn(1, 2, 4)
    loss, state = impl.lm_loss(model, X, Y, s0)
    logits, s = model(X, s0)
    ref = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), Y.reshape(-1))
    assert float(loss) == pytest.approx(float(ref)) and not state.requires_grad
    assert float(impl.lm_loss(model, X, Y, s0, "sum")[0]) == pytest.approx(6 * float(ref))
    assert impl.lm_loss(model, X, Y, s0, "not_detached")[1].requires_grad
