"""Homework 05's feedback: every diagnosis the checks promise, each produced by a function that makes that mistake
(gate order, sigmoid on the candidate, h = o * c, coupled gates, arguments changed in place, a bias missing or in the
wrong place, parameters replaced, proj_size mix-ups, the library's shortcuts), correct answers in unusual forms
passing, and the solutions' functions passing."""
import numpy as np
import pytest
import torch
from torch import nn

from recurrent_lib import sizes
from recurrent_lib.gates import set_forget_bias
from recurrent_lib.homework import CheckFailure, check
from recurrent_lib.lstm_forms import MyLSTM, per_gate_to_lstm


def failure(exercise_id: str, *objects) -> str:
    """The message of the check's failure (the test fails if the check passes)."""
    with pytest.raises(CheckFailure) as caught:
        check(exercise_id, *objects)
    return str(caught.value)


# ------------------------------------------------------------- 5.1 one step in the notes' form

def per_gate_step(*, candidate=torch.tanh, squash=True, swap_fi=False, h_first=False, swap_output=False, cat_dim=1,
                  coupled="", h_from="c", in_place=False):
    def step(x_t, h_prev, c_prev, W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o):
        z = torch.cat((h_prev, x_t) if h_first else (x_t, h_prev), dim=cat_dim)
        f, i = torch.sigmoid(z @ W_f.T + b_f), torch.sigmoid(z @ W_i.T + b_i)
        if swap_fi:
            f, i = i, f
        if coupled == "i":
            i = 1 - f
        elif coupled == "f":
            f = 1 - i
        c_tilde = candidate(z @ W_C.T + b_C)
        if in_place:
            c_prev *= f  # the caller's tensor changes
            c = c_prev.add_(i * c_tilde)
        else:
            c = f * c_prev + i * c_tilde
        o = torch.sigmoid(z @ W_o.T + b_o)
        h = {"c": o * (torch.tanh(c) if squash else c), "tanh g": o * torch.tanh(c_tilde), "g": o * c_tilde}[h_from]
        return (c, h) if swap_output else (h, c)
    return step


def test_5_1_passes_the_right_step_and_names_each_mistake() -> None:
    check("5.1", per_gate_step())
    assert "the candidate C~ went through a sigmoid" in failure("5.1", per_gate_step(candidate=torch.sigmoid))
    assert "it is h_t = o_t * c_t" in failure("5.1", per_gate_step(squash=False))
    assert "forget and input gates are exchanged" in failure("5.1", per_gate_step(swap_fi=True))
    assert "concatenated as [h_prev; x_t]" in failure("5.1", per_gate_step(h_first=True))
    assert "came back in the wrong order: return h_t first" in failure("5.1", per_gate_step(swap_output=True))


def test_5_1_names_coupled_gates_and_h_read_from_the_candidate() -> None:
    assert "you coupled the gates, i_t = 1 - f_t" in failure("5.1", per_gate_step(coupled="i"))
    assert "you coupled the gates, f_t = 1 - i_t" in failure("5.1", per_gate_step(coupled="f"))
    assert "h_t is o_t * tanh(C~_t), the squashed candidate" in failure("5.1", per_gate_step(h_from="tanh g"))
    assert "h_t is o_t * C~_t, the candidate" in failure("5.1", per_gate_step(h_from="g"))


def test_5_1_refuses_a_step_that_changes_its_arguments_in_place() -> None:
    message = failure("5.1", per_gate_step(in_place=True))
    assert "changed its argument c_prev in place" in message and "the caller's tensors are not yours" in message


def test_5_1_gives_the_course_hint_for_a_concatenation_on_the_wrong_dimension() -> None:
    message = failure("5.1", per_gate_step(cat_dim=0))
    assert "torch.cat(..., dim=0) stacks rows" in message and "torch.cat((x_t, h_prev), dim=1)" in message
    assert "x @ W.T" not in message
    assert "the notes' MyLSTM works on 3-D" in failure("5.1", per_gate_step(cat_dim=2))


