"""recurrent_lib.train: the shared training loop and evaluation."""
import importlib.util
import math
import pathlib
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_sequence

from recurrent_lib import seed_everything
from recurrent_lib.classifiers import SequenceClassifier
from recurrent_lib.train import Evaluation, History, evaluate, fit


def sign_of_sum_items(n: int, seed: int) -> list[tuple[torch.Tensor, int]]:
    """(sequence (L, 1), label): label 1 when the sequence's sum is positive; lengths 1..10."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 11, (n,), generator=g).tolist()
    seqs = [torch.randn(length, 1, generator=g) for length in lengths]
    return [(seq, int(seq.sum() > 0)) for seq in seqs]


def collate_packed(items):
    seqs, labels = zip(*items)
    return pack_sequence(list(seqs), enforce_sorted=False), torch.tensor(labels)


def collate_packed_sums(items):
    """Regression targets: the sum of each sequence (float)."""
    seqs = [seq for seq, _ in items]
    return pack_sequence(seqs, enforce_sorted=False), torch.stack([seq.sum() for seq in seqs])


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(1, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, packed):
        _, h_n = self.rnn(packed)
        return self.out(h_n[-1]).squeeze(-1)  # (B,)


TRAIN = sign_of_sum_items(384, seed=1)
VAL = sign_of_sum_items(256, seed=2)


def new_classifier(seed: int = 0) -> SequenceClassifier:
    seed_everything(seed)
    return SequenceClassifier(nn.RNN(1, 16), 2)


def test_fit_lowers_the_loss_and_learns_the_sign_of_a_sum():
    model = new_classifier()
    before = evaluate(model, VAL, collate=collate_packed)
    history = fit(model, TRAIN, VAL, collate=collate_packed, epochs=6, batch_size=32, lr=1e-2, device="cpu")
    assert isinstance(history, History)
    assert [len(history.train_loss), len(history.train_acc), len(history.val_loss), len(history.val_acc)] == [6] * 4
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < 0.5 * before.loss
    assert before.accuracy < 0.7 < 0.9 < history.val_acc[-1]
    after = evaluate(model, VAL, collate=collate_packed)
    assert after.loss == pytest.approx(history.val_loss[-1]) and after.accuracy == history.val_acc[-1]


def test_same_seed_gives_identical_histories_and_another_seed_does_not():
    runs = [fit(new_classifier(), TRAIN[:128], VAL[:64], collate=collate_packed, epochs=2, seed=s) for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0].train_loss != runs[2].train_loss  # the seed drives the shuffling


def test_clip_grad_norm_limits_the_update():
    """One full-batch SGD step moves the parameters by exactly lr * min(|g|, clip)."""

    def step_size(clip):
        model = new_classifier()
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        fit(model, TRAIN, collate=collate_packed, epochs=1, batch_size=len(TRAIN), optimizer="sgd", lr=0.5,
            clip_grad_norm=clip)
        return (torch.cat([p.detach().flatten() for p in model.parameters()]) - before).norm().item()

    clipped, unclipped = step_size(1e-3), step_size(None)
    assert clipped == pytest.approx(0.5 * 1e-3, rel=1e-3)
    assert unclipped > 20 * clipped  # the gradient was larger than the clip, so clipping changed the step


def test_regression_loss_works_without_accuracy():
    seed_everything(0)
    model = Regressor()
    history = fit(model, TRAIN, VAL, collate=collate_packed_sums, loss_fn=F.mse_loss, epochs=4, lr=1e-2)
    assert history.train_acc == [] and history.val_acc == []
    assert len(history.train_loss) == len(history.val_loss) == 4
    assert history.val_loss[-1] < 0.3 * history.val_loss[0]
    result = evaluate(model, VAL, collate=collate_packed_sums, loss_fn=F.mse_loss)
    assert math.isnan(result.accuracy)
    assert result.predictions.shape == result.targets.shape == (len(VAL),)
    assert result.predictions.dtype == torch.float32
    assert result.loss == pytest.approx(F.mse_loss(result.predictions, result.targets).item(), rel=1e-5)


def test_evaluate_matches_a_hand_count():
    """The 'model' is the identity: each item carries its own scores, so the answer is known."""
    g = torch.Generator().manual_seed(0)
    items = [(torch.randn(4, generator=g), int(torch.randint(0, 4, (), generator=g))) for _ in range(10)]

    def collate(batch):
        return torch.stack([s for s, _ in batch]), torch.tensor([y for _, y in batch])

    result = evaluate(nn.Identity(), items, collate=collate, batch_size=4)  # batches of 4, 4, 2
    correct = sum(1 for scores, label in items if max(range(4), key=lambda k: scores[k].item()) == label)
    assert isinstance(result, Evaluation)
    assert result.accuracy == correct / len(items)
    assert result.predictions.tolist() == [max(range(4), key=lambda k: s[k].item()) for s, _ in items]
    assert result.targets.tolist() == [y for _, y in items]
    expected_loss = sum(F.cross_entropy(s[None], torch.tensor([y])).item() for s, y in items) / len(items)
    assert result.loss == pytest.approx(expected_loss, rel=1e-6)


class ModeRecorder(nn.Module):
    """A tiny classifier that records (training mode, grad enabled) at every call."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 2)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


