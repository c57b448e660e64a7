"""Assignment 02, training an RNN on names: checks of the encoding, the tutorial RNN's forward pass and
training step, accuracy, the confusion matrix and packing.

The references are the library's (``recurrent_lib.data`` and ``.classifiers``, which the lesson uses),
or, where the library's would import matplotlib, short enough to be tested against it
(``tests/test_homework_feedback.py``), so homework, lesson and library agree.

Each check judges one exercise: ``train_step`` runs with the reference ``classify`` and ``pack_names``
with the reference ``encode_name``, so a mistake in 2.1 or 2.2 is reported there. What the rest of the
notebook relies on is checked too: float32 tensors (the model's weights are float32) and a ``classify``
whose output autograd can backpropagate through (``train_step`` needs it).
"""
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from recurrent_lib.classifiers import TutorialRNN, tutorial_predict
from recurrent_lib.data import ALPHABET, N_LETTERS, name_to_tensor, names_to_padded

from ..exercise import Assignment, Exercise, substituted
from ..feedback import (CheckFailure, close, describe, difference, expect_close, expect_float, expect_tensor,
                       returned, shape_text)
from ..wire import JSON, Raised, call, encode

FLOAT32 = "the model's weights are float32, and the notebook's later cells feed this tensor to them"
ONE_LETTER = {"Tensors must have same number of dimensions": "the model reads one letter at a time, x_t of "
              "shape (1, input_size): loop over the letters, `for x_t in name_tensor`"}


def _seeded_model(seed: int, hidden_size: int, n_classes: int) -> TutorialRNN:
    """TutorialRNN(57, hidden_size, n_classes) initialised from ``seed``, global random state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TutorialRNN(N_LETTERS, hidden_size, n_classes)


# ---------------------------------------------------------------- 2.1 encoding a name

ENCODE_NAMES = ("Ng", "O'Neill", "de la Cruz")
NOT_IN_ALPHABET = ("Müller", 1)  # a name, and the position of its first letter outside ALPHABET


def probe_encode(encode_name: Callable[[str], Any]) -> dict[str, JSON]:
    return {name: call(encode_name, name) for name in (*ENCODE_NAMES, NOT_IN_ALPHABET[0])}


def _hot_index(row: Tensor) -> int | None:
    """The index of the single 1 in a one-hot row, or None if the row is not one-hot."""
    ones, zeros = row == 1, row == 0
    return int(ones.nonzero()[0]) if int(ones.sum()) == 1 and bool((ones | zeros).all()) else None


def judge_encode(results: dict[str, Any]) -> None:
    for name in ENCODE_NAMES:
        length = len(name)
        tensor = expect_tensor(returned(results[name], f"encode_name({name!r})"), f"encode_name({name!r})",
                               (length, 1, N_LETTERS), "(len(name), 1, N_LETTERS)", {
                                   (length, N_LETTERS): "add the batch dimension in the middle (e.g. .unsqueeze(1))",
                                   (1, length, N_LETTERS): "the letters come first, then a batch of 1",
                                   (length,): "each letter is a one-hot vector of size 57, not its index"},
                               dtype=torch.float32, dtype_reason=FLOAT32)
        for position, letter in enumerate(name):
            row, expected = tensor[position, 0], ALPHABET.index(letter)
            hot = _hot_index(row)
            if hot is None:
                raise CheckFailure(f"encode_name({name!r}): the row of {letter!r} (position {position}) is not "
                                   f"one-hot: it should hold a single 1 and zeros elsewhere")
            if hot != expected:
                off_by_one = " (off by one)" if abs(hot - expected) == 1 else ""
                raise CheckFailure(f"encode_name({name!r}): {letter!r} (position {position}) has its 1 at index "
                                   f"{hot}{off_by_one}, expected {expected}, its position in ALPHABET")
    name, position = NOT_IN_ALPHABET
    letter, result, call_text = name[position], results[name], f"encode_name({name!r})"
    if not isinstance(result, Raised) or result.type != "ValueError":
        got = f"it raised {result.type}: {result.message}" if isinstance(result, Raised) else f"it returned {describe(result)}"
        raise CheckFailure(f"{call_text} should raise a ValueError ({letter!r} at position {position} is not in "
                           f"ALPHABET), but {got}")
    if letter not in result.message:
        raise CheckFailure(f"{call_text} raised ValueError({result.message!r}): name the offending character "
                           f"{letter!r} in the message, so the user knows what to fix")


# ---------------------------------------------------------------- 2.2 classifying one name

CLASSIFY_NAMES = ("Ng", "Kowalski", "O'Neill")


def _classify_model() -> TutorialRNN:
    return _seeded_model(301, hidden_size=8, n_classes=5)


def classify(model: TutorialRNN, name_tensor: Tensor) -> Tensor:
    """The reference answer to 2.2 (with autograd, unlike tutorial_predict), which 2.3's check substitutes."""
    hidden = model.init_hidden()
    for x_t in name_tensor:
        output, hidden = model(x_t, hidden)
    return output


