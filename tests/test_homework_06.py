"""Homework 06 (the GRU from scratch): every diagnosis its checks promise, each produced by a function that makes
that mistake, plus the references' agreement with torch and the library."""
import pytest
import torch
from torch import nn

import recurrent_lib
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib import cells
from recurrent_lib.homework.checks.gru import (COUNT_CASES, MATCH_CASES, count_formula, gru_reference,
                                               matched_reference, reference_cho_step, step_cases, torch_count)
from recurrent_lib.sizes import count_parameters as library_count
from recurrent_lib.study import matched_hidden_size


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


def count_parameters(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    """The solution of 6.5, from the shapes alone."""
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[mode]
    directions, h_out, total = 2 if bidirectional else 1, proj_size or hidden_size, 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * h_out
        per_direction = gates * hidden_size * (layer_input + h_out) + (2 * gates * hidden_size if bias else 0)
        total += directions * (per_direction + proj_size * hidden_size)
    return total


def matched_gru_size(input_size, lstm_hidden_size):
    """The solution of 6.6: calls count_parameters by name, as a student's notebook does."""
    target = count_parameters("LSTM", input_size, lstm_hidden_size)
    return min(range(1, 4 * lstm_hidden_size), key=lambda H: (abs(count_parameters("GRU", input_size, H) - target), H))


def count(**mistake):
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
    check("6.5", count_parameters)
    check("6.6", matched_gru_size)


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
    assert "expected the result of count_parameters('GRU', 2, 64" in failure("6.5", lambda *a, **k: float(count_parameters(*a, **k)))

    def ignores_bias(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
        return count_parameters(mode, input_size, hidden_size, num_layers, True, bidirectional, proj_size)
    assert "with bias=False there are no bias vectors" in failure("6.5", ignores_bias)


def test_the_returned_none_is_named():
    assert "your function returned None" in failure("6.1", lambda *args: None)
    assert "your function returned None" in failure("6.5", lambda *args, **kwargs: None)


# ------------------------------------------------------------- issue 25: in place, raw errors, 6.2 variants, shortcuts

def test_updating_h_prev_in_place_is_caught():
    def in_place(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        h_new = torch_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
        h_prev.copy_(h_new)     # the right value, written into the caller's state
        return h_prev

    def multiplied(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        W_ir, W_iz, W_in = W_ih.chunk(3)
        W_hr, W_hz, W_hn = W_hh.chunk(3)
        b_ir, b_iz, b_in = b_ih.chunk(3)
        b_hr, b_hz, b_hn = b_hh.chunk(3)
        r = torch.sigmoid(x_t @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
        z = torch.sigmoid(x_t @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
        n = torch.tanh(x_t @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn))
        h_prev *= z
        h_prev += (1 - z) * n
        return h_prev

    for wrong in (in_place, multiplied):
        message = failure("6.1", wrong)
        assert "changed the caller's h_prev in place" in message
        assert "compute a new tensor" in message
    assert "changed the caller's h_prev in place" in failure("6.2", lambda x_t, h_prev, *w: in_place(x_t, h_prev, *w))


def test_chunk_on_the_batch_dimension_gets_the_gate_dimension_hint():
    def chunk_dim_0(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        i_r, i_z, i_n = (x_t @ W_ih.T + b_ih).chunk(3)          # splits the batch, not the gates
        h_r, h_z, h_n = (h_prev @ W_hh.T + b_hh).chunk(3)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        return (1 - z) * torch.tanh(i_n + r * h_n) + z * h_prev
    message = failure("6.1", chunk_dim_0)
    assert "not enough values to unpack" in message
    assert "split the gate dimension" in message and "chunk(3, dim=1)" in message


@pytest.mark.parametrize("mistake, words", [
    ({"reset": "before", "without": ("b_hn",)}, "the candidate's hidden bias b_hn is missing: its hidden part is (r * h_prev) @ W_hn.T + b_hn"),
    ({"reset": "before", "without": ("b_in",)}, "the candidate's input bias b_in is missing"),
    ({"reset": "before", "reset_old": True}, "r also scales the old state in h'"),
    ({"reset": "after", "z_keeps": False}, "two mistakes: that is PyTorch's form"),
    ({"reset": "before, b_hn scaled", "z_keeps": False}, "two mistakes: r also scales b_hn"),
    ({"reset": "before", "without": ("b_hn",), "z_keeps": False}, "z and 1 - z are swapped"),
])
def test_textbook_form_variants_are_named(mistake, words):
    message = failure("6.2", step(**mistake))
    assert words in message
    assert "elements differ" not in message


def test_pytorch_form_variants_are_named():
    assert "b_hn is missing: its hidden part is r * (h_prev @ W_hn.T + b_hn)" in failure("6.1", step(without=("b_hn",)))
    assert "r also scales the old state" in failure("6.1", step(reset_old=True))
    message = failure("6.1", step(z_keeps=False, without=("b_in",)))
    assert message.count("two mistakes") == 1 and "z and 1 - z are swapped" in message and "b_in is missing" in message


@pytest.mark.parametrize("shortcut, shown", [
    (lambda x_t, h_prev, W_ih, W_hh, b_ih, b_hh: torch.gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh), "torch.gru_cell"),
    (lambda x_t, h_prev, W_ih, W_hh, b_ih, b_hh: cells.gru_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh),
     "the course library's GRU step"),
])
def test_the_step_written_by_torch_or_the_library_scores_zero(shortcut, shown):
    message = failure("6.1", shortcut)
    assert f"your code calls {shown}" in message and "write the GRU step yourself" in message


def test_a_step_through_nn_gru_cell_scores_zero():
    def through_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1])
        with torch.no_grad():
            for p, value in zip(cell.parameters(), (W_ih, W_hh, b_ih, b_hh)):
                p.copy_(value)
            return cell(x_t, h_prev)
    assert "your code calls nn.GRUCell or nn.GRU" in failure("6.1", through_cell)


def test_blocks_chunked_along_dim_1_or_with_the_wrong_suffix_get_course_hints():
    def dim_1(gru, layer=0, reverse=False):
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        stacked = [getattr(gru, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return tuple(zip(*(t.chunk(3, dim=1) for t in stacked)))
    message = failure("6.4", dim_1)
    assert "raised IndexError" in message and "the biases are 1-D" in message and "chunk(3) (dim=0)" in message

    def reversed_suffix(gru, layer=0, reverse=False):
        suffix = f"_l{layer}" + ("_reversed" if reverse else "")
        stacked = [getattr(gru, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return tuple(zip(*(t.chunk(3) for t in stacked)))
    message = failure("6.4", reversed_suffix)
    assert "raised AttributeError" in message and "end in _reverse, not _reversed" in message

    def no_layer_number(gru, layer=0, reverse=False):
        stacked = [getattr(gru, name) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return tuple(zip(*(t.chunk(3) for t in stacked)))
    assert "named_parameters()" in failure("6.4", no_layer_number)


def test_lower_case_modes_get_the_mode_hint():
    def lower_case(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
        gates = {"rnn": 1, "gru": 3, "lstm": 4}[mode]
        return gates * hidden_size * (input_size + hidden_size + 2)
    message = failure("6.5", lower_case)
    assert "raised KeyError: 'GRU'" in message and 'mode arrives as "RNN", "GRU" or "LSTM", in capitals' in message


def test_counting_with_the_library_or_a_torch_layer_scores_zero():
    assert "your code calls recurrent_lib.sizes.count_parameters" in failure("6.5", library_count)

    def through_torch(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
        kwargs = dict(num_layers=num_layers, bias=bias, bidirectional=bidirectional)
        if proj_size:
            kwargs["proj_size"] = proj_size
        return sum(p.numel() for p in getattr(nn, mode)(input_size, hidden_size, **kwargs).parameters())
    message = failure("6.5", through_torch)
    assert "a torch.nn layer, built to count its tensors" in message and "from the shapes alone" in message


# ------------------------------------------------------------- 6.6 the matching size

def test_matched_size_reference_agrees_with_the_library():
    for input_size, lstm_hidden in MATCH_CASES:
        target = library_count("LSTM", input_size, lstm_hidden)
        H = matched_reference(input_size, lstm_hidden)
        assert all(abs(library_count("GRU", input_size, H) - target) <= abs(library_count("GRU", input_size, other) - target)
                   for other in range(1, 4 * lstm_hidden))
    assert matched_reference(57, 64) == 77


def test_matched_size_may_use_the_library_count_and_uses_the_reference_count():
    def with_library(input_size, lstm_hidden_size):
        target = library_count("LSTM", input_size, lstm_hidden_size)
        return min(range(1, 4 * lstm_hidden_size), key=lambda H: (abs(library_count("GRU", input_size, H) - target), H))
    check("6.6", with_library)
    global count_parameters
    right = count_parameters
    count_parameters = count(biases=1)   # a wrong 6.5 in this module's namespace: 6.6's check replaces it
    try:
        check("6.6", matched_gru_size)
    finally:
        count_parameters = right


@pytest.mark.parametrize("wrong, words", [
    (lambda input_size, h: round((4 / 3) ** 0.5 * h), "that is about sqrt(4/3) times the LSTM's hidden size"),
    (lambda input_size, h: int((4 / 3) ** 0.5 * h), "that is about sqrt(4/3) times the LSTM's hidden size"),
    (lambda input_size, h: h, "that is the LSTM's own hidden size"),
    (lambda input_size, h: next(H for H in range(1, 10 * h) if count_parameters("GRU", input_size, H)
                                >= count_parameters("LSTM", input_size, h)), "the first size whose count reaches"),
    (lambda input_size, h: max(H for H in range(1, 10 * h) if count_parameters("GRU", input_size, H)
                               <= count_parameters("LSTM", input_size, h)), "the last size whose count stays below"),
    (lambda input_size, h: min(range(4 * h, 0, -1), key=lambda H: abs(count_parameters("GRU", input_size, H)
                                                                       - count_parameters("LSTM", input_size, h))),
     "on a tie (two sizes equally far from the LSTM's count) return the smaller one"),
    (lambda input_size, h: count_parameters("GRU", input_size, matched_gru_size(input_size, h)), "that is a parameter count"),
    (lambda input_size, h: matched_gru_size(input_size, h) + 2, "try every hidden size and keep the one whose count is closest"),
])
def test_matched_size_mistakes(wrong, words):
    message = failure("6.6", wrong)
    assert words in message
    assert "expected 77" in message or "expected 19" in message or "expected 11" in message or "expected 7" in message


def test_matched_size_from_the_study_scores_zero_and_a_float_is_refused():
    def through_study(input_size, lstm_hidden_size):
        return matched_hidden_size("gru", input_size, 1, library_count("LSTM", input_size, lstm_hidden_size) + lstm_hidden_size + 1)
    assert "your code calls recurrent_lib.study.matched_hidden_size" in failure("6.6", through_study)
    assert "use int(...)" in failure("6.6", lambda input_size, h: float(matched_gru_size(input_size, h)))


# ------------------------------------------------------------- a second battery of mistakes (issue 25)

def getattr_gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return getattr(torch, "gru_cell")(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)


def difference_with(reduce):
    def answer(gru, x):
        weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        with torch.no_grad():
            output, h, states = gru(x)[0], torch.zeros(x.shape[1], gru.hidden_size), []
            for x_t in x:
                h = reference_cho_step(x_t, h, *weights)
                states.append(h)
            return reduce(torch.stack(states), output).item()
    return answer


def difference_from_grus_states(gru, x):
    """Every textbook step started from gru's own previous state: one step's difference, not the sequence's."""
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    with torch.no_grad():
        output = gru(x)[0]
        previous = torch.cat((torch.zeros_like(output[:1]), output[:-1]))
        states = torch.stack([reference_cho_step(x_t, h, *weights) for x_t, h in zip(x, previous)])
        return (states - output).abs().max().item()


def grouped_by_tensor(gru, layer=0, reverse=False):
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(getattr(gru, name + suffix).chunk(3) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def lower_case_compare(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    gates = 4 if mode == "lstm" else 3 if mode == "gru" else 1
    return count_formula(mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size,
                         gates={"RNN": gates, "GRU": gates, "LSTM": gates})


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("6.1", getattr_gru_cell, "your code calls torch.gru_cell"),
    ("6.3", difference_with(lambda states, output: (states - output).abs().sum()), "the sum of the absolute differences"),
    ("6.3", difference_with(lambda states, output: ((states - output).abs() / output.abs()).max()),
     "it is the largest RELATIVE difference"),
    ("6.4", grouped_by_tensor, "the blocks grouped by tensor"),
    ("6.5", lower_case_compare, "if you compared mode with lower-case names"),
    ("6.6", lambda input_size, h: min(range(1, h), key=lambda H: abs(count_parameters("GRU", input_size, H)
                                                                      - count_parameters("LSTM", input_size, h))),
     "the search stopped below the LSTM's hidden size"),
    ("6.6", lambda input_size, h: count_parameters("lstm", input_size, h),
     "count_parameters takes mode in capitals"),
    ("6.1", step(reset_gate=torch.tanh), "r uses tanh: the reset gate is a gate, r = sigmoid(...)"),
    ("6.1", step(r_reads="z"), "r is computed with z's weights and biases"),
    ("6.1", step(mixes_old=False), "h' is n alone"),
    ("6.2", step(reset="before", mixes_old=False), "h' is n alone"),
    ("6.3", difference_from_grus_states, "each textbook step starts from gru's own previous state"),
    ("6.6", lambda input_size, h: min(range(1, 4 * h), key=lambda H: abs(count_parameters("GRU", input_size, H)
                                                                         - count_parameters("LSTM", input_size, H))),
     "an LSTM of the same candidate size H: the target is fixed"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, answer, words):
    assert words in failure(exercise_id, answer)
