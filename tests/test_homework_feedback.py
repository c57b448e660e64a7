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
    with pytest.raises(CheckFailure, match="got None: your function returned None \\(return the value instead of printing it\\)"):
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
    for exercise_id, exercise in EXERCISES.items():
        assert "not implemented yet" in failure(exercise_id, *[stub] * len(exercise.names))


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


# ------------------------------------------------------------- the student trial's mistakes (issue 10)
# Each answer below is written into a fresh namespace, as a notebook's cells would be, so that the check
# of a later exercise meets the student's earlier functions by name.

def notebook(source: str) -> dict:
    """The globals after running ``source`` as a notebook's cells would (imports included)."""
    namespace: dict = {}
    exec("import numpy as np\nimport torch\nimport torch.nn.functional as F\n"
         "from recurrent_lib.data import ALPHABET, N_LETTERS\n"
         "from torch.nn.utils.rnn import pack_sequence\n" + source, namespace)
    return namespace


STEP = """
def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)
"""
FORWARD = """
def rnn_forward(x, h_0, W_ih, W_hh, b_ih, b_hh):
    h_t, states = h_0, []
    for x_t in x:
        h_t = rnn_step(x_t, h_t, W_ih, W_hh, b_ih, b_hh)
        states.append(h_t)
    return torch.stack(states), h_t
"""
STACKED = """
def stacked_rnn_forward(rnn, x):
    h_0 = torch.zeros(x.shape[1], rnn.hidden_size)
    layer_input, finals = x, []
    for k in range(rnn.num_layers):
        weights = [getattr(rnn, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        layer_input, h_last = rnn_forward(layer_input, h_0, *weights)
        finals.append(h_last)
    return layer_input, torch.stack(finals)
"""


def test_1_1_a_float64_step_is_refused_with_the_reason() -> None:
    ns = notebook(STEP.replace("return torch.tanh(", "return torch.tanh(x_t.double() @ W_ih.T.double() + 0 * ("
                               ).replace("+ b_hh)", "+ b_hh))"))
    assert "of dtype torch.float32, got torch.float64: every input here is float32" in failure("1.1", ns["rnn_step"])