def _with_graph(value: Any) -> tuple[Any, bool]:
    """(value, whether autograd can backpropagate from it to the parameters)."""
    return value, isinstance(value, Tensor) and value.requires_grad


def probe_classify(student_classify: Callable[..., Any]) -> dict[str, JSON]:
    return {name: call(lambda model, x: _with_graph(student_classify(model, x)), _classify_model(), name_to_tensor(name))
            for name in CLASSIFY_NAMES}


def judge_classify(results: dict[str, Any]) -> None:
    model = _classify_model()
    for name in CLASSIFY_NAMES:
        x = name_to_tensor(name)
        what = f"classify(model, name_to_tensor({name!r}))"
        log_probs, in_graph = returned(results[name], what, hints=ONE_LETTER)
        log_probs = expect_tensor(log_probs, what, (1, 5), "(1, n_classes)", {
            (1, 8): "that is (1, hidden_size): return the model's output, not its hidden state",
            (len(name), 1, 5): "one output per letter: return only the output after the last letter",
            (5,): "keep the batch dimension of 1: (1, n_classes)"}, dtype=torch.float32, dtype_reason=FLOAT32)
        expected = tutorial_predict(model, x)
        with torch.no_grad():
            first_letter = model(x[0], model.init_hidden())[0]
            without_memory = model(x[-1], model.init_hidden())[0]
        expect_close(log_probs, expected, what, {
            "it is the output after the first letter: feed every letter and return the last output": first_letter,
            "it is what the last letter gives from a zero hidden state: feed each step's hidden state "
            "into the next step": without_memory,
            "it holds probabilities: return the log-probabilities (the model's output as it is)": expected.exp(),
        })
        if not in_graph:
            raise CheckFailure(f"{what} has the right values, but autograd cannot backpropagate through them (was "
                               f"it computed under torch.no_grad(), or detached?): train_step in 2.3 computes its "
                               f"loss from classify's output, so leave the graph in place")


# ---------------------------------------------------------------- 2.3 one training step

TRAIN_STEPS = (("Abe", 2, 0.05), ("Li", 0, 0.05))  # (name, label, lr), run one after the other


def _train_model() -> TutorialRNN:
    return _seeded_model(302, hidden_size=6, n_classes=4)


def _parameters(model: TutorialRNN) -> tuple[Tensor, ...]:
    return tuple(p.detach().clone() for p in model.parameters())


PARAMETER_NAMES = ("i2h.weight", "i2h.bias", "i2o.weight", "i2o.bias")


def reference_train_step(model: TutorialRNN, x: Tensor, label: int, lr: float, zero_grad: bool = True) -> float:
    """The tutorial's step: NLL loss after the last letter, backward, p -= lr * p.grad
    (``zero_grad=False`` lets gradients pile up from step to step: a mistake)."""
    if zero_grad:
        model.zero_grad()
    hidden = model.init_hidden()
    for x_t in x:
        output, hidden = model(x_t, hidden)
    loss = F.nll_loss(output, torch.tensor([label]))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


