"""Homework 05's feedback: every diagnosis the checks promise, each produced by a function that makes that mistake
(gate order, sigmoid on the candidate, h = o * c, a bias missing or in the wrong place, proj_size mix-ups), and
the solutions' functions passing."""
import pytest
import torch
from torch import nn

from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.lstm_forms import per_gate_to_lstm


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ------------------------------------------------------------- 5.1 one step in the notes' form

def per_gate_step(*, candidate=torch.tanh, squash=True, swap_fi=False, h_first=False, swap_output=False):
    def step(x_t, h_prev, c_prev, W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o):
        z = torch.cat((h_prev, x_t) if h_first else (x_t, h_prev), dim=1)
        f, i = torch.sigmoid(z @ W_f.T + b_f), torch.sigmoid(z @ W_i.T + b_i)
        if swap_fi:
            f, i = i, f
        c = f * c_prev + i * candidate(z @ W_C.T + b_C)
        h = torch.sigmoid(z @ W_o.T + b_o) * (torch.tanh(c) if squash else c)
        return (c, h) if swap_output else (h, c)
    return step


def test_5_1_passes_the_right_step_and_names_each_mistake() -> None:
    check("5.1", per_gate_step())
    assert "the candidate C~ went through a sigmoid" in failure("5.1", per_gate_step(candidate=torch.sigmoid))
    assert "it is h_t = o_t * c_t" in failure("5.1", per_gate_step(squash=False))
    assert "forget and input gates are exchanged" in failure("5.1", per_gate_step(swap_fi=True))
    assert "concatenated as [h_prev; x_t]" in failure("5.1", per_gate_step(h_first=True))
    assert "came back in the wrong order: return h_t first" in failure("5.1", per_gate_step(swap_output=True))


def test_5_1_reports_a_stub_and_a_float64_answer() -> None:
    def stub(*args):
        raise NotImplementedError()
    assert "not implemented yet" in failure("5.1", stub)

    def float64(*args):
        h, c = per_gate_step()(*args)
        return h.double(), c.double()
    assert "of dtype torch.float32, got torch.float64" in failure("5.1", float64)


# ------------------------------------------------------------- 5.2 the fused step

def fused_step(*, order="ifgo", candidate=torch.tanh, squash=True, b_hh=True):
    def step(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, bias_hh):
        z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + (bias_hh if b_hh else 0)
        gates = dict(zip(order, z.chunk(4, dim=1)))
        c = torch.sigmoid(gates["f"]) * c_prev + torch.sigmoid(gates["i"]) * candidate(gates["g"])
        return torch.sigmoid(gates["o"]) * (torch.tanh(c) if squash else c), c
    return step


def test_5_2_passes_the_right_step_and_names_the_gate_order() -> None:
    check("5.2", fused_step())
    assert "i, f, o, g (the fastai book's order)" in failure("5.2", fused_step(order="ifog"))
    assert "f, i, g, o (the notes' order)" in failure("5.2", fused_step(order="figo"))


def test_5_2_names_sigmoid_on_the_candidate_missing_tanh_and_a_missing_bias() -> None:
    assert "the candidate g went through a sigmoid" in failure("5.2", fused_step(candidate=torch.sigmoid))
    assert "h_t = o * c_t: squash the cell state first" in failure("5.2", fused_step(squash=False))
    assert "b_hh is missing: nn.LSTM adds both biases" in failure("5.2", fused_step(b_hh=False))


def test_5_2_a_chunk_on_the_wrong_dimension_is_reported_not_crashed_on() -> None:
    def wrong_dim(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=0)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    message = failure("5.2", wrong_dim)
    assert message.startswith("✗ Exercise 5.2") and "lstm_step_fused" in message


# ------------------------------------------------------------- 5.3 MyLSTM's weights in nn.LSTM

def mapping(order="ifgo", *, bias_in_both=False, h_first=False, as_list=False):
    def mylstm_to_lstm_state(my):
        by_gate = {"i": my.W_i, "f": my.W_f, "g": my.W_C, "o": my.W_o}
        with torch.no_grad():
            weight = torch.cat([by_gate[g].weight for g in order])
            bias = torch.cat([by_gate[g].bias for g in order])
        cut = my.hidden_size if h_first else my.input_size
        first, second = weight[:, :cut], weight[:, cut:]
        state = {"weight_ih_l0": second if h_first else first, "weight_hh_l0": first if h_first else second,
                 "bias_ih_l0": bias, "bias_hh_l0": bias.clone() if bias_in_both else torch.zeros_like(bias)}
        return list(state.values()) if as_list else state
    return mylstm_to_lstm_state


def test_5_3_passes_the_mapping_and_any_split_of_the_bias() -> None:
    check("5.3", mapping())
    check("5.3", lambda my: per_gate_to_lstm(my, split_bias=True))


def test_5_3_names_the_gate_order_the_doubled_bias_and_the_column_split() -> None:
    assert "the notes' order f, i, C, o" in failure("5.3", mapping("figo"))
    assert "i, f, o, g (the fastai book's order)" in failure("5.3", mapping("ifog"))
    assert "went into both bias_ih_l0 and bias_hh_l0" in failure("5.3", mapping(bias_in_both=True))
    assert "the first input_size columns multiply x_t" in failure("5.3", mapping(h_first=True))
    assert "expected mylstm_to_lstm_state to return a dict of tensors, got a list" in failure("5.3", mapping(as_list=True))


