"""The checks' feedback, in process (no kernel): every diagnosis the homework promises, each produced
by a function that makes that mistake; plus the JSON wire format and the references' agreement with
torch and the library."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_sequence

from recurrent_lib.classifiers import tutorial_train_step
from recurrent_lib.data import ALPHABET, N_LETTERS, name_to_tensor
from recurrent_lib.homework import EXERCISES, CheckFailure, check
from recurrent_lib.homework.feedback import difference, expect_close, expect_finite, expect_tensor
from recurrent_lib.homework.checks.rnn_equation import forward_cases, stacked_cases, unroll
from recurrent_lib.homework.checks.training_an_rnn import _train_model, confusion_counts, reference_train_step
from recurrent_lib.homework.wire import Foreign, Raised, call, decode, encode
from recurrent_lib.plots import confusion_matrix


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ------------------------------------------------------------- the helpers' messages

def test_wrong_shape_says_expected_and_got_and_the_likely_cause() -> None:
    with pytest.raises(CheckFailure, match=r"expected h_t of shape \(2, 4\) = \(batch, hidden_size\), got \(4, 2\): "
                                           r"transposed\?"):
        expect_tensor(torch.zeros(4, 2), "h_t", (2, 4), "(batch, hidden_size)", {(4, 2): "transposed?"})


def test_wrong_type_names_what_arrived() -> None:
    with pytest.raises(CheckFailure, match="expected h_t to be a torch.Tensor, got a list"):
        expect_tensor([[0.0]], "h_t", (1, 1), "(batch, hidden_size)")
    with pytest.raises(CheckFailure, match="got None \\(did you forget to return it\\?\\)"):
        expect_tensor(None, "h_t", (1, 1), "(batch, hidden_size)")


def test_nan_and_inf_are_located_and_counted() -> None:
    t = torch.zeros(2, 3)
    t[1, 2] = float("nan")
    with pytest.raises(CheckFailure, match=r"h_t contains NaN: element \[1, 2\] is nan \(1 of 6 elements\)"):
        expect_finite(t, "h_t")
    t[1, 2], t[0, 1] = 0.0, float("-inf")
    with pytest.raises(CheckFailure, match=r"h_t contains inf: element \[0, 1\] is -inf \(1 of 6 elements\)"):
        expect_finite(t, "h_t")


def test_differing_values_name_the_element_and_the_size_of_the_difference() -> None:
    expected = torch.tensor([[0.1, 0.2], [0.3, 0.5678]])
    actual = expected.clone()
    actual[1, 1] = 0.1234
    assert difference(actual, expected) == ("1 of 4 elements differ: element [1, 1] is 0.1234, expected 0.5678 "
                                            "(max abs difference 0.4444)")
    with pytest.raises(CheckFailure, match=r"h_t is wrong: 1 of 4 elements differ: element \[1, 1\]"):
        expect_close(actual, expected, "h_t")


def test_a_matching_mistake_is_named_instead_of_the_difference() -> None:
    expected = torch.ones(2)
    with pytest.raises(CheckFailure, match="h_t is wrong: you forgot the bias"):
        expect_close(torch.zeros(2), expected, "h_t", {"something else": torch.full((2,), 5.0),
                                                       "you forgot the bias": torch.zeros(2)})


def test_a_failure_renders_as_its_message_alone_in_jupyter() -> None:
    assert CheckFailure("✗ line one\nline two")._render_traceback_() == ["✗ line one", "line two"]


# ------------------------------------------------------------- 1.x diagnoses

def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)


def test_a_passing_check_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    check("1.1", rnn_step)
    assert capsys.readouterr().out == "✓ Exercise 1.1 (one RNN step): correct\n"


@pytest.mark.parametrize("wrong_step, diagnosis", [
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih.T + h @ W_hh.T + b_hh), "you forgot the input bias b_ih"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T), "you forgot the hidden bias b_hh"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih.T + h @ W_hh.T), "you forgot both biases"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.sigmoid(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh),
     "the RNN uses tanh where you used sigmoid"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.relu(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh), "not relu"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, "apply torch.tanh"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih.T + b_ih + b_hh), "the previous hidden state must enter"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih.T + b_ih + h @ W_hh + b_hh), "transpose W_hh"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(W_ih @ x.T + (W_hh @ h.T)), "not W_ih @ x_t.T"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x @ W_ih + b_ih + h @ W_hh.T + b_hh), "the batched step is x_t @ W_ih.T"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) / 0, "contains inf"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: rnn_step(x, h, W_ih, W_hh, b_ih, b_hh).tolist(), "got a list"),
    (lambda x, h, W_ih, W_hh, b_ih, b_hh: rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) + 0.01,
     "8 of 8 elements differ: element [0, 0] is"),
])
def test_one_step_mistakes_are_diagnosed(wrong_step, diagnosis: str) -> None:
    assert diagnosis in failure("1.1", wrong_step)


def test_a_stub_reads_not_implemented_yet() -> None:
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise_id in EXERCISES:
        assert "not implemented yet" in failure(exercise_id, stub)


def rnn_forward(x, h_0, W_ih, W_hh, b_ih, b_hh):
    states = unroll(x, h_0, W_ih, W_hh, b_ih, b_hh)
    return states, states[-1]


@pytest.mark.parametrize("wrong_forward, diagnosis", [
    (lambda x, h_0, *w: (torch.stack([rnn_step(x_t, h_0, *w) for x_t in x]), rnn_step(x[-1], h_0, *w)),
     "every step started from h_0"),
    (lambda x, h_0, *w: rnn_forward(x, torch.zeros_like(h_0), *w), "start from the h_0 you were given"),
    (lambda x, h_0, *w: (torch.cat([h_0[None], rnn_forward(x, h_0, *w)[0]]), h_0), "output holds h_1 .. h_L, not h_0"),
    (lambda x, h_0, *w: (torch.cat([h_0[None], rnn_forward(x, h_0, *w)[0][:-1]]), rnn_forward(x, h_0, *w)[1]),
     "append each h_t after computing it"),
    (lambda x, h_0, *w: rnn_forward(x, h_0, *w)[0], "a tuple of two, got a Tensor"),
    (lambda x, h_0, *w: (rnn_forward(x, h_0, *w)[0], rnn_forward(x, h_0, *w)[0][0]), "it is the first step's state"),
])
def test_sequence_mistakes_are_diagnosed(wrong_forward, diagnosis: str) -> None:
    assert diagnosis in failure("1.2", wrong_forward)


def stacked(rnn, x, layer_input=lambda layer, previous, x: previous):
    output, finals = x, []
    for k in range(rnn.num_layers):
        weights = [getattr(rnn, f"{n}_l{k}").detach() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        output = unroll(layer_input(k, output, x), torch.zeros(x.shape[1], rnn.hidden_size), *weights)
        finals.append(output[-1])
    return output, torch.stack(finals)


def test_stacked_layers_pass_and_their_mistakes_are_diagnosed() -> None:
    check("1.3", stacked)
    assert "every layer read x" in failure("1.3", lambda rnn, x: stacked(rnn, x, lambda k, previous, x: x))
    assert "h_n stacks the final state of every layer" in failure("1.3", lambda rnn, x: (stacked(rnn, x)[0], stacked(rnn, x)[1][-1]))
    assert "in reverse order" in failure("1.3", lambda rnn, x: (stacked(rnn, x)[0], stacked(rnn, x)[1].flip(0)))
    assert "calling rnn(x) is not allowed here" in failure("1.3", lambda rnn, x: rnn(x))


def count(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    rnn = nn.RNN(input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional)
    return sum(p.numel() for p in rnn.parameters())


@pytest.mark.parametrize("wrong_count, diagnosis", [
    (lambda i, h, num_layers=1, bias=True, bidirectional=False:
     count(i, h, num_layers, bias, bidirectional) - (bias * num_layers * (1 + bidirectional) * h),
     "you counted one bias vector per layer and direction; nn.RNN has two"),
    (lambda i, h, num_layers=1, bias=True, bidirectional=False: count(i, h, num_layers, True, bidirectional),
     "with bias=False there are no bias vectors"),
    (lambda i, h, num_layers=1, bias=True, bidirectional=False: count(i, h, num_layers, bias, False),
     "a second (reverse) set of weights"),
    (lambda i, h, num_layers=1, bias=True, bidirectional=False: count(i, h, num_layers, bias, bidirectional) + 1,
     "returned 37, but nn.RNN with these arguments has 36 parameters"),
    (lambda i, h, num_layers=1, bias=True, bidirectional=False: float(count(i, h, num_layers, bias, bidirectional)),
     "to be an int, got a float (36.0)"),
])
def test_parameter_count_mistakes_are_diagnosed(wrong_count, diagnosis: str) -> None:
    check("1.4", count)
    assert diagnosis in failure("1.4", wrong_count)


def shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False, bidirectional=False):
    d = 2 if bidirectional else 1
    output = (batch, seq_len, d * hidden_size) if batch_first else (seq_len, batch, d * hidden_size)
    return output, (num_layers * d, batch, hidden_size)


def test_shape_mistakes_are_diagnosed() -> None:
    check("1.5", shapes)
    assert "batch_first changes only the input and output" in failure(
        "1.5", lambda s, b, i, h, num_layers=1, batch_first=False, bidirectional=False:
        (shapes(s, b, i, h, num_layers, batch_first, bidirectional)[0],
         (b, num_layers * (1 + bidirectional), h) if batch_first else (num_layers * (1 + bidirectional), b, h)))
    assert "doubles output's last dimension and h_n's first" in failure(
        "1.5", lambda s, b, i, h, num_layers=1, batch_first=False, bidirectional=False: shapes(s, b, i, h, num_layers, batch_first))


# ------------------------------------------------------------- 2.x diagnoses

def encode_name(name):
    return name_to_tensor(name)


def classify(model, name_tensor):
    hidden = model.init_hidden()
    for x_t in name_tensor:
        output, hidden = model(x_t, hidden)
    return output


def train_step(model, name_tensor, label, lr=0.005):
    model.zero_grad()
    loss = F.nll_loss(classify(model, name_tensor), torch.tensor([label]))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


def test_encoding_mistakes_are_diagnosed() -> None:
    check("2.1", encode_name)
    assert "add the batch dimension" in failure("2.1", lambda name: name_to_tensor(name).squeeze(1))
    assert "got dtype torch.int64" in failure("2.1", lambda name: name_to_tensor(name).long())
    assert "'N' (position 0) has its 1 at index 40 (off by one), expected 39" in failure(
        "2.1", lambda name: torch.roll(name_to_tensor(name), 1, dims=2))
    assert "should raise a ValueError ('ü' at position 1 is not in ALPHABET), but it returned a Tensor" in failure(
        "2.1", lambda name: name_to_tensor(name.replace("ü", "u")))

    def key_error(name):
        return name_to_tensor(name) if all(c in ALPHABET for c in name) else {}[name[1]]
    assert "but it raised KeyError" in failure("2.1", key_error)


def test_forward_pass_mistakes_are_diagnosed() -> None:
    check("2.2", classify)
    assert "output after the first letter" in failure("2.2", lambda model, x: model(x[0], model.init_hidden())[0])
    assert "feed each step's hidden state" in failure(
        "2.2", lambda model, x: [model(x_t, model.init_hidden())[0] for x_t in x][-1])
    assert "it holds probabilities" in failure("2.2", lambda model, x: classify(model, x).exp())
    assert "contains NaN" in failure("2.2", lambda model, x: classify(model, x) * math.nan)


def test_training_step_mistakes_are_diagnosed() -> None:
    check("2.3", train_step)

    def no_zero_grad(model, x, label, lr=0.005):
        loss = F.nll_loss(classify(model, x), torch.tensor([label]))
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        return loss.item()

    def rebinding(model, x, label, lr=0.005):
        model.zero_grad()
        loss = F.nll_loss(classify(model, x), torch.tensor([label]))
        loss.backward()
        for p in model.parameters():
            p = p - lr * p.grad  # noqa: F841 -- the mistake under test
        return loss.item()

    assert "zero the gradients" in failure("2.3", no_zero_grad)
    assert "left the parameters unchanged" in failure("2.3", rebinding)
    assert "every update is 0.1 times the expected" in failure("2.3", lambda m, x, label, lr=0.005: train_step(m, x, label))
    assert "return .item() of it" in failure("2.3", lambda m, x, label, lr=0.005: torch.tensor(train_step(m, x, label, lr)))


def test_accuracy_and_confusion_mistakes_are_diagnosed() -> None:
    def accuracy(log_probs, targets):
        return (log_probs.argmax(dim=1) == targets).float().mean().item()
    check("2.4", accuracy)
    assert "not a percentage" in failure("2.4", lambda lp, t: 100 * accuracy(lp, t))
    assert "not their number" in failure("2.4", lambda lp, t: float((lp.argmax(dim=1) == t).sum()))
    check("2.5", confusion_counts)
    assert "it is transposed" in failure("2.5", lambda t, p, n: confusion_counts(t, p, n).T)
    assert "use n_classes" in failure("2.5", lambda t, p, n: confusion_counts(t, p, int(max(t.max(), p.max())) + 1))


def test_packing_mistakes_are_diagnosed() -> None:
    def pack_names(names, enforce_sorted=False):
        return pack_sequence([name_to_tensor(n).squeeze(1) for n in names], enforce_sorted=enforce_sorted)
    check("2.6", pack_names)
    assert "not a PackedSequence" in failure("2.6", lambda names: pack_names(names).data)
    assert "pass enforce_sorted=False" in failure(
        "2.6", lambda names: pack_names(sorted(names, key=len, reverse=True), enforce_sorted=True))


# ------------------------------------------------------------- wire format and references

@pytest.mark.parametrize("value", [
    torch.tensor([[1.5, float("nan")], [float("inf"), -2.0]]), torch.arange(6).reshape(2, 3), torch.tensor([True, False]),
    torch.Size([2, 3]), (1, 2.5, "a", None, True), [torch.zeros(1), (3,)],
])
def test_values_survive_the_trip_through_json(value) -> None:
    back = decode(json.loads(json.dumps(encode(value))))
    assert type(back) is type(value)
    assert str(back) == str(value)


def test_exceptions_and_other_objects_travel_as_markers() -> None:
    assert decode(json.loads(json.dumps(call(lambda: 1 / 0)))) == Raised("ZeroDivisionError", "division by zero")
    assert decode(encode({"a": 1})) == Foreign("builtins.dict")


def test_the_references_agree_with_torch_and_the_library() -> None:
    for (seed, kwargs, shape), case in zip(stacked_cases().values(), forward_cases().values()):
        rnn = nn.RNN(case["x"].shape[-1], case["W_hh"].shape[0])
        with torch.no_grad():
            for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), list(case.values())[2:]):
                getattr(rnn, name).copy_(value)
            expected, _ = rnn(case["x"], case["h_0"][None])
        torch.testing.assert_close(unroll(*case.values()), expected)
    targets, predictions = torch.tensor([0, 1, 2, 2, 4]), torch.tensor([0, 2, 2, 1, 4])
    assert torch.equal(confusion_counts(targets, predictions, 5), confusion_matrix(targets, predictions, 5))
    mine, library = _train_model(), _train_model()
    for name, label in (("Abe", 2), ("Li", 0)):
        x = name_to_tensor(name)
        assert reference_train_step(mine, x, label, 0.05) == pytest.approx(tutorial_train_step(library, x, label, 0.05))
    for p, q in zip(mine.parameters(), library.parameters()):
        torch.testing.assert_close(p, q)
    assert N_LETTERS == len(ALPHABET) == 57
