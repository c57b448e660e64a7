"""Bad input is rejected where torch.nn rejects it, with a message that says what was expected and what arrived."""
import re

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import recurrent_lib


def randn(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype)


# id: (module, constructor args, constructor kwargs, forward args, our exception, our message)
FORWARD_CASES = {
    "layer input size": ("RNN", (3, 20), {}, lambda: (randn(5, 4, 7),), RuntimeError,
                         "RNN: expected input with 3 features in its last dimension (input_size=3), got 7"),
    "unbatched input size": ("GRU", (3, 20), {}, lambda: (randn(5, 2),), RuntimeError,
                             "GRU: expected input with 3 features in its last dimension (input_size=3), got 2"),
    "packed input size": ("LSTM", (3, 20), {}, lambda: (pack_padded_sequence(randn(5, 2, 4), torch.tensor([5, 3])),),
                          RuntimeError,
                          "LSTM: expected input with 3 features in its last dimension (input_size=3), got 4"),
    "h_0 layers": ("RNN", (3, 20, 2), {}, lambda: (randn(5, 4, 3), randn(1, 4, 20)), RuntimeError,
                   "RNN: expected h_0 of shape (2, 4, 20) = (num_layers * num_directions, batch, hidden_size), "
                   "got (1, 4, 20)"),
    "h_0 directions": ("GRU", (3, 20), {"bidirectional": True}, lambda: (randn(5, 4, 3), randn(1, 4, 20)), RuntimeError,
                       "GRU: expected h_0 of shape (2, 4, 20) = (num_layers * num_directions, batch, hidden_size), "
                       "got (1, 4, 20)"),
    "h_0 batch, batch_first": ("RNN", (3, 20), {"batch_first": True}, lambda: (randn(4, 5, 3), randn(1, 5, 20)),
                               RuntimeError, "RNN: expected h_0 of shape (1, 4, 20) = (num_layers * num_directions, "
                                             "batch, hidden_size), got (1, 5, 20)"),
    "h_0 batch, packed": ("GRU", (3, 20), {}, lambda: (pack_padded_sequence(randn(5, 2, 3), torch.tensor([5, 3])),
                                                       randn(1, 3, 20)), RuntimeError,
                          "GRU: expected h_0 of shape (1, 2, 20) = (num_layers * num_directions, batch, hidden_size), "
                          "got (1, 3, 20)"),
    "3-D h_0 for unbatched input": ("RNN", (3, 20, 2), {}, lambda: (randn(5, 3), randn(2, 1, 20)), RuntimeError,
                                    "RNN: expected h_0 of shape (2, 20) = (num_layers * num_directions, hidden_size), "
                                    "got (2, 1, 20)"),
    "2-D h_0 for batched input": ("GRU", (3, 20), {}, lambda: (randn(5, 4, 3), randn(1, 20)), RuntimeError,
                                  "GRU: expected h_0 of shape (1, 4, 20) = (num_layers * num_directions, batch, "
                                  "hidden_size), got (1, 20)"),
    "LSTM h_0 with projection": ("LSTM", (3, 20), {"proj_size": 5},
                                 lambda: (randn(5, 4, 3), (randn(1, 4, 20), randn(1, 4, 20))),
                                 RuntimeError, "LSTM: expected h_0 of shape (1, 4, 5) = (num_layers * num_directions, "
                                               "batch, proj_size), got (1, 4, 20)"),
    "LSTM c_0": ("LSTM", (3, 20), {"proj_size": 5}, lambda: (randn(5, 4, 3), (randn(1, 4, 5), randn(1, 4, 5))),
                 RuntimeError, "LSTM: expected c_0 of shape (1, 4, 20) = (num_layers * num_directions, batch, "
                               "hidden_size), got (1, 4, 5)"),
    "LSTM state not a tuple": ("LSTM", (3, 20), {}, lambda: (randn(5, 4, 3), randn(1, 4, 20)), TypeError,
                               "LSTM: expected the state hx to be a tuple (h_0, c_0), got Tensor"),
    "LSTM state of three": ("LSTM", (3, 20), {}, lambda: (randn(5, 4, 3), (randn(1, 4, 20),) * 3), RuntimeError,
                            "LSTM: expected the state hx to be a tuple (h_0, c_0), got tuple of length 3"),
    "RNN state a tuple": ("RNN", (3, 20), {}, lambda: (randn(5, 4, 3), (randn(1, 4, 20), randn(1, 4, 20))), TypeError,
                          "RNN: expected h_0 to be a tensor of shape (1, 4, 20), got tuple"),
    "4-D input": ("RNN", (3, 20), {}, lambda: (randn(5, 4, 2, 3),), ValueError,
                  "RNN: expected a 2-D (L, H_in) unbatched or 3-D (L, N, H_in) batched input, got a 4-D tensor of "
                  "shape (5, 4, 2, 3)"),
    "1-D input, batch_first": ("LSTM", (3, 20), {"batch_first": True}, lambda: (randn(3),), ValueError,
                               "LSTM: expected a 2-D (L, H_in) unbatched or 3-D (N, L, H_in) batched input, got a "
                               "1-D tensor of shape (3,)"),
    "empty sequence": ("GRU", (3, 20), {}, lambda: (randn(0, 4, 3),), RuntimeError,
                       "GRU: expected a sequence of length at least 1, got (0, 4, 3)"),
    "input dtype": ("RNN", (3, 20), {}, lambda: (randn(5, 4, 3, dtype=torch.float64),), ValueError,
                    "RNN: expected input of dtype torch.float32 (the parameters' dtype), got torch.float64; convert "
                    "the input with input.to(torch.float32) or the module with module.to(torch.float64)"),
    "h_0 dtype": ("GRU", (3, 20), {}, lambda: (randn(5, 4, 3), randn(1, 4, 20, dtype=torch.float64)), RuntimeError,
                  "GRU: expected h_0 of dtype torch.float32 (the input's dtype), got torch.float64"),
    "cell input size": ("RNNCell", (3, 20), {}, lambda: (randn(4, 7),), RuntimeError,
                        "RNNCell: expected input with 3 features in its last dimension (input_size=3), got 7"),
    "cell hx batch": ("GRUCell", (3, 20), {}, lambda: (randn(4, 3), randn(3, 20)), RuntimeError,
                      "GRUCell: expected hx of shape (4, 20) = (batch, hidden_size), got (3, 20)"),
    "cell hx size": ("RNNCell", (3, 20), {}, lambda: (randn(4, 3), randn(4, 5)), RuntimeError,
                     "RNNCell: expected hx of shape (4, 20) = (batch, hidden_size), got (4, 5)"),
    "cell 2-D hx for unbatched input": ("RNNCell", (3, 20), {}, lambda: (randn(3), randn(1, 20)), RuntimeError,
                                        "RNNCell: expected hx of shape (20,) = (hidden_size,), got (1, 20)"),
    "LSTMCell c_0": ("LSTMCell", (3, 20), {}, lambda: (randn(4, 3), (randn(4, 20), randn(2, 20))), RuntimeError,
                     "LSTMCell: expected c_0 of shape (4, 20) = (batch, hidden_size), got (2, 20)"),
    "LSTMCell state not a tuple": ("LSTMCell", (3, 20), {}, lambda: (randn(4, 3), randn(4, 20)), TypeError,
                                   "LSTMCell: expected the state hx to be a tuple (h_0, c_0), got Tensor"),
    "cell 3-D input": ("GRUCell", (3, 20), {}, lambda: (randn(5, 4, 3),), ValueError,
                       "GRUCell: expected a 1-D (input_size,) unbatched or 2-D (batch, input_size) batched input, "
                       "got a 3-D tensor of shape (5, 4, 3)"),
    "RNNCell 4-D hx": ("RNNCell", (10, 20), {}, lambda: (randn(3, 10), randn(3, 1, 1, 20)), ValueError,
                       "RNNCell: expected hx of shape (3, 20) = (batch, hidden_size), got a 4-D tensor of shape "
                       "(3, 1, 1, 20)"),
    "GRUCell 4-D hx": ("GRUCell", (10, 20), {}, lambda: (randn(3, 10), randn(3, 1, 1, 20)), ValueError,
                       "GRUCell: expected hx of shape (3, 20) = (batch, hidden_size), got a 4-D tensor"),
    "LSTMCell 4-D h_0": ("LSTMCell", (10, 20), {}, lambda: (randn(3, 10), (randn(3, 1, 1, 20), randn(3, 20))),
                         ValueError, "LSTMCell: expected h_0 of shape (3, 20) = (batch, hidden_size), got a 4-D tensor"),
    "unbatched h_0 size": ("GRU", (3, 20, 2), {}, lambda: (randn(5, 3), randn(2, 5)), RuntimeError,
                           "GRU: expected h_0 of shape (2, 20) = (num_layers * num_directions, hidden_size), got (2, 5)"),
    "unbatched LSTM c_0 size": ("LSTM", (3, 20), {}, lambda: (randn(5, 3), (randn(1, 20), randn(1, 7))), RuntimeError,
                                "LSTM: expected c_0 of shape (1, 20) = (num_layers * num_directions, hidden_size), "
                                "got (1, 7)"),
    "LSTM 2-D c_0 for batched input": ("LSTM", (3, 20), {}, lambda: (randn(5, 4, 3), (randn(1, 4, 20), randn(4, 20))),
                                       RuntimeError, "LSTM: expected c_0 of shape (1, 4, 20)"),
    "cell input dtype": ("LSTMCell", (3, 20), {"dtype": torch.float64}, lambda: (randn(4, 3),), RuntimeError,
                         "LSTMCell: expected input of dtype torch.float64 (the parameters' dtype), got torch.float32"),
}


