"""The gated cells of lesson 08 against finite differences, torch autograd and nn.LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.impl import gated as g


def _lstm_case(rng, N=3, D=4, H=5):
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)),
            0.5 * rng.normal(size=(D, 4 * H)), 0.5 * rng.normal(size=(H, 4 * H)),
            rng.normal(size=4 * H))


def _gru_case(rng, N=3, D=4, H=5):
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)),
            0.5 * rng.normal(size=(D, 3 * H)), 0.5 * rng.normal(size=(H, 3 * H)),
            rng.normal(size=3 * H))


def _rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def test_sigmoid_is_stable_and_exact():
    a = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    with np.errstate(all="raise"):
        s = g.sigmoid(a)
    assert np.allclose(s, torch.sigmoid(torch.tensor(a)).numpy(), rtol=1e-12, atol=0)


def test_lstm_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    args = list(_lstm_case(rng))
    h, c, cache = g.lstm_step_forward(*args)
    dh, dc = rng.normal(size=h.shape), rng.normal(size=c.shape)
    grads = g.lstm_step_backward(dh, dc, cache)
    # backward returns (dx, dh_prev, dc_prev, dWx, dWh, db) for args (x, h_prev, c_prev, Wx, Wh, b)
    for k, grad in enumerate(grads):
        assert _rel(grad, g.numeric_step_grad(g.lstm_step_forward, args, k, (dh, dc))) < 1e-7, k


def test_gru_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    args = list(_gru_case(rng))
    h, cache = g.gru_step_forward(*args)
    dh = rng.normal(size=h.shape)
    grads = g.gru_step_backward(dh, cache)
    for k, grad in enumerate(grads):
        assert _rel(grad, g.numeric_step_grad(g.gru_step_forward, args, k, (dh,))) < 1e-7, k


def _torch_lstm(x, h, c, Wx, Wh, b):
    a = x @ Wx + h @ Wh + b
    i, f, gg, o = a.chunk(4, dim=1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
    return torch.sigmoid(o) * torch.tanh(c2), c2


def _torch_gru(x, h, Wx, Wh, b):
    xr, xz, xn = (x @ Wx + b).chunk(3, dim=1)
    Whr, Whz, Whn = Wh.chunk(3, dim=1)
    r = torch.sigmoid(xr + h @ Whr)
    z = torch.sigmoid(xz + h @ Whz)
    n = torch.tanh(xn + (r * h) @ Whn)
    return z * h + (1 - z) * n


def test_lstm_forward_and_backward_match_torch_autograd():
    rng = np.random.default_rng(2)
    args = _lstm_case(rng, N=2, D=3, H=4)
    h, c, cache = g.lstm_step_forward(*args)
    dh, dc = rng.normal(size=h.shape), rng.normal(size=c.shape)
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    th, tc = _torch_lstm(*ts)
    assert np.allclose(h, th.detach().numpy(), atol=1e-14)
    assert np.allclose(c, tc.detach().numpy(), atol=1e-14)
    ((th * torch.tensor(dh)).sum() + (tc * torch.tensor(dc)).sum()).backward()
    for ours, t in zip(g.lstm_step_backward(dh, dc, cache), ts):
        assert np.allclose(ours, t.grad.numpy(), atol=1e-12)


def test_gru_forward_and_backward_match_torch_autograd():
    rng = np.random.default_rng(3)
    args = _gru_case(rng, N=2, D=3, H=4)
    h, cache = g.gru_step_forward(*args)
    dh = rng.normal(size=h.shape)
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    th = _torch_gru(*ts)
    assert np.allclose(h, th.detach().numpy(), atol=1e-14)
    (th * torch.tensor(dh)).sum().backward()
    for ours, t in zip(g.gru_step_backward(dh, cache), ts):
        assert np.allclose(ours, t.grad.numpy(), atol=1e-12)


def test_lstm_equals_torch_nn_lstm_with_transposed_weights_and_summed_biases():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
    x, h0, c0 = torch.randn(2, 1, 3).double(), torch.randn(1, 2, 4).double(), \
        torch.randn(1, 2, 4).double()
    out, (hT, cT) = lstm(x, (h0, c0))
    Wx = lstm.weight_ih_l0.detach().numpy().T
    Wh = lstm.weight_hh_l0.detach().numpy().T
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    h, c, _ = g.lstm_step_forward(x[:, 0].numpy(), h0[0].numpy(), c0[0].numpy(), Wx, Wh, b)
    assert np.allclose(h, hT[0].detach().numpy(), atol=1e-12)
    assert np.allclose(c, cT[0].detach().numpy(), atol=1e-12)


def test_torch_nn_gru_is_the_reset_after_variant():
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4, batch_first=True, bias=False).double()
    x, h0 = torch.randn(2, 1, 3).double(), torch.randn(1, 2, 4).double()
    _, hT = gru(x, h0)
    Wx, Wh = gru.weight_ih_l0.detach().numpy().T, gru.weight_hh_l0.detach().numpy().T
    args = (x[:, 0].numpy(), h0[0].numpy(), Wx, Wh, np.zeros(12))
    assert np.allclose(g.gru_step_forward(*args, mistake="reset_after")[0], hT[0].detach().numpy(),
                       atol=1e-12)
    assert not np.allclose(g.gru_step_forward(*args)[0], hT[0].detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("mistake", g.LSTM_FORWARD_MISTAKES)
def test_every_lstm_forward_mistake_changes_the_result(mistake):
    args = _lstm_case(np.random.default_rng(4))
    right = g.lstm_step_forward(*args)
    wrong = g.lstm_step_forward(*args, mistake=mistake)
    assert not (np.allclose(right[0], wrong[0]) and np.allclose(right[1], wrong[1]))


@pytest.mark.parametrize("mistake", g.LSTM_BACKWARD_MISTAKES)
def test_every_lstm_backward_mistake_changes_the_result(mistake):
    rng = np.random.default_rng(5)
    _, _, cache = g.lstm_step_forward(*_lstm_case(rng))
    dh, dc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    right = g.lstm_step_backward(dh, dc, cache)
    wrong = g.lstm_step_backward(dh, dc, cache, mistake=mistake)
    assert not all(np.allclose(a, b) for a, b in zip(right, wrong))


@pytest.mark.parametrize("mistake", g.GRU_FORWARD_MISTAKES)
def test_every_gru_forward_mistake_changes_the_result(mistake):
    args = _gru_case(np.random.default_rng(6))
    assert not np.allclose(g.gru_step_forward(*args)[0],
                           g.gru_step_forward(*args, mistake=mistake)[0])


@pytest.mark.parametrize("mistake", g.GRU_BACKWARD_MISTAKES)
def test_every_gru_backward_mistake_changes_the_result(mistake):
    rng = np.random.default_rng(7)
    _, cache = g.gru_step_forward(*_gru_case(rng))
    dh = rng.normal(size=(3, 5))
    right, wrong = g.gru_step_backward(dh, cache), g.gru_step_backward(dh, cache, mistake=mistake)
    assert not all(np.allclose(a, b) for a, b in zip(right, wrong))


def _two_outputs(x, w):
    return np.sin(x) * w, x * w


def test_numeric_step_grad_is_centred_sums_every_output_and_leaves_args_alone():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    w = np.array([[1.5, -0.5], [0.2, 2.0]])
    x0 = x.copy()
    d1, d2 = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.5, 1.0], [-1.0, 2.0]])
    exact = np.cos(x) * w * d1 + w * d2
    num = g.numeric_step_grad(_two_outputs, [x, w], 0, (d1, d2), eps=1e-3)
    assert np.array_equal(x, x0)
    assert np.allclose(num, exact, rtol=1e-6)  # centred: error ~ eps**2 / 6
    for mistake in g.NUMERIC_MISTAKES:
        wrong = g.numeric_step_grad(_two_outputs, [x, w], 0, (d1, d2), eps=1e-3, mistake=mistake)
        assert not np.allclose(wrong, exact, rtol=1e-5), mistake


def test_parameter_counts_are_four_and_three_times_a_vanilla_cell():
    assert g.n_params("rnn", 28, 512) == 28 * 512 + 512 * 512 + 512
    assert g.n_params("lstm", 28, 512) == 4 * g.n_params("rnn", 28, 512)
    assert g.n_params("gru", 28, 512) == 3 * g.n_params("rnn", 28, 512)
    lstm = torch.nn.LSTM(28, 512)
    torch_count = sum(p.numel() for p in lstm.parameters())
    assert torch_count == g.n_params("lstm", 28, 512) + 4 * 512  # torch keeps two biases


def test_gradient_reach_equals_the_jacobian_of_a_direct_run():
    from torch import nn

    from rnnkit.gated_plots import attention_cost_table, gradient_reach

    T, H, D = 6, 4, 3
    curves = gradient_reach(length=T, hidden=H, inputs=D, seed=2, forget_bias=1.0)
    assert all(np.isclose(curves[k][-1], 1.0) for k in ("vanilla", "lstm", "gru"))
    torch.manual_seed(2)
    cells = {"vanilla": nn.RNNCell(D, H).double(), "lstm": nn.LSTMCell(D, H).double(),
             "gru": nn.GRUCell(D, H).double()}
    with torch.no_grad():
        cells["lstm"].bias_ih[H:2 * H] += 1.0
    xs = torch.randn(T, 1, D, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for name in ("vanilla", "gru"):
        states = [torch.zeros(1, H, dtype=torch.float64)]
        for x in xs:
            states.append(cells[name](x, states[-1]))
        for t in (0, 3):
            def run(h, t=t, name=name):
                for x in xs[t:]:
                    h = cells[name](x, h)
                return h
            J = torch.autograd.functional.jacobian(run, states[t].detach()).reshape(H, H)
            assert np.isclose(curves[name][t], float(torch.linalg.matrix_norm(J, ord=2)))
    h, c = torch.zeros(1, H, dtype=torch.float64), torch.zeros(1, H, dtype=torch.float64)
    hs, cs = [h], [c]
    for x in xs:
        h, c = cells["lstm"](x, (h, c))
        hs.append(h)
        cs.append(c)

    def run_c(c1):  # c_1 -> c_T, with h_1 = o_1 * tanh(c_1) recomputed from it (o_1 fixed)
        lstm = cells["lstm"]
        a = xs[0] @ lstm.weight_ih.T + hs[0] @ lstm.weight_hh.T + lstm.bias_ih + lstm.bias_hh
        h, c = torch.sigmoid(a[:, 3 * H:]) * torch.tanh(c1), c1
        for x in xs[1:]:
            h, c = lstm(x, (h, c))
        return c

    J = torch.autograd.functional.jacobian(run_c, cs[1].detach()).reshape(H, H)
    assert np.isclose(curves["lstm"][1], float(torch.linalg.matrix_norm(J, ord=2)))
    table = attention_cost_table([10, 1000], d_model=4)
    assert table[1]["attention_matrix_entries"] == 10**6 and table[1]["rnn_sequential_steps"] == 1000
    assert table[0]["score_multiply_adds"] == 400
