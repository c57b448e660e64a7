"""recurrent_lib.plots: training curves and confusion matrices."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from recurrent_lib.plots import confusion_matrix, plot_confusion, plot_history
from recurrent_lib.train import History

LABELS = [f"language {k:02d}" for k in range(18)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_history_draws_loss_and_accuracy_train_vs_validation():
    history = History(train_loss=[2.0, 1.5, 1.2], train_acc=[0.3, 0.5, 0.6], val_loss=[1.8, 1.6, 1.5],
                      val_acc=[0.35, 0.45, 0.5])
    fig = plot_history(history, title="names")
    assert isinstance(fig, Figure)
    loss_ax, acc_ax = fig.axes
    for ax, quantity, train, val in ((loss_ax, "loss", history.train_loss, history.val_loss),
                                     (acc_ax, "accuracy", history.train_acc, history.val_acc)):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", quantity)
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"train", "validation"}
        assert list(lines["train"].get_xdata()) == [1, 2, 3]
        assert list(lines["train"].get_ydata()) == train and list(lines["validation"].get_ydata()) == val
    assert fig.get_suptitle() == "names"


def test_plot_history_of_a_regression_run_has_only_the_loss():
    fig = plot_history(History(train_loss=[1.0, 0.5]))
    (ax,) = fig.axes
    assert ax.get_ylabel() == "loss" and [line.get_label() for line in ax.get_lines()] == ["train"]


def test_plot_history_rejects_an_empty_history():
    with pytest.raises(ValueError, match="expected a History with at least one epoch of losses, got an empty one"):
        plot_history(History())


def test_confusion_matrix_counts_equal_a_hand_count():
    g = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 5, (200,), generator=g)
    predictions = torch.where(torch.rand(200, generator=g) < 0.6, targets, torch.randint(0, 5, (200,), generator=g))
    matrix = confusion_matrix(targets, predictions, 5)
    hand = [[0] * 5 for _ in range(5)]
    for t, p in zip(targets.tolist(), predictions.tolist()):
        hand[t][p] += 1
    assert matrix.tolist() == hand
    assert matrix.sum(dim=1).tolist() == torch.bincount(targets, minlength=5).tolist()  # rows = true class


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match=r"same shape \(N,\), got \(3,\) and \(2,\)"):
        confusion_matrix(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match=r"expected predictions in \[0, 3\), got 3 at position 1"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="expected targets to be integer class indices, got dtype torch.float32"):
        confusion_matrix(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 3)


def test_plot_confusion_normalises_rows_and_labels_both_axes():
    g = torch.Generator().manual_seed(1)
    targets = torch.randint(0, 17, (500,), generator=g)  # class 17 never occurs: its row stays 0
    predictions = torch.randint(0, 18, (500,), generator=g)
    matrix = confusion_matrix(targets, predictions, 18)
    fig = plot_confusion(matrix, LABELS, title="test split")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert [t.get_text() for t in ax.get_yticklabels()] == LABELS
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "true", "test split")
    shown = np.asarray(ax.get_images()[0].get_array())
    np.testing.assert_allclose(shown.sum(axis=1), [1.0] * 17 + [0.0])
    np.testing.assert_allclose(shown[3], (matrix[3] / matrix[3].sum()).numpy())


def test_plot_confusion_rejects_a_matrix_that_does_not_fit_the_labels():
    with pytest.raises(ValueError, match=r"expected a square matrix of shape \(18, 18\) for 18 labels, got \(5, 5\)"):
        plot_confusion(torch.zeros(5, 5, dtype=torch.long), LABELS)


def test_plot_history_draws_several_runs_on_shared_axes_with_integer_epochs():
    rnn = History(train_loss=[2.0, 1.4, 1.3], train_acc=[0.4, 0.55, 0.6], val_loss=[1.6, 1.45, 1.5],
                  val_acc=[0.5, 0.53, 0.52])
    lstm = History(train_loss=[2.2, 1.4, 1.2], train_acc=[0.35, 0.56, 0.63], val_loss=[1.6, 1.3, 1.2],
                   val_acc=[0.5, 0.58, 0.6])
    fig = plot_history({"RNN": rnn, "LSTM": lstm}, title="names")
    loss_ax, acc_ax = fig.axes
    for ax, quantity in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"RNN train", "RNN validation", "LSTM train", "LSTM validation"}
        assert lines["RNN train"].get_color() == lines["RNN validation"].get_color() != lines["LSTM train"].get_color()
        assert lines["LSTM train"].get_linestyle() == "--" and lines["LSTM validation"].get_linestyle() == "-"
        fig.canvas.draw()
        ticks = [tick for tick in ax.get_xticks() if 1 <= tick <= 3]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert list(lines["LSTM validation"].get_ydata()) == lstm.val_loss
    assert list({line.get_label(): line for line in acc_ax.get_lines()}["RNN train"].get_ydata()) == rnn.train_acc


def test_plot_history_of_one_run_has_integer_epoch_ticks():
    fig = plot_history(History(train_loss=[1.0, 0.8, 0.7, 0.65, 0.6]))
    fig.canvas.draw()
    assert all(float(tick).is_integer() for tick in fig.axes[0].get_xticks())


def test_plot_history_rejects_an_empty_mapping_a_non_history_and_an_empty_run():
    with pytest.raises(ValueError, match=r"expected a History or a non-empty \{label: History\} mapping, got an empty mapping"):
        plot_history({})
    with pytest.raises(TypeError, match="expected a History for run 'RNN', got list"):
        plot_history({"RNN": [1.0, 0.5]})
    with pytest.raises(ValueError, match="got an empty one for run 'LSTM'"):
        plot_history({"RNN": History(train_loss=[1.0]), "LSTM": History()})


def test_plot_confusion_draws_into_given_axes_and_writes_row_counts():
    targets = torch.tensor([0, 0, 0, 1, 2, 2])
    predictions = torch.tensor([0, 1, 0, 1, 2, 0])
    matrix = confusion_matrix(targets, predictions, 3)
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_confusion(matrix, ["a", "b", "c"], "first", ax=left) is fig
    assert plot_confusion(matrix, ["a", "b", "c"], "second", ax=right, show_counts=True) is fig
    assert [t.get_text() for t in left.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in right.get_yticklabels()] == ["a (n=3)", "b (n=1)", "c (n=2)"]
    assert [t.get_text() for t in right.get_xticklabels()] == ["a", "b", "c"]
    assert (left.get_title(), right.get_title()) == ("first", "second")
    np.testing.assert_allclose(np.asarray(right.get_images()[0].get_array())[0], [2 / 3, 1 / 3, 0.0])