# Where torch's exception is an accident of its code rather than a check, the twin raises TypeError instead.
TORCH_ACCIDENTS = {"LSTM state not a tuple": IndexError, "RNN state a tuple": AttributeError}
# Where torch's message comes from deeper code (a matrix product, an argument parser), not from a check of its
# own, the twin does not repeat it; everywhere else its message contains torch's words after its own.
TORCH_ACCIDENTAL_WORDS = {"packed input size", "LSTM state not a tuple", "RNN state a tuple", "h_0 dtype",
                          "LSTMCell state not a tuple", "cell input dtype", "dropout None", "proj_size a float"}


def torch_words_are_in(case: str, theirs: BaseException, ours: BaseException) -> None:
    if case not in TORCH_ACCIDENTAL_WORDS:
        first_line = str(theirs).splitlines()[0]
        assert first_line in str(ours), f"torch says {first_line!r}; ours: {ours}"


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_bad_forward_input_is_rejected_like_torch_with_a_clear_message(case):
    kind, args, kwargs, make_args, error, message = FORWARD_CASES[case]
    call_args = make_args()
    with pytest.raises(Exception) as torch_error:
        getattr(nn, kind)(*args, **kwargs)(*call_args)
    assert torch_error.type is TORCH_ACCIDENTS.get(case, error), f"torch raised {torch_error.type.__name__}"
    with pytest.raises(error, match=re.escape(message)) as our_error:
        getattr(recurrent_lib, kind)(*args, **kwargs)(*call_args)
    torch_words_are_in(case, torch_error.value, our_error.value)


