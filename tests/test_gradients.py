"""Lesson 05's maths: the exercises' one implementation (autograder.impl.gradients: the
activation derivatives, the Jacobian chain, the three predictions, the slope, clipping) checked
against finite differences and torch autograd, and rnnkit.gradients' tools (activations, the
bound, the weight initialisations, the driven RNN)."""

import math

import numpy as np
import pytest
import torch

from autograder.impl import gradients as impl
from rnnkit import gradients as g


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "identity"])
def test_activation_grad_matches_finite_differences(name):
    a = np.linspace(-4, 4, 41)
    eps = 1e-6
    numeric = (g.activate(a + eps, name) - g.activate(a - eps, name)) / (2 * eps)
    np.testing.assert_allclose(impl.activation_derivative(a, name), numeric, atol=1e-8)


def test_derivative_bounds_are_attained_and_not_exceeded():
    a = np.linspace(-10, 10, 2001)  # includes 0 exactly
    for name, bound in g.DERIVATIVE_BOUND.items():
        d = impl.activation_derivative(a, name)
        assert d.max() == pytest.approx(bound)
    assert impl.activation_derivative(np.array([0.0]), "sigmoid")[0] == pytest.approx(0.25)


def test_relu_grad_and_values():
    a = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g.activate(a, "relu"), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(impl.activation_derivative(a, "relu"), [0.0, 0.0, 1.0])


def test_sigmoid_does_not_overflow():
    with np.errstate(all="raise"):
        s = g.activate(np.array([-1000.0, 0.0, 1000.0]), "sigmoid")
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        g.activate(np.zeros(2), "softplus")


def test_one_relu_step_by_hand():
    Whh = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = np.array([[0.0, 5.0]])
    # J = diag([0, 1]) @ Whh.T = [[0, 0], [2, 4]], whose spectral norm is sqrt(20)
    np.testing.assert_allclose(impl.jacobian_norms(Whh, a, "relu"), [math.sqrt(20.0), 1.0])


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "identity"])
def test_jacobian_norms_match_torch_autograd(name):
    rng = np.random.default_rng(3)
    H, T = 4, 6
    Whh = rng.standard_normal((H, H)) * 0.7
    u = rng.standard_normal((T, H))
    h0 = rng.standard_normal(H)
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
            "identity": lambda z: z}
    W = torch.tensor(Whh)
    U = torch.tensor(u)

    def h_T_from(t, h_t):
        h = h_t
        for s in range(t, T):
            h = acts[name](h @ W + U[s])
        return h

    hs = [torch.tensor(h0)]
    a = []
    for s in range(T):
        a.append((hs[-1] @ W + U[s]).numpy())
        hs.append(acts[name](hs[-1] @ W + U[s]))
    G = [torch.autograd.functional.jacobian(lambda h, t=t: h_T_from(t, h), hs[t]).numpy()
         for t in range(T + 1)]
    norms = impl.jacobian_norms(Whh, np.array(a), name)
    np.testing.assert_allclose(norms, [np.linalg.norm(G[t], 2) for t in range(T + 1)],
                               rtol=1e-10)
    assert norms[-1] == pytest.approx(1.0)


def test_linear_orthogonal_chain_is_exact_power():
    rng = np.random.default_rng(0)
    T = 30
    for sigma in (0.8, 1.0, 1.25):
        Whh = g.make_whh(8, sigma, "orthogonal", rng)
        a, _ = g.run_driven_rnn(Whh, T, "identity", 1.0, rng)
        norms = impl.jacobian_norms(Whh, a, "identity")
        np.testing.assert_allclose(norms, sigma ** (T - np.arange(T + 1)), rtol=1e-9)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("init", ["orthogonal", "gaussian", "non-normal"])
def test_norms_never_exceed_the_bound(name, init):
    rng = np.random.default_rng(7)
    T = 40
    Whh = g.make_whh(16, 1.3, init, rng)
    a, _ = g.run_driven_rnn(Whh, T, name, 0.5, rng)
    norms = impl.jacobian_norms(Whh, a, name)
    bound = g.decay_bound(Whh, T, name)
    assert bound[-1] == 1.0
    assert np.all(norms <= bound * (1 + 1e-9))


def test_sigmoid_bound_decays_by_a_quarter_of_sigma():
    Whh = 2.0 * np.eye(3)
    np.testing.assert_allclose(g.decay_bound(Whh, 4, "sigmoid"), [0.5**4, 0.5**3, 0.25, 0.5, 1])


@pytest.mark.parametrize("init", ["orthogonal", "gaussian", "identity", "non-normal"])
def test_make_whh_has_the_requested_largest_singular_value(init):
    W = g.make_whh(20, 1.7, init, np.random.default_rng(1))
    assert W.shape == (20, 20)
    assert g.largest_singular_value(W) == pytest.approx(1.7)
    assert g.spectral_radius(W) <= 1.7 + 1e-9


