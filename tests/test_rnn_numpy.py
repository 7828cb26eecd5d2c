"""Lesson 03's numpy RNN (autograder.impl.rnn_numpy) and rnnkit.rnn_numpy's tools: values,
shapes, weight sharing, stable softmax, sampling, mistake variants, the torch model, figures."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from autograder.impl import rnn_numpy as rn
from rnnkit import rnn_numpy as tools


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_step_forward_hand_computed_values():
    x = np.array([[1.0, 0.0], [0.0, 2.0]])  # (N=2, D=2)
    h_prev = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 1.0]])  # (N=2, H=3)
    Wxh = np.array([[0.1, 0.2, 0.3], [-0.1, 0.0, 0.1]])
    Whh = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # not symmetric
    bh = np.array([0.0, 0.1, -0.2])
    h_next, cache = rn.rnn_step_forward(x, h_prev, Wxh, Whh, bh)
    # row 0: x@Wxh = [.1 .2 .3]; h@Whh = [.5 0 -.5]; + b -> [.6 .3 -.4]
    # row 1: x@Wxh = [-.2 0 .2]; h@Whh = [0 1 0];    + b -> [-.2 1.1 0]
    expected = np.tanh(np.array([[0.6, 0.3, -0.4], [-0.2, 1.1, 0.0]]))
    np.testing.assert_allclose(h_next, expected, rtol=1e-12)
    assert len(cache) == 5 and cache[0] is x and cache[1] is h_prev and cache[4] is h_next


def test_step_forward_uses_whh_not_its_transpose(rng):
    x, h = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    Wxh, Whh, bh = rng.normal(size=(4, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    h_next, _ = rn.rnn_step_forward(x, h, Wxh, Whh, bh)
    assert not np.allclose(h_next, np.tanh(x @ Wxh + h @ Whh.T + bh))
    np.testing.assert_allclose(h_next, np.tanh(x @ Wxh + h @ Whh + bh))


def test_bias_row_and_flat_give_the_same_result(rng):
    x, h = rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    Wxh, Whh, bh = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    a, _ = rn.rnn_step_forward(x, h, Wxh, Whh, bh)
    b, _ = rn.rnn_step_forward(x, h, Wxh, Whh, bh.reshape(1, 3))
    np.testing.assert_allclose(a, b)
    assert a.shape == (6, 3)


def test_rnn_forward_equals_the_loop_and_carries_state(rng):
    N, T, D, Hd = 2, 5, 3, 4
    X, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, Hd))
    Wxh, Whh, bh = rng.normal(size=(D, Hd)), rng.normal(size=(Hd, Hd)), rng.normal(size=Hd)
    H, cache = rn.rnn_forward(X, h0, Wxh, Whh, bh)
    assert H.shape == (N, T, Hd) and len(cache) == T
    h = h0
    for t in range(T):
        h = np.tanh(X[:, t] @ Wxh + h @ Whh + bh)
        np.testing.assert_allclose(H[:, t], h, rtol=1e-12)
        assert cache[t][1] is not None and np.allclose(cache[t][4], h)
    np.testing.assert_allclose(cache[0][1], h0)
    # The state is carried: later steps depend on the first input.
    X2 = X.copy()
    X2[:, 0] += 1.0
    H2, _ = rn.rnn_forward(X2, h0, Wxh, Whh, bh)
    assert not np.allclose(H2[:, -1], H[:, -1])


def test_rnn_forward_rows_are_independent(rng):
    X, h0 = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 5))
    Wxh, Whh, bh = rng.normal(size=(2, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    H, _ = rn.rnn_forward(X, h0, Wxh, Whh, bh)
    H1, _ = rn.rnn_forward(X[1:2], h0[1:2], Wxh, Whh, bh)
    np.testing.assert_allclose(H[1:2], H1)


def test_output_forward_on_steps_and_sequences(rng):
    H = rng.normal(size=(2, 3, 4))
    Whq, bq = rng.normal(size=(4, 5)), rng.normal(size=(1, 5))
    O, cache = rn.output_forward(H, Whq, bq)
    assert O.shape == (2, 3, 5) and cache[0] is H and cache[1] is Whq
    np.testing.assert_allclose(O[1, 2], H[1, 2] @ Whq + bq[0])
    O1, _ = rn.output_forward(H[:, 0], Whq, bq.ravel())
    np.testing.assert_allclose(O1, O[:, 0])


def test_model_forward(rng):
    params = rn.init_params(4, 6, 4, rng)
    X = np.eye(4)[[[0, 1, 2], [3, 2, 1]]]  # (2, 3, 4) one-hot
    O, H, (rnn_cache, out_cache) = rn.model_forward(params, X, np.zeros((2, 6)))
    assert O.shape == (2, 3, 4) and H.shape == (2, 3, 6) and len(rnn_cache) == 3
    assert out_cache[0] is H


def test_softmax_known_values_and_stability():
    p = rn.softmax(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]]))
    np.testing.assert_allclose(p, [[0.25, 0.75], [0.5, 0.5]])
    big = rn.softmax(np.array([1000.0, 1001.0, 1002.0]))
    np.testing.assert_allclose(big, rn.softmax(np.array([0.0, 1.0, 2.0])))
    assert np.isfinite(big).all()
    np.testing.assert_allclose(rn.softmax(np.array([-1000.0, 0.0])), [0.0, 1.0], atol=1e-300)


def test_softmax_axis():
    z = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(rn.softmax(z).sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(rn.softmax(z, axis=0).sum(axis=0), [1.0, 1.0, 1.0])
    assert not np.allclose(rn.softmax(z), rn.softmax(z, axis=0))


def test_param_counts_do_not_depend_on_sequence_length(rng):
    assert rn.num_params(4, 3, 4) == 4 * 3 + 9 + 3 + 12 + 4 == 40
    params = rn.init_params(28, 32, 28, rng)
    assert rn.count_params(params) == rn.num_params(28, 32, 28)
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"Wxh": (28, 32), "Whh": (32, 32), "bh": (32,), "Whq": (32, 28),
                      "bq": (28,)}
    # The same parameters run on any length.
    for T in (1, 10, 50):
        X = np.eye(28)[rng.integers(0, 28, size=(1, T))]
        O, _, _ = rn.model_forward(params, X, np.zeros((1, 32)))
        assert O.shape == (1, T, 28)


def test_init_params_scale():
    params = rn.init_params(400, 100, 50, np.random.default_rng(0))
    assert abs(params["Wxh"].std() - 1 / 20) < 0.005
    assert abs(params["Whh"].std() - 1 / 10) < 0.01
    assert not params["bh"].any() and not params["bq"].any()
    small = rn.init_params(4, 3, 4, np.random.default_rng(0), scale=0.01)
    assert small["Whh"].std() < 0.05


def _deterministic_cycle_params(V: int = 4) -> dict[str, np.ndarray]:
    """A model whose logits strongly prefer token (i + 1) % V after token i."""
    Wxh = 5.0 * np.eye(V)
    Whh = np.zeros((V, V))
    Whq = 10.0 * np.roll(np.eye(V), 1, axis=1)
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros(V), "Whq": Whq, "bq": np.zeros(V)}


def test_sample_feeds_back_and_greedy():
    params = _deterministic_cycle_params()
    rng = np.random.default_rng(0)
    assert rn.sample(params, [0], 6, rng, temperature=0) == [1, 2, 3, 0, 1, 2]
    assert rn.sample(params, [3, 1], 3, rng, temperature=0) == [2, 3, 0]


def test_sample_is_seeded_and_temperature_flattens():
    params = _deterministic_cycle_params()
    a = rn.sample(params, [0], 50, np.random.default_rng(1), temperature=5.0)
    b = rn.sample(params, [0], 50, np.random.default_rng(1), temperature=5.0)
    assert a == b and all(0 <= i < 4 for i in a)
    cold = rn.sample(params, [0], 50, np.random.default_rng(1), temperature=0.5)
    cold_follow = np.mean([y == (x + 1) % 4 for x, y in zip([0] + cold, cold)])
    hot_follow = np.mean([y == (x + 1) % 4 for x, y in zip([0] + a, a)])
    assert cold_follow == 1.0 and hot_follow < 0.9


def test_sample_rejects_bad_arguments():
    params = _deterministic_cycle_params()
    with pytest.raises(ValueError):
        rn.sample(params, [], 3, np.random.default_rng(0))
    with pytest.raises(ValueError):
        rn.sample(params, [0], 3, np.random.default_rng(0), temperature=-1)


def test_hidden_state_figure():
    fig = tools.hidden_state_figure(np.zeros((4, 3)), tokens=list("hell"))
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert np.asarray(fig.data[0].z).shape == (3, 4)
    assert list(fig.layout.xaxis.ticktext) == ["1: h", "2: e", "3: l", "4: l"]


def test_temperature_figure_bars_sum_to_one():
    fig = tools.temperature_figure(np.array([2.0, 1.0, 0.0]), [0.5, 1.0, 2.0], labels=list("abc"))
    assert len(fig.data) == 3 and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    for bar in fig.data:
        assert abs(sum(bar.y) - 1) < 1e-12
    assert fig.data[0].y[0] > fig.data[1].y[0] > fig.data[2].y[0]  # colder = sharper


def test_hello_model_and_the_reference_cases():
    from autograder.reference import l03_rnn_cell as ref

    hello = ref.hello_params()
    greedy = rn.generate_greedy(hello, [0], 9)
    assert greedy == rn.sample(hello, [0], 9, np.random.default_rng(0), temperature=0)
    assert "".join("helo"[i] for i in greedy) == "ellohello"
    assert rn.count_params(hello) == rn.num_params(4, 5, 4) == 74
    # the reference's counts, from two other sources: a parameter dict of the lesson's sizes,
    # and torch's RNN + Linear (whose RNN has two hidden biases where the lesson has one)
    V, H = ref.PARAMS_V, ref.PARAMS_H
    params = rn.init_params(V, H, V, np.random.default_rng(0))
    assert ref.N_PARAMS == rn.count_params(params) == 291356
    layers = [torch.nn.RNN(V, H, bias=False), torch.nn.Linear(H, V)]
    assert ref.N_PARAMS == sum(p.numel() for m in layers for p in m.parameters()) + H
    weights_only = [torch.nn.RNN(V, H, bias=False), torch.nn.Linear(H, V, bias=False)]
    assert ref.N_PARAMS_NO_BIASES == sum(p.numel() for m in weights_only
                                         for p in m.parameters()) == 290816
    # wrong-axis softmaxes are named by which axis sums to 1
    z = ref.SOFTMAX_CASES[0]
    assert ref.softmax_axis_sentence(rn.softmax(z)) is None
    for m, key in [("whole_array", "whole_array"), ("first_axis", "first_axis"),
                   ("no_keepdims", "other_axis")]:
        assert ref.softmax_axis_sentence(rn.softmax(z, mistake=m)) == ref.SOFTMAX_SENTENCES[key]


def test_torch_model_from_params_computes_the_numpy_forward(rng):
    params = rn.init_params(6, 5, 6, rng)
    params["bh"], params["bq"] = rng.normal(size=5), rng.normal(size=6)
    ids = [0, 3, 5, 1, 1, 2]
    model = tools.char_rnn_from_params(params)
    logits, states = tools.char_rnn_states(model, ids)
    O, H, _ = rn.model_forward(params, np.eye(6)[[ids]], np.zeros((1, 5)))
    np.testing.assert_allclose(states, H[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logits, O[0], rtol=1e-12, atol=1e-12)
    assert model.sample([0], 8, temperature=0) == rn.sample(params, [0], 8, rng, temperature=0)
    assert isinstance(model, torch.nn.Module)


def test_rnnkit_holds_no_exercise_answer():
    for name in ("rnn_step_forward", "rnn_forward", "softmax", "num_params", "model_forward",
                 "generate_greedy", "sample", "count_params"):
        assert not hasattr(tools, name), name


def test_every_mistake_variant_differs_from_the_answer(rng):
    x, h = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    Wxh, Whh, bh = rng.normal(size=(4, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    right = rn.rnn_step_forward(x, h, Wxh, Whh, bh)[0]
    for m in rn.STEP_MISTAKES:
        assert not np.allclose(rn.rnn_step_forward(x, h, Wxh, Whh, bh, mistake=m)[0], right), m
    X = rng.normal(size=(2, 4, 4))
    right = rn.rnn_forward(X, h[:2], Wxh, Whh, bh)[0]
    for m in rn.FORWARD_MISTAKES:
        assert not np.allclose(rn.rnn_forward(X, h[:2], Wxh, Whh, bh, mistake=m)[0], right), m
    z = rng.normal(size=(3, 3))
    for m in rn.SOFTMAX_MISTAKES:
        zm = z + 1000.0 if m == "no_max" else z  # without the max only large scores break
        assert not np.allclose(rn.softmax(zm, mistake=m), rn.softmax(zm), equal_nan=False), m
    for m in rn.NUM_PARAMS_MISTAKES:
        assert rn.num_params(28, 512, 28, mistake=m) != rn.num_params(28, 512, 28), m