# id: (module, constructor args, constructor kwargs, exception (torch's type too), our message)
CONSTRUCTOR_CASES = {
    "RNN nonlinearity": ("RNN", (3, 4), {"nonlinearity": "sigmoid"}, ValueError,
                         "RNN: expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"),
    "hidden_size negative": ("RNN", (3, -1), {}, ValueError, "RNN: expected hidden_size to be an integer >= 1, got -1"),
    "LSTM hidden_size zero": ("LSTM", (3, 0), {}, ValueError,
                                                "LSTM: expected hidden_size to be an integer >= 1, got 0"),
    "input_size zero": ("GRU", (0, 4), {}, ValueError, "GRU: expected input_size to be an integer >= 1, got 0"),
    "input_size a string": ("RNN", ("3", 4), {}, TypeError, "RNN: expected input_size to be an int, got '3'"),
    "hidden_size a float": ("LSTM", (3, 4.0), {}, TypeError, "LSTM: expected hidden_size to be an int, got 4.0"),
    "num_layers zero": ("RNN", (3, 4, 0), {}, ValueError, "RNN: expected num_layers to be an integer >= 1, got 0"),
    "num_layers a float": ("GRU", (3, 4, 2.0), {}, TypeError, "GRU: expected num_layers to be an int, got 2.0"),
    "bias a string": ("LSTM", (3, 4), {"bias": "True"}, TypeError, "LSTM: expected bias to be True or False, got 'True'"),
    "bias an int": ("RNN", (3, 4), {"bias": 1}, TypeError, "RNN: expected bias to be True or False, got 1"),
    "batch_first a string": ("GRU", (3, 4), {"batch_first": "False"}, TypeError,
                             "GRU: expected batch_first to be True or False, got 'False'"),
    "dropout None": ("RNN", (3, 4, 2), {"dropout": None}, TypeError,
                     "RNN: expected dropout to be a number in [0, 1], got None"),
    "dropout above 1": ("LSTM", (3, 4, 2), {"dropout": 1.5}, ValueError,
                        "dropout should be a number in range [0, 1] representing the probability of an element being "
                        "zeroed"),
    "proj_size negative": ("LSTM", (3, 4), {"proj_size": -1}, ValueError,
                           "LSTM: expected proj_size to be an integer >= 0, got -1"),
    "proj_size too large": ("LSTM", (3, 4), {"proj_size": 4}, ValueError,
                            "LSTM: expected proj_size < hidden_size=4, got 4"),
    "proj_size a float": ("LSTM", (3, 4), {"proj_size": 2.0}, TypeError, "LSTM: expected proj_size to be an int, got 2.0"),
    "proj_size for GRU": ("GRU", (3, 4), {"proj_size": 2}, ValueError,
                          "GRU: proj_size is only supported for LSTM, not RNN or GRU"),
    "proj_size 0 for RNN": ("RNN", (3, 4), {"proj_size": 0}, ValueError,
                            "RNN: proj_size is only supported for LSTM, not RNN or GRU"),
}


