"""recurrent_lib.sizes.count_parameters against torch.nn's modules over many configurations."""
import itertools

import pytest
import torch
from torch import nn

import recurrent_lib
from recurrent_lib.sizes import GATES, count_parameters

CONFIGURATIONS = list(itertools.product((1, 5), (2, 7), (1, 2, 3), (True, False), (False, True)))
# input_size, hidden_size, num_layers, bias, bidirectional


def built(module: type[nn.Module], *args, **kwargs) -> int:
    """Parameters of a module built on the meta device (no memory, no random numbers)."""
    return sum(p.numel() for p in module(*args, device="meta", **kwargs).parameters())


@pytest.mark.parametrize("mode", GATES)
@pytest.mark.parametrize("input_size, hidden_size, num_layers, bias, bidirectional", CONFIGURATIONS)
def test_count_equals_torch(mode, input_size, hidden_size, num_layers, bias, bidirectional):
    kwargs = dict(num_layers=num_layers, bias=bias, bidirectional=bidirectional)
    assert count_parameters(mode, input_size, hidden_size, **kwargs) == built(getattr(nn, mode), input_size,
                                                                               hidden_size, **kwargs)


@pytest.mark.parametrize("num_layers, bias, bidirectional", list(itertools.product((1, 2, 3), (True, False), (False, True))))
@pytest.mark.parametrize("proj_size", (1, 3))
def test_lstm_projection_equals_torch(num_layers, bias, bidirectional, proj_size):
    kwargs = dict(num_layers=num_layers, bias=bias, bidirectional=bidirectional, proj_size=proj_size)
    assert count_parameters("LSTM", 5, 4, **kwargs) == built(nn.LSTM, 5, 4, **kwargs)


@pytest.mark.parametrize("mode", GATES)
def test_count_equals_the_library_twins(mode):
    kwargs = dict(num_layers=2, bidirectional=True)
    assert count_parameters(mode, 3, 6, **kwargs) == built(getattr(recurrent_lib, mode), 3, 6, **kwargs)


def test_gru_is_three_quarters_of_lstm_and_three_rnns():
    for input_size, hidden_size, num_layers, bias, bidirectional in CONFIGURATIONS:
        args = (input_size, hidden_size, num_layers, bias, bidirectional)
        gru, lstm, rnn = (count_parameters(mode, *args) for mode in ("GRU", "LSTM", "RNN"))
        assert 4 * gru == 3 * lstm and gru == 3 * rnn
    assert (count_parameters("GRU", 2, 64), count_parameters("LSTM", 2, 64)) == (13_056, 17_408)


@pytest.mark.parametrize("call, message", [
    (lambda: count_parameters("gru", 2, 4), "expected mode 'RNN', 'GRU' or 'LSTM', got 'gru'"),
    (lambda: count_parameters("GRU", 0, 4), "expected input_size to be an integer >= 1, got 0"),
    (lambda: count_parameters("GRU", 2, 4.0), "expected hidden_size to be an integer >= 1, got 4.0"),
    (lambda: count_parameters("RNN", 2, 4, num_layers=True), "expected num_layers to be an integer >= 1, got True"),
    (lambda: count_parameters("GRU", 2, 4, proj_size=2), "proj_size is only supported for LSTM, got proj_size=2 for GRU"),
    (lambda: count_parameters("LSTM", 2, 4, proj_size=4), "expected proj_size < hidden_size=4, got 4"),
    (lambda: count_parameters("LSTM", 2, 4, proj_size=-1), "expected proj_size to be an integer >= 0, got -1"),
])
def test_bad_arguments_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_meta_device_counts_like_a_real_module():
    torch.manual_seed(0)
    assert built(nn.GRU, 3, 5, num_layers=2) == sum(p.numel() for p in nn.GRU(3, 5, num_layers=2).parameters())