def test_5_3_names_a_missing_key() -> None:
    def no_hh(my):
        state = mapping()(my)
        del state["bias_hh_l0"]
        return state
    assert "has no bias_hh_l0" in failure("5.3", no_hh)


# ------------------------------------------------------------- 5.4 the forget-gate bias

def setter(*, block=1, ih=True, hh="zero", layers="all"):
    def set_forget_gate_bias(lstm, value):
        H = lstm.hidden_size
        with torch.no_grad():
            for name, p in lstm.named_parameters():
                if layers == "first" and "_l0" not in name:
                    continue
                rows = slice(block * H, (block + 1) * H)
                if name.startswith("bias_ih") and ih:
                    p[rows] = value
                elif name.startswith("bias_hh") and hh != "keep":
                    p[rows] = value if hh == "value" else 0.0
    return set_forget_gate_bias


def test_5_4_passes_the_right_setter() -> None:
    check("5.4", setter())


def test_5_4_names_the_input_gate_slice_one_bias_only_both_biases_and_one_layer() -> None:
    assert "went into rows 0:H, the input gate i" in failure("5.4", setter(block=0))
    assert "only bias_ih_l0[H:2H] was set, bias_hh_l0[H:2H] kept its random values" in failure("5.4", setter(hh="keep"))
    assert "only bias_hh_l0[H:2H] was set" in failure("5.4", setter(ih=False, hh="value"))
    assert "went into both bias_ih_l0[H:2H] and bias_hh_l0[H:2H]" in failure("5.4", setter(hh="value"))
    assert "set it in every layer and direction" in failure("5.4", setter(layers="first"))


def test_5_4_names_replaced_parameters_and_changed_weights() -> None:
    def replaces(lstm, value):
        lstm.bias_ih_l0 = torch.zeros(4 * lstm.hidden_size)  # torch refuses: not a Parameter
    assert "instead of assigning a new tensor" in failure("5.4", replaces)

    def freezes(lstm, value):
        setter()(lstm, value)
        lstm.bias_hh_l0.requires_grad_(False)
    assert "no longer all trainable nn.Parameters" in failure("5.4", freezes)

    def touches_weights(lstm, value):
        setter()(lstm, value)
        with torch.no_grad():
            lstm.weight_ih_l0.zero_()
    assert "changed some weights" in failure("5.4", touches_weights)


# ------------------------------------------------------------- 5.5 counting parameters

def counter(*, biases=2, hh="out", projection=True, deeper="out", gates=4):
    def count_lstm_parameters(input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        directions, out, total = 2 if bidirectional else 1, proj_size or hidden_size, 0
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else directions * (out if deeper == "out" else hidden_size)
            columns = out if hh == "out" else hidden_size
            total += directions * (gates * hidden_size * (layer_input + columns) + biases * gates * hidden_size
                                   + (proj_size * hidden_size if projection else 0))
        return total
    return count_lstm_parameters


def test_5_5_passes_and_names_each_proj_size_mistake() -> None:
    check("5.5", counter())
    assert "one bias vector per gate block" in failure("5.5", counter(biases=1))
    assert "weight_hh is (4 * hidden_size, proj_size)" in failure("5.5", counter(hh="hidden"))
    assert "you left out weight_hr" in failure("5.5", counter(projection=False))
    assert "proj_size features (times the number of directions)" in failure("5.5", counter(deeper="hidden"))
    assert "three gates (a GRU's count)" in failure("5.5", counter(gates=3))
    assert "expected the result of count_lstm_parameters" in failure("5.5", lambda *a, **k: 1.5)


# ------------------------------------------------------------- 5.6 the shapes

def shapes(*, swap_hc=False, h_n_hidden=False):
    def lstm_output_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        d, out = 2 if bidirectional else 1, proj_size or hidden_size
        h_size, c_size = (hidden_size, out) if swap_hc else (hidden_size if h_n_hidden else out, hidden_size)
        output = (seq_len, batch, d * (hidden_size if swap_hc else out))
        return output, (num_layers * d, batch, h_size), (num_layers * d, batch, c_size)
    return lstm_output_shapes


def test_5_6_passes_and_names_the_proj_size_mix_ups() -> None:
    check("5.6", shapes())
    assert "h and c are swapped" in failure("5.6", shapes(swap_hc=True))
    assert "h_n has proj_size features like output" in failure("5.6", shapes(h_n_hidden=True))
    assert "three tuples, got 2 items" in failure("5.6", lambda *a, **k: ((1,), (2,)))


def test_every_exercise_has_a_check_that_runs_fast() -> None:
    import time
    for exercise_id, function in (("5.1", per_gate_step()), ("5.2", fused_step()), ("5.3", mapping()),
                                  ("5.4", setter()), ("5.5", counter()), ("5.6", shapes())):
        start = time.process_time()
        check(exercise_id, function)
        assert time.process_time() - start < 2, exercise_id