@pytest.mark.parametrize("case", CONSTRUCTOR_CASES)
def test_bad_constructor_arguments_are_rejected_like_torch_with_a_clear_message(case):
    kind, args, kwargs, error, message = CONSTRUCTOR_CASES[case]
    with pytest.raises(error, match=re.escape(message)) as our_error:
        getattr(recurrent_lib, kind)(*args, **kwargs)
    with pytest.raises(error) as torch_error:
        getattr(nn, kind)(*args, **kwargs)
    torch_words_are_in(case, torch_error.value, our_error.value)


def test_an_rnn_cell_with_an_unknown_nonlinearity_is_refused_when_it_runs_as_in_torch():
    for module in (nn.RNNCell, recurrent_lib.RNNCell):
        cell = module(3, 4, nonlinearity="sigmoid")
        with pytest.raises(RuntimeError) as caught:
            cell(randn(2, 3))
    assert str(caught.value) == ("RNNCell: expected nonlinearity 'tanh' or 'relu', got 'sigmoid' "
                                 "(torch: Unknown nonlinearity: sigmoid)")


ODD_VALUES = [0, 1, -1, 2, 2.0, 2.5, 0.0, "2", "True", "", True, False, None, torch.tensor(2), [2]]
# nn.RNN(3, True) fails inside torch.empty (a bool size), an accident of torch's code; nn.LSTM(3, True) builds.
CONSTRUCTOR_ACCIDENTS = {("RNN", "hidden_size", "True")}


def outcome(build) -> str:
    try:
        build()
    except Exception as error:
        return type(error).__name__
    return "built"


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_the_twins_accept_and_refuse_exactly_what_torch_does(kind):
    arguments = ["input_size", "hidden_size", "bias"]
    if not kind.endswith("Cell"):
        arguments += ["num_layers", "batch_first", "dropout", "bidirectional", "proj_size"]
    if kind.startswith("RNN"):
        arguments.append("nonlinearity")
    differ = []
    for argument in arguments:
        for value in ODD_VALUES + ["tanh", "relu", 0.5, float("nan")]:
            kwargs = {"input_size": 3, "hidden_size": 4, argument: value}
            ours, theirs = (outcome(lambda: getattr(m, kind)(**kwargs)) for m in (recurrent_lib, nn))
            if ours != theirs and (kind, argument, repr(value)) not in CONSTRUCTOR_ACCIDENTS:
                differ.append(f"{argument}={value!r}: torch {theirs}, ours {ours}")
    assert not differ, "\n".join(differ)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_of_hidden_size_zero_builds_and_runs_as_in_torch(kind):
    ours, theirs = getattr(recurrent_lib, kind)(10, 0), getattr(nn, kind)(10, 0)
    out, expected = ours(randn(3, 10)), theirs(randn(3, 10))
    assert [tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))] == \
        [tuple(e.shape) for e in (expected if isinstance(expected, tuple) else (expected,))] != []


