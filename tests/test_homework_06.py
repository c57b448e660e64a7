"""Homework 06 (the GRU from scratch): every diagnosis its checks promise, each produced by a function that makes
that mistake, plus the references' agreement with torch and the library."""
import pytest
import torch
from torch import nn

import recurrent_lib
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.homework.checks.gru import (COUNT_CASES, gru_reference, reference_cho_step, step_cases,
                                               torch_count)
from recurrent_lib.sizes import count_parameters as library_count


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


def step(**mistake):
    """A student's step that makes ``mistake`` (gru_reference's keyword arguments)."""
    return lambda x_t, h_prev, W_ih, W_hh, b_ih, b_hh: gru_reference(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, **mistake)


def torch_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return gru_reference(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)


def cho_difference(gru, x):
    """The solution of 6.3: calls gru_step_cho by name, as a student's notebook does."""
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    with torch.no_grad():
        h, states = torch.zeros(x.shape[1], gru.hidden_size), []
        for x_t in x:
            h = gru_step_cho(x_t, h, *weights)
            states.append(h)
        return (torch.stack(states) - gru(x)[0]).abs().max().item()


def gru_step_cho(*args):  # a wrong 6.2 in this module's namespace: 6.3's check must replace it by the reference
    return torch_step(*args)


def gru_gate_blocks(gru, layer=0, reverse=False, order="rzn", dim=0):
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    parts = [getattr(gru, name + suffix).tensor_split(3, dim=dim if name.startswith("weight") else 0)
             for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    by_block = dict(zip(order, zip(*parts)))
    return tuple(by_block[gate] for gate in "rzn")


def count(**mistake):
    from recurrent_lib.homework.checks.gru import count_formula
    return lambda mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0: \
        count_formula(mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size, **mistake)


# ------------------------------------------------------------- the references

def test_torch_form_reference_equals_nn_gru_cell_and_the_library():
    for tensors in step_cases().values():
        x_t, h_prev, W_ih, W_hh, b_ih, b_hh = tensors.values()
        cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1])
        with torch.no_grad():
            for p, value in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (W_ih, W_hh, b_ih, b_hh)):
                p.copy_(value)
            torch.testing.assert_close(gru_reference(*tensors.values()), cell(x_t, h_prev))
            torch.testing.assert_close(recurrent_lib.cells.gru_step(*tensors.values()), cell(x_t, h_prev))


def test_the_two_forms_differ_and_agree_when_the_reset_gate_is_open():
    x_t, h_prev, W_ih, W_hh, b_ih, b_hh = step_cases()["batch 2, input 3, hidden 4"].values()
    assert (reference_cho_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh) - torch_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)).abs().max() > 1e-2
    b_open = b_ih.clone()
    b_open[:4] = 40.0  # r = 1
    torch.testing.assert_close(reference_cho_step(x_t, h_prev, W_ih, W_hh, b_open, b_hh),
                               torch_step(x_t, h_prev, W_ih, W_hh, b_open, b_hh))


def test_count_references_agree_with_the_library():
    for case in COUNT_CASES:
        mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size = case
        assert torch_count(*case) == library_count(mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size)


def test_the_reference_answers_pass():
    check("6.1", torch_step)
    check("6.2", reference_cho_step)
    check("6.3", cho_difference)
    check("6.4", gru_gate_blocks)
    check("6.5", library_count)


# ------------------------------------------------------------- 6.1 and 6.2: one step

def test_reset_gate_before_the_product_is_named_as_the_textbook_form():
    assert "applied before the matrix product" in failure("6.1", step(reset="before"))
    assert "that is the textbook (Cho/d2l) form" in failure("6.1", step(reset="before"))
    assert "that is PyTorch's form" in failure("6.2", step(reset="after"))


def test_z_and_one_minus_z_swapped():
    assert "z and 1 - z are swapped" in failure("6.1", step(z_keeps=False))
    assert "z and 1 - z are swapped" in failure("6.2", step(reset="before", z_keeps=False))
    assert "Chung et al. 2014" in failure("6.1", step(reset="before", z_keeps=False))


@pytest.mark.parametrize("order", ["zrn", "nzr", "rnz", "znr", "nrz"])
def test_gate_order_confused(order):
    message = failure("6.1", step(order=order))
    assert f"as the gates {', '.join(order)}: PyTorch stacks them in the order r, z, n" in message
    assert f"as the gates {', '.join(order)}" in failure("6.2", step(reset="before", order=order))


def test_b_hn_on_the_wrong_side_of_the_reset_gate():
    assert "b_hn is added outside r * (...)" in failure("6.1", step(reset="after, b_hn outside"))
    assert "r also scales b_hn" in failure("6.2", step(reset="before, b_hn scaled"))