def test_fit_trains_in_train_mode_and_evaluate_runs_in_eval_mode_without_grad():
    items = [(torch.tensor([float(i)]), i % 2) for i in range(6)]

    def collate(batch):
        return torch.stack([x for x, _ in batch]), torch.tensor([y for _, y in batch])

    model = ModeRecorder()
    model.eval()
    fit(model, items, items, collate=collate, epochs=1, batch_size=3)
    # two training batches, then one evaluation batch (evaluate's default batch size is 256)
    assert model.calls == [(True, True), (True, True), (False, False)]
    model.calls.clear()
    model.train()
    evaluate(model, items, collate=collate)
    assert model.calls == [(False, False)]
    assert model.training  # evaluate gives the model back in the mode it found it


def test_on_epoch_end_can_stop_early():
    seen = []

    def stop_after_two(epoch, history):
        seen.append((epoch, len(history.train_loss)))
        return epoch == 2

    history = fit(new_classifier(), TRAIN[:64], collate=collate_packed, epochs=10, on_epoch_end=stop_after_two)
    assert seen == [(1, 1), (2, 2)]
    assert len(history.train_loss) == 2


def test_progress_bar_is_quiet_under_tests_and_shown_when_asked(capsys):
    fit(new_classifier(), TRAIN[:64], collate=collate_packed, epochs=1)  # RECURRENT_LIB_PROGRESS=0 here
    assert capsys.readouterr().err == ""
    fit(new_classifier(), TRAIN[:64], collate=collate_packed, epochs=1, batch_size=32, progress=True)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"epochs": 2.5}, "epochs must be a positive integer, got 2.5"),
        ({"epochs": 1, "batch_size": 0}, "batch_size must be a positive integer, got 0"),
        ({"epochs": 1, "optimizer": "rmsprop"}, "optimizer must be 'adam' or 'sgd', got 'rmsprop'"),
        ({"epochs": 1, "clip_grad_norm": 0.0}, "clip_grad_norm must be a positive number or None, got 0.0"),
        ({"epochs": 1, "val_items": []}, "val_items is empty"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit(new_classifier(), TRAIN[:8], collate=collate_packed, **kwargs)


def test_fit_and_evaluate_reject_empty_data():
    with pytest.raises(ValueError, match="train_items is empty: expected at least one example"):
        fit(new_classifier(), [], collate=collate_packed, epochs=1)
    with pytest.raises(ValueError, match="items is empty"):
        evaluate(new_classifier(), [], collate=collate_packed)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_and_evaluate_run_on_the_gpu_with_packed_sequences():
    model = new_classifier()
    history = fit(model, TRAIN, VAL, collate=collate_packed, epochs=3, device="cuda")
    assert next(model.parameters()).is_cuda
    assert history.val_acc[-1] > 0.8
    result = evaluate(model, VAL, collate=collate_packed, device="cuda")
    assert result.predictions.device.type == "cpu" and result.accuracy == history.val_acc[-1]


def test_on_batch_end_sees_every_step_and_can_stop_mid_epoch():
    losses = []

    def stop_at_step_5(step, loss):
        losses.append((step, loss))
        return step == 5

    # 64 items in batches of 16: 4 steps per epoch, so step 5 is the first batch of epoch 2
    history = fit(new_classifier(), TRAIN[:64], collate=collate_packed, epochs=3, batch_size=16,
                  on_batch_end=stop_at_step_5)
    assert [step for step, _ in losses] == [1, 2, 3, 4, 5]
    assert len(history.train_loss) == 2
    assert history.train_loss[1] == pytest.approx(losses[4][1])  # the stopped epoch ran one batch
    assert history.train_loss[0] == pytest.approx(sum(loss for _, loss in losses[:4]) / 4)


def test_names_speed_benchmark_runs_in_quick_mode(capsys):
    """A smoke run of benchmarks/names_speed.py."""
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "names_speed.py"
    spec = importlib.util.spec_from_file_location("names_speed", path)
    names_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(names_speed)
    threads = torch.get_num_threads()
    try:
        tutorial, batched, target = names_speed.main(["--quick"])
    finally:
        torch.set_num_threads(threads)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup=\d+\.\d baseline_acc=\d\.\d{3} batched_acc=\d\.\d{3}", last), last
    assert tutorial.examples > 0 and tutorial.seconds > 0 and tutorial.val_acc >= target
    assert f"baseline_acc={tutorial.test_acc:.3f} batched_acc={batched.test_acc:.3f}" in last
    if batched.seconds is not None:  # (b) reached the target
        assert f"speedup={tutorial.seconds / batched.seconds:.1f}" in last