def lstm_state(batch: int, size: int, dims: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (batch, *[1] * (dims - 2), size)
    return randn(*shape), randn(*shape)


# PyTorch's own error cases for its cells (torch/testing/_internal/common_modules.py, module_error_inputs_*):
# (module, constructor args, forward args, exception type, the regex torch's test matches).
TORCH_TEST_CASES = {
    f"{kind} {name}": (kind, args, forward, error, regex)
    for kind in ("RNNCell", "GRUCell")
    for name, args, forward, error, regex in [
        ("input size", (10, 20), lambda: (randn(3, 11), randn(3, 20)), RuntimeError,
         "input has inconsistent input_size: got 11 expected 10"),
        ("hidden size", (10, 20), lambda: (randn(3, 10), randn(3, 21)), RuntimeError,
         "hidden0 has inconsistent hidden_size: got 21, expected 20"),
        ("batch size", (10, 20), lambda: (randn(3, 10), randn(5, 20)), RuntimeError,
         "Input batch size 3 doesn't match hidden0 batch size 5"),
        ("4-D hidden", (10, 20), lambda: (randn(3, 10), randn(3, 1, 1, 20)), ValueError,
         "Expected hidden to be 1D or 2D, got 4D instead"),
    ]
} | {
    "RNNCell relu hidden size": ("RNNCell", (10, 20, True, "relu"), lambda: (randn(3, 10), randn(3, 21)), RuntimeError,
                                 "hidden0 has inconsistent hidden_size: got 21, expected 20"),
    "LSTMCell input size": ("LSTMCell", (10, 20), lambda: (randn(3, 11), lstm_state(3, 20)), RuntimeError,
                            "input has inconsistent input_size: got 11 expected 10"),
    "LSTMCell hidden size": ("LSTMCell", (10, 20), lambda: (randn(3, 10), lstm_state(3, 21)), RuntimeError,
                             "hidden0 has inconsistent hidden_size: got 21, expected 20"),
    "LSTMCell batch size": ("LSTMCell", (10, 20), lambda: (randn(3, 10), lstm_state(5, 20)), RuntimeError,
                            "Input batch size 3 doesn't match hidden0 batch size 5"),
    "LSTMCell 4-D hx": ("LSTMCell", (10, 20), lambda: (randn(3, 10), lstm_state(3, 20, dims=4)), ValueError,
                        "Expected hx\\[0\\] to be 1D or 2D, got 4D instead"),
    "RNN empty sequence": ("RNN", (10, 20), lambda: (randn(0, 3, 10),), RuntimeError,
                           "Expected sequence length to be larger than 0 in RNN"),
    "RNN nonlinearity": ("RNN", (10, 20, 1, "sigmoid"), None, ValueError, "Unknown nonlinearity"),
    "GRU proj_size": ("GRU", (10, 20), "proj_size", ValueError,
                      "proj_size argument is only supported for LSTM, not RNN or GRU"),
    "LSTM hidden_size 0": ("LSTM", (10, 0), None, ValueError, "hidden_size must be greater than zero"),
}


@pytest.mark.parametrize("case", TORCH_TEST_CASES)
def test_torchs_own_error_cases_pass_on_the_twins(case):
    kind, args, forward, error, regex = TORCH_TEST_CASES[case]
    for module in (nn, recurrent_lib):  # torch itself first: the case is as torch's test states it
        with pytest.raises(error, match=regex):
            if forward is None:
                getattr(module, kind)(*args)
            elif forward == "proj_size":
                getattr(module, kind)(*args, proj_size=5)
            else:
                getattr(module, kind)(*args)(*forward())