class _Recorded(TutorialRNN):
    """A TutorialRNN that notes, in ``events``, each zero_grad() and each backward() that reaches it."""

    def __init__(self, *args: int) -> None:
        super().__init__(*args)
        self.events: list[str] = []
        self.i2o.bias.register_hook(self._backward)  # every loss of the model's output reaches i2o.bias

    def _backward(self, grad: Tensor) -> None:
        self.events.append("backward")

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.events.append("zero_grad")
        super().zero_grad(set_to_none)


def _recorded_train_model() -> _Recorded:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(302)
        return _Recorded(N_LETTERS, 6, 4)


def probe_train(train_step: Callable[..., Any]) -> dict[str, JSON]:
    model, results = _recorded_train_model(), {}
    with substituted(train_step, classify=classify):  # judge the step, not the student's classify
        for i, (name, label, lr) in enumerate(TRAIN_STEPS):
            model.events.clear()
            results[f"loss {i}"] = call(train_step, model, name_to_tensor(name), label, lr)
            results[f"parameters {i}"] = encode(_parameters(model))
            results[f"events {i}"] = list(model.events)
    return results


def _zeroed_too_late(events: list[str]) -> bool:
    """Whether zero_grad() came after a backward() (so that an update after it saw no gradients)."""
    return "backward" in events and "zero_grad" in events[events.index("backward"):]


def _step_text(i: int) -> str:
    name, label, lr = TRAIN_STEPS[i]
    return f"train_step(model, name_to_tensor({name!r}), {label}, {lr})"


def judge_train(results: dict[str, Any]) -> None:
    model, piling_up = _train_model(), _train_model()
    for i, (name, label, lr) in enumerate(TRAIN_STEPS):
        before = _parameters(model)
        expected_loss = reference_train_step(model, name_to_tensor(name), label, lr)
        reference_train_step(piling_up, name_to_tensor(name), label, lr, zero_grad=False)
        after, after_piling_up = _parameters(model), _parameters(piling_up)
        what = _step_text(i) + ("" if i == 0 else f", called after {_step_text(0)},")
        events = results.get(f"events {i}", [])
        if isinstance(results[f"loss {i}"], Raised) and "NoneType" in results[f"loss {i}"].message:
            if _zeroed_too_late(events):
                raise CheckFailure(f"{what} zeroed the gradients after backward(), so p.grad is None at the update: "
                                   f"call model.zero_grad() first, before the forward pass")
            if "backward" not in events:
                raise CheckFailure(f"{what} raised {results[f'loss {i}'].type}: {results[f'loss {i}'].message} "
                                   f"(p.grad is None until loss.backward() has run: call it before the update)")
        loss = expect_float(returned(results[f"loss {i}"], what, hints=ONE_LETTER), f"the loss {what} returned")
        if abs(loss - expected_loss) > 1e-4 * max(1.0, abs(expected_loss)):
            raise CheckFailure(f"{what} returned the loss {loss:.4f}, expected {expected_loss:.4f} (the NLL loss of "
                               f"the log-probabilities after the last letter, before the update)")
        got = results[f"parameters {i}"]
        if all(close(g, a, atol=1e-6, rtol=1e-5) for g, a in zip(got, after)):
            continue
        if all(close(g, b, atol=0, rtol=0) for g, b in zip(got, before)):
            if _zeroed_too_late(events):
                raise CheckFailure(f"{what} left the parameters unchanged: it zeroed the gradients after backward(), "
                                   f"so the update saw none; call model.zero_grad() first, before the forward pass")
            if "backward" not in events:
                raise CheckFailure(f"{what} left the parameters unchanged and never called loss.backward(): without "
                                   f"it there are no gradients to descend")
            raise CheckFailure(f"{what} left the parameters unchanged although backward() computed their gradients: "
                               f"change each parameter in place, `with torch.no_grad(): p -= lr * p.grad` "
                               f"(`p = p - lr * p.grad` would only make a new tensor named p)")
        if all(close(g, 2 * b - a) for g, b, a in zip(got, before, after)):
            raise CheckFailure(f"{what} moved the parameters up the gradient: gradient descent subtracts "
                               f"lr * p.grad")
        if i > 0 and all(close(g, a) for g, a in zip(got, after_piling_up)):
            raise CheckFailure(f"{what}: the update includes the previous step's gradient: zero the gradients "
                               f"(model.zero_grad()) before each backward")
        scale = _update_scale(got, before, after)
        if scale is not None:
            raise CheckFailure(f"{what}: every update is {scale:.3g} times the expected lr * p.grad: use the lr "
                               f"passed to train_step")
        wrong = next(k for k, (g, a) in enumerate(zip(got, after)) if not close(g, a, atol=1e-6, rtol=1e-5))
        raise CheckFailure(f"after {what}, {PARAMETER_NAMES[wrong]} is wrong: {difference(got[wrong], after[wrong])}")


