"""rnnkit.longrange: the recall task and the RNN-vs-LSTM comparison."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from rnnkit.longrange import (
    RecallNet,
    RecallTask,
    accuracy_by_distance_figure,
    compare_cells,
    train_recall,
)


def test_batch_puts_the_label_first_and_distractors_after():
    task = RecallTask(n_signals=3, n_noise=5)
    x, y = task.batch(10, 200, np.random.default_rng(0))
    assert x.shape == (200, 11) and y.shape == (200,)
    assert x.dtype == torch.int64 and y.dtype == torch.int64
    assert torch.equal(x[:, 0], y)
    assert int(x[:, 1:].min()) >= 3 and int(x[:, 1:].max()) <= 7
    assert set(y.tolist()) == {0, 1, 2}
    assert task.vocab_size == 8 and task.chance == pytest.approx(1 / 3)


def test_batch_is_seeded_and_rejects_zero_distance():
    task = RecallTask()
    a = task.batch(4, 8, np.random.default_rng(1))
    b = task.batch(4, 8, np.random.default_rng(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="distance"):
        task.batch(0, 8, np.random.default_rng(1))


def test_recall_net_shapes_and_forget_bias():
    task = RecallTask()
    for cell in ("rnn", "lstm"):
        net = RecallNet(task, cell, hidden=6)
        assert net(torch.zeros(5, 9, dtype=torch.int64)).shape == (5, task.n_signals)
    lstm = RecallNet(task, "lstm", hidden=6, forget_bias=3.0)
    assert torch.all(lstm.rnn.bias_hh_l0[6:12] == 3.0)
    assert torch.all(lstm.rnn.bias_ih_l0[6:12] == 0.0)
    with pytest.raises(ValueError, match="cell"):
        RecallNet(task, "gru")


def test_training_is_deterministic_and_restores_threads():
    threads = torch.get_num_threads()
    a = train_recall("rnn", 3, steps=20, seed=5)
    b = train_recall("rnn", 3, steps=20, seed=5)
    assert a == b
    assert torch.get_num_threads() == threads


def test_short_distance_is_learned_by_both_cells():
    res = compare_cells(distances=(3,), steps=150)
    assert res["rnn"][0] > 0.95 and res["lstm"][0] > 0.95


def test_vanilla_rnn_fails_at_long_distance_where_the_lstm_succeeds():
    rnn = train_recall("rnn", 30)
    lstm = train_recall("lstm", 30)
    assert rnn < 0.45, rnn  # near chance (0.25)
    assert lstm > 0.95, lstm


def test_accuracy_by_distance_figure_has_one_line_per_cell_and_chance():
    fig = accuracy_by_distance_figure([5, 10], {"rnn": [1.0, 0.3], "lstm": [1.0, 1.0]})
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["vanilla RNN (tanh)", "LSTM", "chance"]
    assert list(fig.data[0].y) == [100.0, 30.0]
    assert list(fig.data[2].y) == [25.0, 25.0]
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_a_small_forget_bias_makes_the_lstm_fail_too():
    assert train_recall("lstm", 30, forget_bias=1.0) < 0.45