def test_orthogonal_is_normal_and_non_normal_is_not():
    rng = np.random.default_rng(2)
    Wo = g.make_whh(16, 0.9, "orthogonal", rng)
    np.testing.assert_allclose(np.linalg.svd(Wo, compute_uv=False), 0.9)
    assert g.spectral_radius(Wo) == pytest.approx(0.9)
    Wn = g.make_whh(16, 2.0, "non-normal", rng)
    assert g.spectral_radius(Wn) < 0.5 * g.largest_singular_value(Wn)
    Wg = g.make_whh(64, 1.0, "gaussian", rng)
    assert 0.35 < g.spectral_radius(Wg) < 0.65


def test_non_normal_matrix_grows_before_it_decays():
    N = np.array([[0.9, 2.0], [0.0, 0.9]])
    assert g.spectral_radius(N) == pytest.approx(0.9)
    p = g.power_norms(N, 80)
    assert p[0] == pytest.approx(1.0)
    peak = int(np.argmax(p))
    assert 5 <= peak <= 15 and p[peak] > 5
    assert p[-1] < 0.1
    # far out the decay rate per step is the spectral radius, not sigma_1
    assert p[80] / p[79] == pytest.approx(0.9 * 80 / 79, rel=1e-3)


def test_make_whh_is_deterministic_and_rejects_unknown_init():
    a = g.make_whh(5, 1.0, "gaussian", np.random.default_rng(4))
    b = g.make_whh(5, 1.0, "gaussian", np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="init must be one of"):
        g.make_whh(5, 1.0, "xavier", np.random.default_rng(0))


def test_run_driven_rnn_shapes_and_recurrence():
    rng = np.random.default_rng(5)
    Whh = g.make_whh(3, 0.5, "gaussian", rng)
    a, hs = g.run_driven_rnn(Whh, 4, "tanh", 1.0, np.random.default_rng(6))
    assert a.shape == (4, 3) and hs.shape == (5, 3)
    np.testing.assert_array_equal(hs[0], 0.0)
    np.testing.assert_allclose(hs[1:], np.tanh(a))
    u = a - hs[:-1] @ Whh
    np.testing.assert_allclose(u, 1.0 * np.random.default_rng(6).standard_normal((4, 3)))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_every_derivative_mistake_differs_from_the_answer(name):
    a = np.linspace(-3, 3, 13)
    right = impl.activation_derivative(a, name)
    differ = [m for m in impl.DERIVATIVE_MISTAKES
              if not np.allclose(impl.activation_derivative(a, name, mistake=m), right)]
    assert differ, name
    assert not np.allclose(impl.activation_derivative(a, "tanh", mistake="tanh_no_square"),
                           impl.activation_derivative(a, "tanh"))


def test_every_jacobian_mistake_is_a_different_answer():
    rng = np.random.default_rng(11)
    Whh, a = rng.normal(size=(3, 3)), rng.normal(size=(5, 3))
    right = impl.jacobian_norms(Whh, a, "tanh")
    for m in impl.JACOBIAN_MISTAKES:
        assert not np.allclose(impl.jacobian_norms(Whh, a, "tanh", mistake=m), right), m


def test_the_three_predictions():
    assert impl.decay_orthogonal() == pytest.approx(0.9 ** 20)
    assert impl.bound_sigmoid() == pytest.approx(0.5 ** 10)
    assert impl.bound_sigmoid(mistake="no_gamma") == 1024.0
    k = impl.steps_to_vanish()
    assert k == 66 and 0.9 ** k < 1e-3 <= 0.9 ** (k - 1)
    assert impl.steps_to_vanish(mistake="round_down") == 65


def test_slope_is_the_log_of_the_spectral_radius_of_the_power_norms():
    rng = np.random.default_rng(12)
    W = g.make_whh(4, 2.0, "non-normal", rng)
    p = g.power_norms(W, 300)
    assert math.log(p[300] / p[299]) == pytest.approx(impl.slope(W), abs=1e-2)
    assert impl.lambda_1(W) == pytest.approx(g.spectral_radius(W))


def test_clip_grads_is_clip_by_global_norm_on_a_list():
    grads = [np.array([3.0, 4.0]), np.array([[12.0]])]
    clipped, norm = impl.clip_grads(grads, 2.6)
    assert norm == pytest.approx(13.0)
    np.testing.assert_allclose(np.concatenate([c.ravel() for c in clipped]), [0.6, 0.8, 2.4])
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])  # the input is left alone
    same, _ = impl.clip_grads(grads, 20.0)
    np.testing.assert_allclose(same[1], [[12.0]])
    t = [torch.tensor(x, requires_grad=True) for x in grads]
    for x in t:
        x.grad = x.detach().clone()
    torch.nn.utils.clip_grad_norm_(t, 2.6)
    for ours, theirs in zip(clipped, t):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-5)
    for m in impl.CLIP_MISTAKES:  # each mistake shows at one of the two thresholds
        differs = []
        for mx in (2.6, 20.0):
            right, rnorm = impl.clip_grads(grads, mx)
            wrong, wnorm = impl.clip_grads(grads, mx, mistake=m)
            differs.append(wnorm != pytest.approx(rnorm) or not np.allclose(
                np.concatenate([w.ravel() for w in wrong]),
                np.concatenate([r.ravel() for r in right])))
        assert any(differs), m