def test_5_1_and_5_2_refuse_torchs_cell() -> None:
    def with_torch(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        return torch.lstm_cell(x_t, (h_prev, c_prev), W_ih, W_hh, b_ih, b_hh)
    assert "your code calls torch.lstm_cell" in failure("5.2", with_torch)

    def with_module(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        cell = nn.LSTMCell(x_t.shape[1], h_prev.shape[1])
        with torch.no_grad():
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
                getattr(cell, name).copy_(value)
            return cell(x_t, (h_prev, c_prev))
    assert "your code calls nn.LSTMCell" in failure("5.2", with_module)


def test_5_1_reports_a_stub_and_a_float64_answer() -> None:
    def stub(*args):
        raise NotImplementedError()
    assert "not implemented yet" in failure("5.1", stub)

    def float64(*args):
        h, c = per_gate_step()(*args)
        return h.double(), c.double()
    assert "of dtype torch.float32, got torch.float64" in failure("5.1", float64)


# ------------------------------------------------------------- 5.2 the fused step

def fused_step(*, order="ifgo", candidate=torch.tanh, squash=True, b_hh=True, dim=1):
    def step(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, bias_hh):
        z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + (bias_hh if b_hh else 0)
        gates = dict(zip(order, z.chunk(4, dim=dim)))
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


def test_5_2_a_chunk_on_the_wrong_dimension_gets_the_course_hint() -> None:
    def wrong_dim(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=0)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    message = failure("5.2", wrong_dim)
    assert message.startswith("✗ Exercise 5.2") and "split the gate dimension, dim=1" in message


def test_5_2_names_coupled_gates_and_an_in_place_update() -> None:
    def coupled(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)
        f = torch.sigmoid(f)
        c = f * c_prev + (1 - f) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    assert "you coupled the gates, i_t = 1 - f_t" in failure("5.2", coupled)

    def in_place(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)
        c_prev.mul_(torch.sigmoid(f)).add_(torch.sigmoid(i) * torch.tanh(g))
        h_prev.copy_(torch.sigmoid(o) * torch.tanh(c_prev))
        return h_prev, c_prev
    assert "changed its argument h_prev, c_prev in place" in failure("5.2", in_place)


# ------------------------------------------------------------- 5.3 MyLSTM's weights in nn.LSTM

def mapping(order="ifgo", *, bias_in_both=False, h_first=False, as_list=False, no_grad=True, split=False):
    def mylstm_to_lstm_state(my):
        by_gate = {"i": my.W_i, "f": my.W_f, "g": my.W_C, "o": my.W_o}
        with torch.set_grad_enabled(not no_grad):
            weight = torch.cat([by_gate[g].weight for g in order])
            bias = torch.cat([by_gate[g].bias for g in order])
        cut = my.hidden_size if h_first else my.input_size
        first, second = weight[:, :cut], weight[:, cut:]
        state = {"weight_ih_l0": second if h_first else first, "weight_hh_l0": first if h_first else second,
                 "bias_ih_l0": bias / 2 if split else bias,
                 "bias_hh_l0": bias / 2 if split else bias.clone() if bias_in_both else torch.zeros_like(bias)}
        return list(state.values()) if as_list else state
    return mylstm_to_lstm_state


def test_5_3_passes_the_mapping_and_any_split_of_the_bias() -> None:
    check("5.3", mapping())
    check("5.3", mapping(split=True))

    def checks_its_argument(my):
        assert isinstance(my, MyLSTM)  # naming the notes' class is no shortcut
        return mapping()(my)
    check("5.3", checks_its_argument)


def test_5_3_refuses_tensors_that_drag_a_graph_and_the_librarys_mapping() -> None:
    message = failure("5.3", mapping(no_grad=False))
    assert "still require grad" in message and "with torch.no_grad()" in message
    message = failure("5.3", lambda my: per_gate_to_lstm(my))
    assert "your code calls the course library's per_gate_to_lstm" in message and "scores zero" in message


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


def test_5_4_names_the_block_that_got_the_value() -> None:
    message = failure("5.4", setter(block=2))
    assert "rows 2H:3H, the g block (the cell candidate)" in message and "the forget gate is the second block, rows H:2H" in message
    assert "rows 3H:4H, the output gate o" in failure("5.4", setter(block=3))


def test_5_4_refuses_new_parameters_and_the_librarys_setter() -> None:
    def new_parameters(lstm, value):
        H = lstm.hidden_size
        for name, p in list(lstm.named_parameters()):
            if name.startswith("bias"):
                new = p.detach().clone()
                new[H:2 * H] = value if name.startswith("bias_ih") else 0.0
                setattr(lstm, name, nn.Parameter(new))
    message = failure("5.4", new_parameters)
    assert "replaced bias_hh_l0" in message and "an optimizer built before the call still holds" in message
    assert "your code calls the course library's set_forget_bias" in failure("5.4", lambda lstm, value: set_forget_bias(lstm, value))


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

def counter(*, biases=2, hh="out", projection=True, deeper="out", gates=4, both=True, deeper_both=True):
    def count_lstm_parameters(input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        directions, out, total = 2 if bidirectional and both else 1, proj_size or hidden_size, 0
        reads = 2 if bidirectional and deeper_both else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else reads * (out if deeper == "out" else hidden_size)
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


def test_5_5_names_the_direction_mistakes_and_refuses_the_shortcuts() -> None:
    assert "you counted one direction: a bidirectional LSTM has a second set" in failure("5.5", counter(both=False))
    assert "reads both directions' h side by side" in failure("5.5", counter(deeper_both=False))
    assert "you counted one direction, and later layers reading one direction's h" in failure(
        "5.5", counter(both=False, deeper_both=False))
    assert "your code calls the course library's count_parameters" in failure(
        "5.5", lambda I, H, num_layers=1, proj_size=0, bidirectional=False: sizes.count_parameters("LSTM", I, H))

    def measured(input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        lstm = nn.LSTM(input_size, hidden_size, num_layers, proj_size=proj_size, bidirectional=bidirectional)
        return sum(p.numel() for p in lstm.parameters())
    assert "your code calls nn.LSTM" in failure("5.5", measured)


# ------------------------------------------------------------- 5.6 the shapes

def shapes(*, swap_hc=False, h_n_hidden=False, container=tuple, number=int):
    def lstm_output_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        d, out = 2 if bidirectional else 1, proj_size or hidden_size
        h_size, c_size = (hidden_size, out) if swap_hc else (hidden_size if h_n_hidden else out, hidden_size)
        output = (seq_len, batch, d * (hidden_size if swap_hc else out))
        result = output, (num_layers * d, batch, h_size), (num_layers * d, batch, c_size)
        return container(container(number(n) for n in shape) for shape in result)
    return lstm_output_shapes


def test_5_6_accepts_numpy_integers_and_torch_sizes() -> None:
    check("5.6", shapes(number=np.int64))
    check("5.6", lambda *a, **k: tuple(torch.Size(shape) for shape in shapes()(*a, **k)))


def test_5_6_says_that_tuples_are_asked_for() -> None:
    message = failure("5.6", shapes(container=list))
    assert "returned a list: return a tuple" in message and "a list never equals a tuple" in message
    message = failure("5.6", lambda *a, **k: tuple(list(shape) for shape in shapes()(*a, **k)))
    assert "output_shape is a list: return a tuple of ints" in message


def test_5_6_refuses_running_an_lstm() -> None:
    def measured(seq_len, batch, input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        lstm = nn.LSTM(input_size, hidden_size, num_layers, proj_size=proj_size, bidirectional=bidirectional)
        output, (h_n, c_n) = lstm(torch.zeros(seq_len, batch, input_size))
        return tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)
    assert "your code calls nn.LSTM" in failure("5.6", measured)


def test_5_6_passes_and_names_the_proj_size_mix_ups() -> None:
    check("5.6", shapes())
    assert "h and c are swapped" in failure("5.6", shapes(swap_hc=True))
    assert "h_n has proj_size features like output" in failure("5.6", shapes(h_n_hidden=True))
    assert "three tuples, got 2 items" in failure("5.6", lambda *a, **k: ((1,), (2,)))




# ------------------------------------------------------------- 5.7 the backward pass of one step

def backward(*, cell_path=True, h_path=True, tanh_of_c=True, order="ifgo", forget_scales=True, db_summed=True,
             swap=False):
    def lstm_step_backward(dh_t, dc_t, cache):
        x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t = cache
        tanh_c = torch.tanh(c_t)
        dc = (dc_t if cell_path else 0) + (dh_t * o * (1 - (tanh_c if tanh_of_c else c_t) ** 2) if h_path else 0)
        pre = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f), "g": dc * i * (1 - g ** 2),
               "o": dh_t * tanh_c * o * (1 - o)}
        da = torch.cat([pre[gate] for gate in order], dim=1)
        dh_prev, dc_prev = da @ W_hh, dc * f if forget_scales else dc
        if swap:
            dh_prev, dc_prev = dc_prev, dh_prev
        return da @ W_ih, dh_prev, dc_prev, da.T @ x_t, da.T @ h_prev, da.sum(dim=0) if db_summed else da
    return lstm_step_backward


def test_5_7_passes_the_backward_pass_by_hand() -> None:
    check("5.7", backward())


def test_5_7_names_each_derivation_mistake() -> None:
    assert "the gradient arriving along the cell path is missing" in failure("5.7", backward(cell_path=False))
    assert "the path from h_t into c_t is missing" in failure("5.7", backward(h_path=False))
    assert "tanh's slope is 1 - tanh(c_t)^2, not 1 - c_t^2" in failure("5.7", backward(tanh_of_c=False))
    assert "stacked as i, f, o, g (CS231n's order)" in failure("5.7", backward(order="ifog"))
    assert "dc_prev is dc * f_t" in failure("5.7", backward(forget_scales=False))
    assert "db sums da over the batch" in failure("5.7", backward(db_summed=False))
    assert "dh_prev and dc_prev (with batch 2, input 3, hidden 4) came back in the wrong order" in failure(
        "5.7", backward(swap=True))
    assert "six tensors, got 5 items" in failure("5.7", lambda dh, dc, cache: backward()(dh, dc, cache)[:5])


def test_5_7_refuses_autograd() -> None:
    def with_grad(dh_t, dc_t, cache):
        x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t = cache
        return torch.autograd.grad(c_t.sum(), [x_t])
    assert "your code calls torch.autograd" in failure("5.7", with_grad)

    def with_backward(dh_t, dc_t, cache):
        x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t = cache
        x_t.requires_grad_()
        (x_t @ W_ih.T).sum().backward()
        return x_t.grad
    assert "the gradients by hand, from the cache" in failure("5.7", with_backward)


# ------------------------------------------------------------- a second battery of mistakes (issue 25)

def per_gate_with(*, without="", o_act=torch.sigmoid, input_gate=True, rows_first=False, product=False):
    def lstm_step_per_gate(x_t, h_prev, c_prev, W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o):
        z = torch.cat((x_t, h_prev), dim=1)
        biases = {"f": b_f, "i": b_i, "C": b_C, "o": b_o}

        def pre(W, name):
            return (W @ z.T).reshape(-1) if rows_first else z @ W.T + (0 if name == without else biases[name])
        f, i, g, o = torch.sigmoid(pre(W_f, "f")), torch.sigmoid(pre(W_i, "i")), torch.tanh(pre(W_C, "C")), o_act(pre(W_o, "o"))
        c = f * c_prev * i * g if product else f * c_prev + (i * g if input_gate else g)
        return o * torch.tanh(c), c
    if rows_first:
        return lambda x_t, h_prev, c_prev, W_f, b_f, *rest: (W_f @ torch.cat((x_t, h_prev), 1).T + b_f, c_prev)
    return lstm_step_per_gate


def getattr_cell(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    return getattr(torch, "lstm_cell")(x_t, (h_prev, c_prev), W_ih, W_hh, b_ih, b_hh)


def gates_in_rows(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = (W_ih @ x_t.T + b_ih + W_hh @ h_prev.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def mapping_with(stack=False, dim=0, order=("W_i", "W_f", "W_C", "W_o")):
    def mylstm_to_lstm_state(my):
        I = my.input_size  # noqa: E741
        with torch.no_grad():
            weights = [getattr(my, name).weight for name in order]
            w = torch.stack(weights) if stack else torch.cat(weights, dim=dim)
            b = torch.cat([getattr(my, name).bias for name in order])
            return {"weight_ih_l0": w[:, :I], "weight_hh_l0": w[:, I:], "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
    return mylstm_to_lstm_state


def shapes_with(mistake):
    def lstm_output_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        d, out = 2 if bidirectional else 1, proj_size or hidden_size
        output = (batch, seq_len, d * out) if mistake == "batch first" else (seq_len, batch, d * out)
        if mistake == "directions last":
            return output, (num_layers, batch, d * out), (num_layers, batch, d * hidden_size)
        layers = num_layers if mistake == "no directions" else num_layers * d
        return output, (layers, batch, out), (layers, batch, hidden_size)
    return lstm_output_shapes


def backward_with(**mistake):
    def lstm_step_backward(dh_t, dc_t, cache):
        return backward_by_hand_of(dh_t, dc_t, cache, **mistake)
    return lstm_step_backward


def backward_by_hand_of(dh_t, dc_t, cache, o_from_dc=False, f_reads_c_t=False, g_again=False, dx_transposed=False,
                        gates_again=False):
    x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t = cache
    tanh_c = torch.tanh(c_t)
    slope = (lambda s: torch.sigmoid(s) * (1 - torch.sigmoid(s))) if gates_again else (lambda s: s * (1 - s))
    dc = dc_t + dh_t * o * (1 - tanh_c ** 2)
    da = torch.cat((dc * g * slope(i), dc * (c_t if f_reads_c_t else c_prev) * slope(f),
                    dc * i * (1 - (torch.tanh(g) if g_again else g) ** 2),
                    (dc if o_from_dc else dh_t) * tanh_c * slope(o)), dim=1)
    return (da @ W_ih.T if dx_transposed else da @ W_ih), da @ W_hh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(dim=0)


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("5.1", per_gate_with(without="o"), "the bias b_o is missing from its gate"),
    ("5.1", per_gate_with(o_act=torch.tanh), "the output gate went through tanh"),
    ("5.1", per_gate_with(input_gate=False), "the input gate is missing"),
    ("5.1", per_gate_with(rows_first=True), "rows are examples: a gate's pre-activation is (batch, hidden_size)"),
    ("5.2", getattr_cell, "your code calls torch.lstm_cell"),
    ("5.2", gates_in_rows, "W @ x_t.T is (hidden_size, batch)"),
    ("5.3", mapping_with(stack=True), "torch.stack adds a new dimension"),
    ("5.3", mapping_with(dim=1), "torch.cat(..., dim=1) put the gates side by side"),
    ("5.3", mapping_with(order=("W_C", "W_i", "W_f", "W_o")), "the blocks are stacked as g, i, f, o"),
    ("5.3", mapping_with(order=("W_i", "W_f", "W_g", "W_o")), "MyLSTM's four Linears are my.W_f, my.W_i, my.W_C"),
    ("5.5", lambda I, H, num_layers=1, proj_size=0, bidirectional=False: (1 + bidirectional) * num_layers * (
        4 * H * (I + (proj_size or H)) + 8 * H + proj_size * H), "you counted every layer as reading input_size features"),
    ("5.6", shapes_with("directions last"), "h_n and c_n stack layers and directions in their FIRST dimension"),
    ("5.6", shapes_with("no directions"), "their first dimension is num_layers * num_directions"),
    ("5.6", shapes_with("batch first"), "nn.LSTM is sequence-first (batch_first=False)"),
    ("5.7", backward_with(o_from_dc=True), "da_o uses dc"),
    ("5.7", backward_with(f_reads_c_t=True), "da_f uses c_t"),
    ("5.7", backward_with(g_again=True), "the cache's g is already tanh of its pre-activation"),
    ("5.7", backward_with(dx_transposed=True), "dx_t = da @ W_ih"),
    ("5.1", per_gate_with(product=True), "c_t is the product f_t * c_prev * i_t * C~_t: the cell state is a sum"),
    ("5.2", lambda x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh:
        fused_step()(x_t, h_prev, c_prev, W_ih, W_hh, b_hh, b_hh),  # b_hh in b_ih's place
     "b_hh is added twice and b_ih not at all"),
    ("5.7", backward_with(gates_again=True), "the cache's i, f, o are already sigmoid outputs"),
])
def test_a_second_battery_of_mistakes_is_named(exercise_id, answer, words) -> None:
    assert words in failure(exercise_id, answer)


def test_5_5_names_weight_hr_counted_once_per_layer() -> None:
    def once_per_layer(input_size, hidden_size, num_layers=1, proj_size=0, bidirectional=False):
        d, out, total = 2 if bidirectional else 1, proj_size or hidden_size, 0
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else d * out
            total += d * (4 * hidden_size * (layer_input + out) + 8 * hidden_size) + proj_size * hidden_size
        return total
    assert "you counted weight_hr once per layer" in failure("5.5", once_per_layer)