def _update_scale(got: tuple[Tensor, ...], before: tuple[Tensor, ...], after: tuple[Tensor, ...]) -> float | None:
    """k if the student's update is k times the expected one (k != 1), else None."""
    student = torch.cat([(g - b).flatten() for g, b in zip(got, before)]).double()
    expected = torch.cat([(a - b).flatten() for a, b in zip(after, before)]).double()
    k = float(student @ expected / (expected @ expected))
    return k if abs(k - 1) > 1e-3 and close(student, k * expected, atol=1e-6, rtol=1e-4) else None


# ---------------------------------------------------------------- 2.4 accuracy

def accuracy_cases() -> dict[str, tuple[Tensor, Tensor]]:
    """log_probs (batch, n_classes), targets (batch,): 3 of 8 right, then 4 of 4 right."""
    g = torch.Generator().manual_seed(303)
    log_probs = torch.log_softmax(torch.randn(8, 5, generator=g) * 2, dim=1)
    targets = log_probs.argmax(dim=1)
    targets[3:] = (targets[3:] + 1) % 5
    all_right = torch.log_softmax(torch.randn(4, 3, generator=g) * 2, dim=1)
    return {"3 of 8 right": (log_probs, targets), "4 of 4 right": (all_right, all_right.argmax(dim=1))}


def probe_accuracy(accuracy: Callable[..., Any]) -> dict[str, JSON]:
    return {case: call(accuracy, log_probs.clone(), targets.clone())
            for case, (log_probs, targets) in accuracy_cases().items()}


def judge_accuracy(results: dict[str, Any]) -> None:
    for case, (log_probs, targets) in accuracy_cases().items():
        what = f"accuracy(log_probs {shape_text(log_probs.shape)}, targets) with {case}"
        value = expect_float(returned(results[case], what, hints={
            "must match the size of tensor": "predictions and targets differ in size: compare one prediction per "
                                             "row, log_probs.argmax(dim=1), with targets"}), f"the result of {what}")
        right = int((log_probs.argmax(dim=1) == targets).sum())
        expected = right / len(targets)
        if abs(value - expected) < 1e-6:
            continue
        with_argmin = int((log_probs.argmin(dim=1) == targets).sum()) / len(targets)
        mistakes = {100 * expected: "return a fraction in [0, 1], not a percentage",
                    float(right): "return the fraction of correct predictions, not their number",
                    1 - expected: "that is the error rate: return the fraction of correct predictions",
                    with_argmin: "that is the fraction whose argmin is the target: the prediction is the most "
                                 "likely class, log_probs.argmax(dim=1)"}
        if type(results[case]) is int and value == right // len(targets):  # an int: the fraction was floored
            mistakes = {value: "integer division (//) rounds the fraction down to an int: divide with /"}
        advice = next((advice for wrong, advice in mistakes.items() if abs(value - wrong) < 1e-6), "")
        raise CheckFailure(f"{what} returned {value:.4f}, expected {expected:.4f}"
                           + (f": {advice}" if advice else " (the fraction of rows whose most likely class, "
                              "log_probs.argmax(dim=1), is the target)"))


# ---------------------------------------------------------------- 2.5 the confusion matrix