def test_1_1_the_transpose_hint_fires_only_on_a_matrix_product_error() -> None:
    ns = notebook("def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                  "    return torch.tanh(W_ih @ x_t + b_ih + h_prev @ W_hh.T + b_hh)")
    assert "mat1 and mat2 shapes cannot be multiplied" in failure("1.1", ns["rnn_step"])
    assert "the batched step is x_t @ W_ih.T" in failure("1.1", ns["rnn_step"])
    ns = notebook("def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                  "    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).reshape(3, -1, 7)")
    message = failure("1.1", ns["rnn_step"])
    assert "raised RuntimeError: shape '[3, -1, 7]' is invalid" in message and "the batched step" not in message


def test_1_2_is_judged_with_the_reference_step_and_1_3_with_the_reference_loop() -> None:
    ns = notebook(STEP.replace(" + b_hh)", ")") + FORWARD + STACKED)  # rnn_step forgets b_hh
    students = dict(ns)
    assert "you forgot the hidden bias b_hh" in failure("1.1", ns["rnn_step"])
    check("1.2", ns["rnn_forward"])
    check("1.3", ns["stacked_rnn_forward"])
    assert ns == students  # the student's functions are back in place


def test_an_off_by_one_loop_fails_1_2_only() -> None:
    off_by_one = FORWARD.replace("        h_t = rnn_step(x_t, h_t, W_ih, W_hh, b_ih, b_hh)\n        states.append(h_t)",
                                 "        states.append(h_t)\n        h_t = rnn_step(x_t, h_t, W_ih, W_hh, b_ih, b_hh)")
    assert off_by_one != FORWARD
    ns = notebook(STEP + off_by_one + STACKED)
    students = dict(ns)
    assert "output[t] holds the state before step t (h_0 first)" in failure("1.2", ns["rnn_forward"])
    check("1.3", ns["stacked_rnn_forward"])
    assert ns == students


def test_the_reference_is_removed_again_where_the_student_defined_none() -> None:
    ns = notebook(STACKED)
    check("1.3", ns["stacked_rnn_forward"])
    assert "rnn_forward" not in ns and "rnn_step" not in ns


def test_1_2_a_pair_in_the_wrong_order_is_named_as_such() -> None:
    ns = notebook(STEP + FORWARD.replace("return torch.stack(states), h_t", "return h_t, torch.stack(states)"))
    assert "the pair is in the wrong order: return (output, h_n)" in failure("1.2", ns["rnn_forward"])


def test_1_2_filling_a_wrongly_shaped_tensor_gets_its_own_hint_not_the_transpose_one() -> None:
    ns = notebook(STEP + "def rnn_forward(x, h_0, W_ih, W_hh, b_ih, b_hh):\n"
                  "    out, h = torch.zeros(x.shape[0], W_hh.shape[0]), h_0\n"
                  "    for t in range(x.shape[0]):\n"
                  "        h = rnn_step(x[t], h, W_ih, W_hh, b_ih, b_hh)\n"
                  "        out[t] = h\n"
                  "    return out, h\n")
    message = failure("1.2", ns["rnn_forward"])
    assert "a preallocated output must be (seq_len, batch, hidden_size)" in message
    assert "the batched step" not in message


def test_1_2_a_float64_sequence_is_refused() -> None:
    ns = notebook(STEP + FORWARD.replace("return torch.stack(states), h_t",
                                         "return torch.stack(states).double(), h_t.double()"))
    assert "of dtype torch.float32, got torch.float64" in failure("1.2", ns["rnn_forward"])


def test_1_3_a_pair_in_the_wrong_order_is_named_even_where_both_have_the_same_shape() -> None:
    ns = notebook(STEP + FORWARD + STACKED.replace("return layer_input, torch.stack(finals)",
                                                   "return torch.stack(finals), layer_input"))
    assert "(3, 1, 4)): the pair is in the wrong order" in failure("1.3", ns["stacked_rnn_forward"])


def test_1_4_numpy_and_torch_integers_are_accepted_a_float_is_not() -> None:
    import numpy as np
    check("1.4", lambda *args, **kwargs: np.int64(count(*args, **kwargs)))
    check("1.4", lambda *args, **kwargs: torch.tensor(count(*args, **kwargs)))
    assert "to be an int, got a Tensor of shape () (use int(...) or .item())" in failure(
        "1.4", lambda *args, **kwargs: torch.tensor(float(count(*args, **kwargs))))
    assert "to be an int, got a numpy.float64 (36.0)" in failure(
        "1.4", lambda *args, **kwargs: np.float64(count(*args, **kwargs)))


def test_1_5_numpy_and_torch_integers_and_torch_size_are_accepted() -> None:
    import numpy as np
    check("1.5", lambda *args, **kwargs: tuple(tuple(np.int64(n) for n in shape) for shape in shapes(*args, **kwargs)))
    check("1.5", lambda *args, **kwargs: tuple(torch.Size(shape) for shape in shapes(*args, **kwargs)))
    check("1.5", lambda *args, **kwargs: tuple(tuple(torch.tensor(n) for n in shape) for shape in shapes(*args, **kwargs)))
    assert "expected output_shape as a tuple of ints, got a tuple holding a float (5.0)" in failure(
        "1.5", lambda *args, **kwargs: tuple(tuple(float(n) for n in shape) for shape in shapes(*args, **kwargs)))


ENCODE = """
def encode_name(name):
    tensor = torch.zeros(len(name), 1, N_LETTERS)
    for position, letter in enumerate(name):
        if letter not in ALPHABET:
            raise ValueError(f"{letter!r} is not in ALPHABET")
        tensor[position, 0, ALPHABET.index(letter)] = 1
    return tensor
"""
CLASSIFY = """
def classify(model, name_tensor):
    hidden = model.init_hidden()
    for x_t in name_tensor:
        output, hidden = model(x_t, hidden)
    return output
"""
TRAIN = """
def train_step(model, name_tensor, label, lr=0.005):
    model.zero_grad()
    loss = F.nll_loss(classify(model, name_tensor), torch.tensor([label]))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()
"""
PACK = """
def pack_names(names):
    return pack_sequence([encode_name(name).squeeze(1) for name in names], enforce_sorted=False)
"""


def test_2_1_a_float64_encoding_is_refused_because_the_model_is_float32() -> None:
    ns = notebook(ENCODE.replace("torch.zeros(len(name), 1, N_LETTERS)",
                                 "torch.zeros(len(name), 1, N_LETTERS, dtype=torch.float64)"))
    assert "of dtype torch.float32, got torch.float64: the model's weights are float32" in failure(
        "2.1", ns["encode_name"])


def test_2_2_a_classify_without_a_graph_fails_2_2_not_2_3() -> None:
    ns = notebook(CLASSIFY.replace("    hidden = model.init_hidden()\n    for x_t in name_tensor:\n"
                                   "        output, hidden = model(x_t, hidden)",
                                   "    with torch.no_grad():\n        hidden = model.init_hidden()\n"
                                   "        for x_t in name_tensor:\n            output, hidden = model(x_t, hidden)")
                  + TRAIN)
    assert "autograd cannot backpropagate through them" in failure("2.2", ns["classify"])
    check("2.3", ns["train_step"])


def test_2_2_a_classify_without_memory_fails_2_2_not_2_3() -> None:
    ns = notebook(CLASSIFY.replace("model(x_t, hidden)", "model(x_t, model.init_hidden())") + TRAIN)
    assert "feed each step's hidden state into the next step" in failure("2.2", ns["classify"])
    check("2.3", ns["train_step"])


def test_2_2_the_whole_name_at_once_gets_the_one_letter_hint() -> None:
    ns = notebook("def classify(model, name_tensor):\n    return model(name_tensor, model.init_hidden())[0]\n")
    assert "the model reads one letter at a time" in failure("2.2", ns["classify"])


def test_2_3_zeroing_the_gradients_after_backward_is_named() -> None:
    ns = notebook(CLASSIFY + TRAIN.replace("    model.zero_grad()\n", "").replace(
        "    loss.backward()\n", "    loss.backward()\n    model.zero_grad()\n"))
    assert "zeroed the gradients after backward()" in failure("2.3", ns["train_step"])
    ns = notebook(CLASSIFY + TRAIN.replace("    model.zero_grad()\n", "").replace(
        "    loss.backward()\n", "    loss.backward()\n    model.zero_grad(set_to_none=False)\n"))
    assert "left the parameters unchanged: it zeroed the gradients after backward()" in failure("2.3", ns["train_step"])


def test_2_3_the_common_raw_pytorch_errors_get_the_course_hint() -> None:
    ns = notebook(CLASSIFY + TRAIN.replace("torch.tensor([label])", "torch.tensor(label)"))
    assert "torch.tensor([label]) with brackets" in failure("2.3", ns["train_step"])
    ns = notebook(CLASSIFY + TRAIN.replace("    with torch.no_grad():\n        for p", "    if True:\n        for p"))
    assert "update parameters inside `with torch.no_grad():`" in failure("2.3", ns["train_step"])
    ns = notebook(CLASSIFY + TRAIN.replace("    loss.backward()\n", ""))
    assert "p.grad is None until loss.backward() has run" in failure("2.3", ns["train_step"])


def test_2_3_unchanged_parameters_after_a_real_backward_get_the_in_place_advice() -> None:
    ns = notebook(CLASSIFY + TRAIN.replace("            p -= lr * p.grad", "            p = p - lr * p.grad"))
    assert "left the parameters unchanged although backward() computed their gradients" in failure(
        "2.3", ns["train_step"])


def test_2_4_integer_division_argmin_and_argmax_over_the_wrong_dimension_are_named() -> None:
    assert "integer division (//)" in failure("2.4", lambda lp, t: int((lp.argmax(dim=1) == t).sum()) // len(t))
    assert "whose argmin is the target" in failure("2.4", lambda lp, t: (lp.argmin(dim=1) == t).float().mean().item())
    assert "compare one prediction per row" in failure("2.4", lambda lp, t: (lp.argmax(dim=0) == t).float().mean().item())
    assert "0.3000, expected 0.3750 (the fraction of rows" in failure("2.4", lambda lp, t: 0.3)
    import numpy as np
    check("2.4", lambda lp, t: np.float64((lp.argmax(dim=1) == t).float().mean().item()))


def test_2_6_is_judged_with_the_reference_encoding_and_must_be_float32() -> None:
    ns = notebook(ENCODE.replace("ALPHABET.index(letter)] = 1", "ALPHABET.index(letter) - 1] = 1") + PACK)
    assert "off by one" in failure("2.1", ns["encode_name"])
    check("2.6", ns["pack_names"])
    ns = notebook(ENCODE + PACK.replace(".squeeze(1)", ".squeeze(1).double()"))
    assert "of dtype torch.float32, got torch.float64: nn.RNN's weights are float32" in failure("2.6", ns["pack_names"])


def test_an_endless_loop_is_stopped_by_the_check_cell_time_limit() -> None:
    def endless(*args, **kwargs):
        while True:
            pass
    with pytest.raises(CheckFailure, match=r"✗ Exercise 1\.4 \(counting parameters\): your code did not return "
                                           r"within 0\.5 s"):
        check("1.4", endless, seconds=0.5)