def test_missing_reset_gate_sigmoid_candidate_and_forgotten_biases():
    assert "the reset gate is missing" in failure("6.1", step(reset="none"))
    assert "n uses sigmoid" in failure("6.1", step(candidate=torch.sigmoid))

    def no_b_hh(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        return gru_reference(x_t, h_prev, W_ih, W_hh, b_ih, 0.0)
    assert "you forgot the hidden biases" in failure("6.1", no_b_hh)


def test_shapes_dtype_and_stubs():
    assert "that is (hidden_size, batch)" in failure("6.1", lambda *args: torch_step(*args).T)
    assert "expected h (with batch 2, input 3, hidden 4) of dtype torch.float32, got torch.float64" in \
        failure("6.1", lambda *args: torch_step(*args).double())

    def stub(*args):
        raise NotImplementedError()
    assert "not implemented yet" in failure("6.2", stub)


# ------------------------------------------------------------- 6.3 the difference to nn.GRU

def test_difference_check_uses_the_reference_textbook_step():
    check("6.3", cho_difference)  # passes although this module's gru_step_cho is PyTorch's form


def test_difference_mistakes():
    def zero(gru, x):
        return 0.0

    def last_only(gru, x):
        weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        h = torch.zeros(x.shape[1], gru.hidden_size)
        with torch.no_grad():
            for x_t in x:
                h = reference_cho_step(x_t, h, *weights)
            return (h - gru(x)[1][0]).abs().max().item()

    def mean(gru, x):
        weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        h, states = torch.zeros(x.shape[1], gru.hidden_size), []
        with torch.no_grad():
            for x_t in x:
                h = reference_cho_step(x_t, h, *weights)
                states.append(h)
            return (torch.stack(states) - gru(x)[0]).abs().mean().item()

    assert "0 means both sides computed the same function" in failure("6.3", zero)
    assert "the last states only" in failure("6.3", last_only)
    assert "it is the mean absolute difference" in failure("6.3", mean)
    assert "return .item() of it" in failure("6.3", lambda gru, x: torch.tensor(cho_difference(gru, x)))


# ------------------------------------------------------------- 6.4 weights in blocks

def test_blocks_in_the_wrong_order_direction_or_layer():
    assert "read as the gates z, r, n" in failure("6.4", lambda gru, layer=0, reverse=False:
                                                  gru_gate_blocks(gru, layer, reverse, order="zrn"))
    assert "the forward direction's weights" in failure("6.4", lambda gru, layer=0, reverse=False:
                                                       gru_gate_blocks(gru, layer, False))
    assert "these are layer 0's weights" in failure("6.4", lambda gru, layer=0, reverse=False:
                                                    gru_gate_blocks(gru, 0, reverse))


def test_blocks_split_along_the_columns_or_not_split():
    assert "you split the columns" in failure("6.4", lambda gru, layer=0, reverse=False:
                                              gru_gate_blocks(gru, layer, reverse, dim=1))

    def whole(gru, layer=0, reverse=False):
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        stacked = tuple(getattr(gru, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        return stacked, stacked, stacked
    assert "that is the whole stacked tensor" in failure("6.4", whole)
    assert "expected gru_gate_blocks(gru, layer=0, reverse=False) to return three groups (r, z, n), got a dict" in \
        failure("6.4", lambda gru, layer=0, reverse=False: {"r": None})


# ------------------------------------------------------------- 6.5 counting parameters

def test_bidirectional_layers_counted_once():
    assert "a second (reverse) set of every weight and bias" in failure("6.5", count(directions=1))
    assert "read both directions' outputs" in failure("6.5", count(deeper_reads="out"))


def test_gate_blocks_biases_and_projection_mistakes():
    assert "one bias vector per gate block" in failure("6.5", count(biases=1))
    assert "the number of gate blocks is wrong" in failure("6.5", count(gates={"RNN": 1, "GRU": 4, "LSTM": 3}))
    assert "counted like a plain RNN" in failure("6.5", count(gates={"RNN": 1, "GRU": 1, "LSTM": 1}))
    assert "also has weight_hr" in failure("6.5", count(w_hr=False))
    assert "weight_hh is (4 * hidden_size, proj_size)" in failure("6.5", count(hh_cols="hidden"))
    assert "read the projected outputs" in failure("6.5", count(deeper_reads="directions * hidden"))


def test_count_types_and_bias_false():
    assert "expected the result of count_parameters('GRU', 2, 64" in failure("6.5", lambda *a, **k: float(library_count(*a, **k)))

    def ignores_bias(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
        return library_count(mode, input_size, hidden_size, num_layers, True, bidirectional, proj_size)
    assert "with bias=False there are no bias vectors" in failure("6.5", ignores_bias)