def confusion_counts(targets: Tensor, predictions: Tensor, n_classes: int) -> Tensor:
    """Entry [i, j] counts the examples of true class i predicted as j: (n_classes, n_classes) int64."""
    return torch.bincount(targets * n_classes + predictions, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


CONFUSION_CASES = {
    "5 classes, class 4 never seen": (torch.tensor([0, 1, 2, 2, 1, 0, 2, 3, 3, 1]),
                                      torch.tensor([0, 2, 2, 1, 1, 0, 2, 0, 3, 3]), 5),
    "3 classes": (torch.tensor([2, 2, 0, 1, 1, 1]), torch.tensor([2, 0, 0, 1, 2, 1]), 3),
}


def probe_confusion(confusion: Callable[..., Any]) -> dict[str, JSON]:
    return {case: call(confusion, targets.clone(), predictions.clone(), n_classes)
            for case, (targets, predictions, n_classes) in CONFUSION_CASES.items()}


def judge_confusion(results: dict[str, Any]) -> None:
    for case, (targets, predictions, n) in CONFUSION_CASES.items():
        what = f"confusion_matrix(targets, predictions, {n}) with {case}"
        expected = confusion_counts(targets, predictions, n)
        size = int(max(targets.max(), predictions.max())) + 1
        matrix = expect_tensor(returned(results[case], what), what, (n, n), "(n_classes, n_classes)", {
            (size, size): "its size comes from the largest label seen: use n_classes"}, floating=False)
        expect_close(matrix, expected, what, {
            "it is transposed: row i counts the examples whose TRUE class is i, column j those predicted j":
                expected.T,
            "it holds fractions: return the counts": expected / expected.sum(dim=1, keepdim=True).clamp(min=1),
        })


# ---------------------------------------------------------------- 2.6 packing a batch of names

PACK_CASES = (("Ng", "Kowalski", "Abe"), ("Li", "Satoshi"))


def probe_pack(pack_names: Callable[..., Any]) -> dict[str, JSON]:
    with substituted(pack_names, encode_name=name_to_tensor):  # judge the packing, not the student's encode_name
        return {", ".join(names): call(pack_names, list(names)) for names in PACK_CASES}


def judge_pack(results: dict[str, Any]) -> None:
    for names in PACK_CASES:
        what = f"pack_names({list(names)})"
        packed = returned(results[", ".join(names)], what)
        padded, lengths = names_to_padded(names)
        if isinstance(packed, torch.Tensor):
            raise CheckFailure(f"{what} returned {describe(packed)}, not a PackedSequence: pack the padded batch "
                               f"with pack_padded_sequence(padded, lengths, enforce_sorted=False)")
        if not isinstance(packed, PackedSequence):
            raise CheckFailure(f"expected {what} to return a PackedSequence, got {describe(packed)}")
        total = int(lengths.sum())
        expect_tensor(packed.data, f"the data of {what}", (total, N_LETTERS), "(total letters, N_LETTERS)", {
            (total, 1, N_LETTERS): "pack (len, N_LETTERS) tensors: squeeze each name's batch dimension first",
            (padded.shape[0] * len(names), N_LETTERS): "the padding was packed too: give each name's real length"},
            dtype=torch.float32, dtype_reason="nn.RNN's weights are float32")
        got_padded, got_lengths = pad_packed_sequence(packed)
        if packed.unsorted_indices is None and got_lengths.tolist() != lengths.tolist():
            raise CheckFailure(f"{what} put the names in another order: pass enforce_sorted=False, so that the "
                               f"batch keeps the order of names")
        expect_close(got_padded, padded, f"the names unpacked from {what}")


ASSIGNMENT = Assignment("02_training_an_rnn", "Training an RNN: names by language", (
    Exercise("2.1", "encoding a name", ("encode_name",), probe_encode, judge_encode),
    Exercise("2.2", "classifying one name", ("classify",), probe_classify, judge_classify),
    Exercise("2.3", "one training step", ("train_step",), probe_train, judge_train),
    Exercise("2.4", "accuracy", ("accuracy",), probe_accuracy, judge_accuracy),
    Exercise("2.5", "the confusion matrix", ("confusion_matrix",), probe_confusion, judge_confusion),
    Exercise("2.6", "packing a batch of names", ("pack_names",), probe_pack, judge_pack),
))
