r"""Assignment 05, the LSTM from scratch: checks of one step in the notes' per-gate form and in PyTorch's fused
form, the mapping of the notes' ``MyLSTM`` onto ``nn.LSTM``, the forget-gate bias, ``proj_size``'s parameter
count and shapes, and the backward pass of one step by hand (CS231n's ``lstm_step_backward``, in PyTorch's gate order).

The references are torch's (``nn.LSTMCell``, ``nn.LSTM`` and its parameter counts and output shapes) and the
library's (``recurrent_lib.lstm_forms``, tested against torch). Every exercise stands alone, so each check judges
one. A hint fires only when the student's result equals what the named mistake computes: the checks recompute
the answer with the gates in another order, a sigmoid on the candidate, ``h = o * c`` without the tanh, coupled
gates, the bias in the wrong block or in only one of the two bias vectors, and the ``proj_size`` mix-ups. The probes
also watch what a correct-looking answer may break elsewhere: arguments changed in place, returned tensors that drag
an autograd graph along, parameters replaced by new ones, lists where tuples are asked.

The shortcut rule (:mod:`..shortcuts`): every exercise here asks students to write the computation themselves, so a
call to ``nn.LSTMCell``/``torch.lstm_cell``, ``nn.LSTM`` where it would do the work, or the course library's
``per_gate_to_lstm``, ``set_forget_bias`` and ``sizes.count_parameters`` scores zero, and the exercise text says so.
"""
import itertools
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from recurrent_lib.lstm_forms import MyLSTM, per_gate_to_lstm

from ..exercise import Assignment, Exercise
from ..feedback import (CheckFailure, close, describe, difference, expect_close, expect_int, expect_pair,
                        expect_tensor, integer, returned, shape_text)
from ..shortcuts import references, refuse
from ..wire import JSON, call

Tensors = dict[str, Tensor]
FLOAT32 = "the weights are float32, and the rest of the notebook feeds the result to float32 modules"
STATE_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
LSTM_CELLS = {"torch.lstm_cell": "torch.lstm_cell", "torch._VF": "torch._VF (PyTorch's internal kernels)",
              "torch.nn.LSTMCell": "nn.LSTMCell", "torch.nn.LSTM": "nn.LSTM", "recurrent_lib": "the course library"}
STEP_HINTS = {
    "Sizes of tensors must match except in dimension 0":
        "torch.cat(..., dim=0) stacks rows; x_t (batch, input_size) and h_prev (batch, hidden_size) are joined along "
        "the features: torch.cat((x_t, h_prev), dim=1)",
    "Dimension out of range":
        "the notes' MyLSTM works on 3-D (1, batch, features) tensors and concatenates on dim=2; here x_t and h_prev "
        "are 2-D (batch, features): join them on dim=1",
    "values to unpack":
        "z is (batch, 4 * hidden_size): split the gate dimension, dim=1: i, f, g, o = z.chunk(4, dim=1) "
        "(chunk(4) without dim, or dim=0, cuts the batch)",
    "cannot be multiplied":
        "x_t is (batch, input_size) and the weights (hidden_size or 4 * hidden_size, ...): the batched product is "
        "x @ W.T",
    "must match the size of tensor":
        "rows are examples: a gate's pre-activation is (batch, hidden_size), x_t @ W.T; W @ x_t.T is "
        "(hidden_size, batch), which the bias (hidden_size,) cannot be added to",
}


def _randn(generator: torch.Generator, *shape: int, scale: float = 0.8) -> Tensor:
    return torch.randn(*shape, generator=generator) * scale


def _identity(t: Tensor) -> Tensor:
    return t


def _seeded(seed: int, cls: type[nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    """cls(*args, **kwargs) initialised from ``seed``, leaving the global random state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(*args, **kwargs)


def lstm_update(pre: Tensors, c_prev: Tensor, *, candidate: Callable[[Tensor], Tensor] = torch.tanh,
                h_squash: bool = True, swap_fi: bool = False, forget: bool = True, coupled: str = "",
                h_from: str = "c") -> tuple[Tensor, Tensor]:
    """(h_t, c_t) from the gates' pre-activations ``pre`` {"i", "f", "g", "o"}; the keywords make the mistakes:
    another activation on the candidate, h = o * c without tanh, the forget and input gate exchanged in the
    update, no forget term, coupled gates (``coupled="i"``: i = 1 - f; ``"f"``: f = 1 - i), or h read from the
    candidate (``h_from="tanh g"``: o * tanh(g); ``"g"``: o * g)."""
    i, f, o = torch.sigmoid(pre["i"]), torch.sigmoid(pre["f"]), torch.sigmoid(pre["o"])
    g = candidate(pre["g"])
    if swap_fi:
        i, f = f, i
    if coupled == "i":
        i = 1 - f
    elif coupled == "f":
        f = 1 - i
    c_t = (f * c_prev if forget else 0) + i * g
    h_t = {"c": o * (torch.tanh(c_t) if h_squash else c_t), "tanh g": o * torch.tanh(g), "g": o * g}[h_from]
    return h_t, c_t


def _shared_step_mistakes(pre: Tensors, c_prev: Tensor, candidate: str) -> dict[str, tuple[Tensor, Tensor]]:
    """Mistakes of both step exercises; ``candidate`` is how the exercise names g ("C~_t" or "g")."""
    product = torch.sigmoid(pre["f"]) * c_prev * torch.sigmoid(pre["i"]) * torch.tanh(pre["g"])
    return {
        f"c_t is the product f_t * c_prev * i_t * {candidate}: the cell state is a sum, c_t = f_t * c_prev + i_t * "
        f"{candidate} (keep part of the old state, add part of the candidate)":
            (torch.sigmoid(pre["o"]) * torch.tanh(product), product),
        f"you coupled the gates, i_t = 1 - f_t (c_t = f_t * c_prev + (1 - f_t) * {candidate}): the LSTM has its own "
        "input gate, i_t = sigmoid(...) from its own weights (coupling is the GRU's idea)":
            lstm_update(pre, c_prev, coupled="i"),
        f"you coupled the gates, f_t = 1 - i_t (c_t = (1 - i_t) * c_prev + i_t * {candidate}): the LSTM has its own "
        "forget gate, f_t = sigmoid(...) from its own weights":
            lstm_update(pre, c_prev, coupled="f"),
        f"h_t is o_t * tanh({candidate}), the squashed candidate: h_t = o_t * tanh(c_t) reads the new cell state":
            lstm_update(pre, c_prev, h_from="tanh g"),
        f"h_t is o_t * {candidate}, the candidate: h_t = o_t * tanh(c_t) reads the new cell state":
            lstm_update(pre, c_prev, h_from="g"),
    }


def _call_watching(function: Callable[..., Any], tensors: Tensors) -> tuple[JSON, list[str]]:
    """What ``function(*tensors.values())`` returned (encoded), and the names of the arguments it changed in place."""
    arguments = {name: value.clone() for name, value in tensors.items()}
    result = call(function, *arguments.values())
    return result, [name for name, value in arguments.items() if not torch.equal(value, tensors[name])]


def _untouched(changed: Any, function: str, where: str) -> None:
    """CheckFailure when the student's function changed an argument in place (``changed``: their names)."""
    if isinstance(changed, list) and changed:
        names = ", ".join(str(name) for name in changed)
        raise CheckFailure(
            f"{function} {where} changed its argument {names} in place (e.g. c_prev *= f_t, c_prev.mul_(...), "
            f"h_prev[:] = ...): the caller's tensors are not yours to change, and the caller still needs them "
            f"(nn.LSTMCell leaves its inputs untouched); compute the new state as a new tensor, c_t = f_t * c_prev + ...")


def _judge_step(result: Any, where: str, expected: tuple[Tensor, Tensor], mistakes: dict[str, tuple[Tensor, Tensor]],
                batch: int, hidden_size: int, name: str) -> None:
    """The returned (h_t, c_t) against ``expected``; c_t is judged first (most mistakes change it), then h_t."""
    value = returned(result, f"{name} {where}", hints=STEP_HINTS)
    h_t, c_t = expect_pair(value, "(h_t, c_t)")
    dims = "(batch, hidden_size)"
    h_t = expect_tensor(h_t, f"h_t {where}", (batch, hidden_size), dims, dtype=torch.float32, dtype_reason=FLOAT32)
    c_t = expect_tensor(c_t, f"c_t {where}", (batch, hidden_size), dims, dtype=torch.float32, dtype_reason=FLOAT32)
    h_expected, c_expected = expected
    if not close(c_t, c_expected) and close(c_t, h_expected) and close(h_t, c_expected):
        raise CheckFailure(f"(h_t, c_t) {where} came back in the wrong order: return h_t first, then c_t")
    expect_close(c_t, c_expected, f"c_t {where}", {advice: wrong[1] for advice, wrong in mistakes.items()})
    expect_close(h_t, h_expected, f"h_t {where}", {advice: wrong[0] for advice, wrong in mistakes.items()})


# ---------------------------------------------------------------- 5.1 one step in the notes' form

def per_gate_cases() -> dict[str, Tensors]:
    """x_t, h_prev, c_prev and the four gates' W (hidden, input + hidden), b (hidden,): two seeded sets."""
    g = torch.Generator().manual_seed(501)
    cases = {}
    for case, (batch, input_size, hidden_size) in {"batch 2, input 3, hidden 4": (2, 3, 4),
                                                     "batch 3, input 4, hidden 4": (3, 4, 4)}.items():
        tensors = {"x_t": _randn(g, batch, input_size, scale=1.0), "h_prev": _randn(g, batch, hidden_size),
                   "c_prev": _randn(g, batch, hidden_size, scale=1.5)}
        for gate in ("f", "i", "C", "o"):
            tensors[f"W_{gate}"] = _randn(g, hidden_size, input_size + hidden_size)
            tensors[f"b_{gate}"] = _randn(g, hidden_size)
        cases[case] = tensors
    return cases


def per_gate_pre(t: Tensors, h_first: bool = False) -> Tensors:
    """The four pre-activations [x_t; h_prev] W^T + b (or [h_prev; x_t], a mistake), keyed i, f, g, o."""
    combined = torch.cat((t["h_prev"], t["x_t"]) if h_first else (t["x_t"], t["h_prev"]), dim=1)
    return {gate: combined @ t[f"W_{name}"].T + t[f"b_{name}"] for gate, name in zip("ifgo", ("i", "f", "C", "o"))}


def per_gate_mistakes(t: Tensors) -> dict[str, tuple[Tensor, Tensor]]:
    pre, c = per_gate_pre(t), t["c_prev"]
    mistakes = {
        "the candidate C~ went through a sigmoid: it is tanh(W_C [x_t; h_prev] + b_C), so it can be negative":
            lstm_update(pre, c, candidate=torch.sigmoid),
        "it is h_t = o_t * c_t: the cell state is squashed first, h_t = o_t * tanh(c_t)": lstm_update(pre, c, h_squash=False),
        "the forget and input gates are exchanged: c_t = f_t * c_prev + i_t * C~_t (f keeps the old state, i "
        "admits the candidate)": lstm_update(pre, c, swap_fi=True),
        "the old cell state is missing: c_t = f_t * c_prev + i_t * C~_t": lstm_update(pre, c, forget=False),
        "it is h_t = o_t * tanh(c_prev): use the new cell state c_t": (
            torch.sigmoid(pre["o"]) * torch.tanh(c), lstm_update(pre, c)[1]),
    }
    mistakes["the input is concatenated as [h_prev; x_t]: the notes' order is torch.cat((x_t, h_prev), dim=1), "
             "x_t first"] = lstm_update(per_gate_pre(t, h_first=True), c)
    for gate, name in zip("ifgo", ("i", "f", "C", "o")):
        mistakes[f"the bias b_{name} is missing from its gate: every gate is [x_t; h_prev] W^T + b"] = \
            lstm_update({**pre, gate: pre[gate] - t[f"b_{name}"]}, c)
    c_t = lstm_update(pre, c)[1]
    mistakes["the output gate went through tanh: o_t = sigmoid(...), like f_t and i_t"] = (
        torch.tanh(pre["o"]) * torch.tanh(c_t), c_t)
    no_input = torch.sigmoid(pre["f"]) * c + torch.tanh(pre["g"])
    mistakes["the input gate is missing: c_t = f_t * c_prev + i_t * C~_t, i_t admits the candidate"] = (
        torch.sigmoid(pre["o"]) * torch.tanh(no_input), no_input)
    mistakes.update(_shared_step_mistakes(pre, c, "C~_t"))
    return mistakes


def _probe_step(function: Callable[..., Any], cases: dict[str, Tensors]) -> dict[str, JSON]:
    observed: dict[str, JSON] = {"uses": references(function)}
    for case, tensors in cases.items():
        observed[case], observed[f"{case}: changed"] = _call_watching(function, tensors)
    return observed


def _judge_steps(results: dict[str, Any], cases: dict[str, Tensors], name: str,
                 expected: Callable[[Tensors], tuple[Tensor, Tensor]],
                 mistakes: Callable[[Tensors], dict[str, tuple[Tensor, Tensor]]]) -> None:
    refuse(results.get("uses"), LSTM_CELLS, "write the LSTM step yourself, from its equations")
    for case, t in cases.items():
        where = f"(with {case})"
        _untouched(results.get(f"{case}: changed"), name, where)
        _judge_step(results[case], where, expected(t), mistakes(t), t["x_t"].shape[0], t["h_prev"].shape[1], name)


def probe_per_gate(lstm_step_per_gate: Callable[..., Any]) -> dict[str, JSON]:
    return _probe_step(lstm_step_per_gate, per_gate_cases())


def judge_per_gate(results: dict[str, Any]) -> None:
    _judge_steps(results, per_gate_cases(), "lstm_step_per_gate", lambda t: lstm_update(per_gate_pre(t), t["c_prev"]),
                 per_gate_mistakes)


# ---------------------------------------------------------------- 5.2 the fused step, gates i, f, g, o

def fused_cases() -> dict[str, Tensors]:
    """x_t, h_prev, c_prev, W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,): two seeded sets."""
    g = torch.Generator().manual_seed(502)
    cases = {}
    for case, (batch, input_size, hidden_size) in {"batch 2, input 3, hidden 4": (2, 3, 4),
                                                     "batch 3, input 5, hidden 2": (3, 5, 2)}.items():
        cases[case] = {"x_t": _randn(g, batch, input_size, scale=1.0), "h_prev": _randn(g, batch, hidden_size),
                       "c_prev": _randn(g, batch, hidden_size, scale=1.5),
                       "W_ih": _randn(g, 4 * hidden_size, input_size), "W_hh": _randn(g, 4 * hidden_size, hidden_size),
                       "b_ih": _randn(g, 4 * hidden_size), "b_hh": _randn(g, 4 * hidden_size)}
    return cases


def fused_pre(t: Tensors, order: str = "ifgo", b_ih: int = 1, b_hh: int = 1) -> Tensors:
    """The pre-activations cut into blocks read in ``order`` (a mistake unless "ifgo"); ``b_ih``, ``b_hh``: how many
    times each bias is added (a mistake unless once)."""
    z = t["x_t"] @ t["W_ih"].T + t["h_prev"] @ t["W_hh"].T + b_ih * t["b_ih"] + b_hh * t["b_hh"]
    return dict(zip(order, z.chunk(4, dim=1)))


def fused_mistakes(t: Tensors) -> dict[str, tuple[Tensor, Tensor]]:
    c = t["c_prev"]
    return {
        "the blocks were read as i, f, o, g (the fastai book's order): PyTorch stacks i, f, g, o":
            lstm_update(fused_pre(t, "ifog"), c),
        "the blocks were read as f, i, g, o (the notes' order): PyTorch stacks i, f, g, o":
            lstm_update(fused_pre(t, "figo"), c),
        "the blocks were read as f, i, o, g: PyTorch stacks i, f, g, o": lstm_update(fused_pre(t, "fiog"), c),
        "the candidate g went through a sigmoid: g = tanh(...) (only i, f and o are sigmoids)":
            lstm_update(fused_pre(t), c, candidate=torch.sigmoid),
        "it is h_t = o * c_t: squash the cell state first, h_t = o * tanh(c_t)": lstm_update(fused_pre(t), c, h_squash=False),
        "b_hh is missing: nn.LSTM adds both biases, b_ih and b_hh": lstm_update(fused_pre(t, b_hh=0), c),
        "b_ih is missing: nn.LSTM adds both biases, b_ih and b_hh": lstm_update(fused_pre(t, b_ih=0), c),
        "b_hh is added twice and b_ih not at all: nn.LSTM adds each bias once, x_t @ W_ih.T + b_ih + h_prev @ W_hh.T "
        "+ b_hh": lstm_update(fused_pre(t, b_ih=0, b_hh=2), c),
        "b_ih is added twice and b_hh not at all: nn.LSTM adds each bias once, x_t @ W_ih.T + b_ih + h_prev @ W_hh.T "
        "+ b_hh": lstm_update(fused_pre(t, b_ih=2, b_hh=0), c),
        "the forget and input gates are exchanged in c_t = f * c_prev + i * g": lstm_update(fused_pre(t), c, swap_fi=True),
        **_shared_step_mistakes(fused_pre(t), c, "g_t"),
    }


def fused_expected(t: Tensors) -> tuple[Tensor, Tensor]:
    """nn.LSTMCell's (h_t, c_t) with the case's weights."""
    cell = nn.LSTMCell(t["x_t"].shape[1], t["h_prev"].shape[1])
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), ("W_ih", "W_hh", "b_ih", "b_hh")):
            getattr(cell, name).copy_(t[value])
        return cell(t["x_t"], (t["h_prev"], t["c_prev"]))


def probe_fused(lstm_step_fused: Callable[..., Any]) -> dict[str, JSON]:
    return _probe_step(lstm_step_fused, fused_cases())


def judge_fused(results: dict[str, Any]) -> None:
    _judge_steps(results, fused_cases(), "lstm_step_fused", fused_expected, fused_mistakes)


# ---------------------------------------------------------------- 5.3 MyLSTM's weights in nn.LSTM

MAPPING_CASES = {"MyLSTM(3, 4, 2)": (503, 3, 4), "MyLSTM(5, 5, 2)": (504, 5, 5)}


def _state_as_tuple(mylstm_to_lstm_state: Callable[[MyLSTM], Any], my: MyLSTM) -> Any:
    """The student's dict as (sorted keys, the four expected entries or None, the keys whose tensor requires grad),
    which the wire can carry."""
    state = mylstm_to_lstm_state(my)
    if not isinstance(state, dict):
        return state
    graph = [key for key in STATE_KEYS if isinstance(state.get(key), Tensor) and state[key].requires_grad]
    return sorted(str(key) for key in state), tuple(state.get(key) for key in STATE_KEYS), graph


def probe_mapping(mylstm_to_lstm_state: Callable[..., Any]) -> dict[str, JSON]:
    observed = {case: call(_state_as_tuple, mylstm_to_lstm_state, _seeded(seed, MyLSTM, I, H, 2))
                for case, (seed, I, H) in MAPPING_CASES.items()}
    return {**observed, "uses": references(mylstm_to_lstm_state)}


def mapping_mistakes(my: MyLSTM) -> dict[str, Tensors]:
    """What the common mistakes put into (weight_ih, weight_hh, bias_ih + bias_hh)."""
    I = my.input_size  # noqa: E741
    by_gate = {"i": my.W_i, "f": my.W_f, "g": my.W_C, "o": my.W_o}

    def stacked(order: str, h_first: bool = False) -> Tensors:
        weight = torch.cat([by_gate[gate].weight for gate in order]).detach()
        bias = torch.cat([by_gate[gate].bias for gate in order]).detach()
        cut = weight.shape[1] - I if h_first else I
        first, second = weight[:, :cut], weight[:, cut:]
        return {"weight_ih_l0": second if h_first else first, "weight_hh_l0": first if h_first else second, "bias": bias}

    right = stacked("ifgo")
    mistakes = {
        "the blocks are stacked in the notes' order f, i, C, o: nn.LSTM's rows are i, f, g, o (g = C~)": stacked("figo"),
        "the blocks are stacked as i, f, o, g (the fastai book's order): nn.LSTM's rows are i, f, g, o": stacked("ifog"),
        "the bias went into both bias_ih_l0 and bias_hh_l0: nn.LSTM adds the two, so every gate gets it twice; "
        "put it into one and zeros into the other": {**right, "bias": 2 * right["bias"]},
        "the bias is missing: MyLSTM's W_*.bias belong in bias_ih_l0 (or bias_hh_l0)":
            {**right, "bias": torch.zeros_like(right["bias"])},
    }
    for order in (o for o in map("".join, itertools.permutations("ifgo")) if o != "ifgo"):  # any other order
        mistakes.setdefault(f"the blocks are stacked as {', '.join(order)}: nn.LSTM's rows are i, f, g, o (g = C~)",
                            stacked(order))
    mistakes["weight_ih_l0 holds the last columns of W_*.weight: the first input_size columns multiply x_t "
             "(torch.cat((input, h)) puts x_t first), the last hidden_size multiply h_{t-1}"] = stacked("ifgo", h_first=True)
    return mistakes


def judge_mapping(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib.lstm_forms.per_gate_to_lstm": "the course library's per_gate_to_lstm",
                                 "recurrent_lib.layers": "the course library's LSTM"},
           "build the mapping yourself, with torch.cat")
    for case, (seed, I, H) in MAPPING_CASES.items():
        my = _seeded(seed, MyLSTM, I, H, 2)
        where = f"(for {case})"
        value = returned(results[case], f"mylstm_to_lstm_state {where}", hints={
            "object has no attribute": "MyLSTM's four Linears are my.W_f, my.W_i, my.W_C (the candidate, PyTorch's g) "
                                       "and my.W_o"})
        if not (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], list)):
            raise CheckFailure(f"expected mylstm_to_lstm_state to return a dict of tensors, got {describe(value)}")
        keys, entries, graph = value
        missing = [key for key in STATE_KEYS if key not in keys]
        if missing:
            raise CheckFailure(f"the dict {where} has no {', '.join(missing)}: nn.LSTM's layer-0 parameters are "
                               f"{', '.join(STATE_KEYS)} (it has {', '.join(keys) or 'no keys'})")
        expected = per_gate_to_lstm(my)
        shapes = {"weight_ih_l0": ((4 * H, I), "(4 * hidden_size, input_size)"),
                  "weight_hh_l0": ((4 * H, H), "(4 * hidden_size, hidden_size)"),
                  "bias_ih_l0": ((4 * H,), "(4 * hidden_size,)"), "bias_hh_l0": ((4 * H,), "(4 * hidden_size,)")}
        got = {}
        for key, entry in zip(STATE_KEYS, entries):
            shape, dims = shapes[key]
            hints = {(4 * H, H): "those are the columns that multiply h_{t-1}", (4 * H, I): "those are the columns "
                     "that multiply x_t", (H, I + H): "that is one gate's weight; stack the four (torch.cat)",
                     (I + H, 4 * H): "transposed: nn.LSTM's gates are stacked in the rows",
                     (H, I): "torch.cat(..., dim=1) put the gates side by side: stack their rows, dim=0",
                     (H, 4 * (I + H) - I): "torch.cat(..., dim=1) put the gates side by side: stack their rows, dim=0"}
            if isinstance(entry, Tensor) and entry.dim() == 3:
                raise CheckFailure(f"{key} {where} has 3 dimensions, {shape_text(entry.shape)}: torch.stack adds a "
                                   f"new dimension; torch.cat stacks the four gates' rows into {dims}")
            got[key] = expect_tensor(entry, f"{key} {where}", shape, dims, hints if key.startswith("weight") else None,
                                     dtype=torch.float32, dtype_reason=FLOAT32)
        if graph:
            raise CheckFailure(
                f"{', '.join(graph)} {where} still require grad: they were computed from MyLSTM's parameters outside "
                "torch.no_grad(), so each is a node of MyLSTM's autograd graph (not a leaf: it has a grad_fn) and "
                "drags that graph along; build the dict under `with torch.no_grad():` (or .detach() each tensor)")
        got["bias"] = got["bias_ih_l0"] + got["bias_hh_l0"]
        expected["bias"] = expected["bias_ih_l0"] + expected["bias_hh_l0"]
        mistakes = mapping_mistakes(my)
        for key, what in (("weight_ih_l0", f"weight_ih_l0 {where}"), ("weight_hh_l0", f"weight_hh_l0 {where}"),
                          ("bias", f"bias_ih_l0 + bias_hh_l0 {where} (only their sum matters)")):
            expect_close(got[key], expected[key], what, {advice: wrong[key] for advice, wrong in mistakes.items()})


# ---------------------------------------------------------------- 5.4 the forget-gate bias

FORGET_CASES = {"nn.LSTM(3, 4, num_layers=2, bidirectional=True), value 1.0": (505, 4, {"num_layers": 2, "bidirectional": True}, 1.0),
                "nn.LSTM(2, 3), value 2.5": (506, 3, {}, 2.5)}


def _biases_after(set_forget_gate_bias: Callable[..., Any], lstm: nn.LSTM, value: float) -> tuple[Any, ...]:
    """Call the student's function on ``lstm``; return (what it returned is not used) the biases in order,
    whether every weight kept its values, whether every parameter is still a trainable nn.Parameter, and the
    names of the parameters that are new objects (replaced rather than changed in place)."""
    weights = {name: p.detach().clone() for name, p in lstm.named_parameters() if name.startswith("weight")}
    before = dict(lstm.named_parameters())
    set_forget_gate_bias(lstm, value)
    params = dict(lstm.named_parameters())
    biases = tuple(params[name].detach().clone() if name in params else None
                   for name in sorted(lstm._flat_weights_names) if name.startswith("bias"))
    kept = all(name in params and torch.equal(params[name].detach(), w) for name, w in weights.items())
    trainable = len(params) == len(lstm._flat_weights_names) and all(p.requires_grad for p in params.values())
    replaced = sorted(name for name, p in params.items() if before.get(name) is not p)
    return biases, kept, trainable, replaced


def _forget_lstm(seed: int, H: int, kwargs: dict[str, Any]) -> nn.LSTM:
    return _seeded(seed, nn.LSTM, {4: 3, 3: 2}[H], H, **kwargs)


def probe_forget(set_forget_gate_bias: Callable[..., Any]) -> dict[str, JSON]:
    observed = {case: call(_biases_after, set_forget_gate_bias, _forget_lstm(seed, H, kwargs), value)
                for case, (seed, H, kwargs, value) in FORGET_CASES.items()}
    return {**observed, "uses": references(set_forget_gate_bias)}


LSTM_BLOCKS = ("rows 0:H, the input gate i", "rows H:2H, the forget gate f", "rows 2H:3H, the g block (the cell "
               "candidate)", "rows 3H:4H, the output gate o")


def judge_forget(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib.gates": "the course library's set_forget_bias",
                                 "recurrent_lib": "the course library"},
           "set the forget gate's bias yourself")
    for case, (seed, H, kwargs, value) in FORGET_CASES.items():
        lstm = _forget_lstm(seed, H, kwargs)
        where = f"(for {case})"
        names = [name for name in sorted(lstm._flat_weights_names) if name.startswith("bias")]
        old = {name: getattr(lstm, name).detach() for name in names}
        outcome = returned(results[case], f"set_forget_gate_bias {where}", hints={
            "cannot assign": "change the values in place, under `with torch.no_grad():`, e.g. "
                             "`lstm.bias_ih_l0[H:2 * H] = value`, instead of assigning a new tensor"})
        biases, kept, trainable, replaced = outcome
        if replaced:
            raise CheckFailure(
                f"set_forget_gate_bias {where} replaced {', '.join(replaced)} with new nn.Parameter objects: an "
                "optimizer built before the call still holds (and trains) the old ones, and the new values never "
                "learn; change the values in place, e.g. `with torch.no_grad(): lstm.bias_ih_l0[H:2 * H] = value`")
        if not trainable or any(b is None for b in biases):
            raise CheckFailure(f"after set_forget_gate_bias {where} the LSTM's parameters are no longer all trainable "
                               "nn.Parameters: change the values in place, e.g. `with torch.no_grad(): "
                               "lstm.bias_ih_l0[H:2 * H] = value`, instead of assigning new tensors")
        if not kept:
            raise CheckFailure(f"set_forget_gate_bias {where} changed some weights: only the biases should change")
        new = {name: expect_tensor(b, f"{name} {where}", (4 * H,), "(4 * hidden_size,)") for name, b in zip(names, biases)}
        for ih in [name for name in names if name.startswith("bias_ih")]:
            hh = ih.replace("bias_ih", "bias_hh")
            total, old_total = new[ih] + new[hh], old[ih] + old[hh]
            blocks, old_blocks = total.split(H), old_total.split(H)
            layer = ih.removeprefix("bias_ih_")
            if close(blocks[1], torch.full((H,), value)) and all(close(b, o) for b, o in zip(blocks[::2], old_blocks[::2])) \
                    and close(blocks[3], old_blocks[3]):
                continue
            if close(blocks[1], old_blocks[1]):
                for k in (0, 2, 3):
                    if close(blocks[k], torch.full((H,), value)) or close(new[ih].split(H)[k], torch.full((H,), value)):
                        raise CheckFailure(f"{ih} {where}: the forget gate's bias is unchanged and the value went into "
                                           f"{LSTM_BLOCKS[k]}; the forget gate is the second block, rows H:2H "
                                           "(PyTorch stacks i, f, g, o)")
                raise CheckFailure(f"layer {layer} {where}: the forget gate's bias (rows H:2H of {ih} + {hh}) is "
                                   "unchanged; set it in every layer and direction (bias_ih_l{k}, bias_hh_l{k}, and "
                                   "for a bidirectional LSTM also their _reverse twins)")
            if close(blocks[1], value + old[hh].split(H)[1]):
                raise CheckFailure(f"layer {layer} {where}: only {ih}[H:2H] was set, {hh}[H:2H] kept its random values; "
                                   f"nn.LSTM adds the two, so the gate's bias is {value} + {hh}[H:2H]: zero {hh}[H:2H]")
            if close(blocks[1], value + old[ih].split(H)[1]):
                raise CheckFailure(f"layer {layer} {where}: only {hh}[H:2H] was set, {ih}[H:2H] kept its random values; "
                                   f"nn.LSTM adds the two, so the gate's bias is {ih}[H:2H] + {value}: zero {ih}[H:2H]")
            if close(blocks[1], torch.full((H,), 2 * value)):
                raise CheckFailure(f"layer {layer} {where}: {value} went into both {ih}[H:2H] and {hh}[H:2H]; nn.LSTM adds "
                                   f"them, so the gate's bias is {2 * value}: put {value} in one and 0 in the other")
            if not close(blocks[1], torch.full((H,), value)):
                raise CheckFailure(f"layer {layer} {where}: the forget gate's bias, {ih}[H:2H] + {hh}[H:2H], should be "
                                   f"{value} in every row; " + difference(blocks[1], torch.full((H,), value)))
            raise CheckFailure(f"layer {layer} {where}: the forget gate is right, but the biases of other gates changed too "
                               "(rows 0:H, 2H:3H, 3H:4H must keep their values): slice only rows H:2H")


# ---------------------------------------------------------------- 5.5 counting parameters, proj_size

COUNT_CASES: tuple[tuple[int, int, int, int, bool], ...] = (
    # input_size, hidden_size, num_layers, proj_size, bidirectional
    (3, 4, 1, 0, False), (57, 64, 1, 16, False), (10, 20, 2, 0, False), (10, 20, 2, 5, False),
    (6, 8, 3, 3, True), (5, 7, 2, 0, True),
)


def count_formula(I: int, H: int, num_layers: int, P: int, bidirectional: bool, *, gates: int = 4,  # noqa: E741
                  biases: int = 2, projection: bool = True, hh_reads: str = "P", deeper_reads: str = "P",
                  both_directions: bool = True, deeper_reads_both: bool = True,
                  projection_per_direction: bool = True) -> int:
    """nn.LSTM's parameter count; the keywords reproduce the common mistakes."""
    directions = 2 if bidirectional and both_directions else 1
    out = P or H
    total = 0
    for layer in range(num_layers):
        reads = 2 if bidirectional and deeper_reads_both else 1
        layer_input = I if layer == 0 or deeper_reads == "I" else reads * {"P": out, "H": H}[deeper_reads]
        hh_columns = {"P": out, "H": H}[hh_reads]
        per_direction = gates * H * layer_input + gates * H * hh_columns + biases * gates * H
        per_direction += P * H if projection and projection_per_direction else 0
        total += directions * per_direction + (P * H if projection and not projection_per_direction else 0)
    return total


COUNT_MISTAKES: dict[str, dict[str, Any]] = {
    "you counted one bias vector per gate block; nn.LSTM has two, bias_ih and bias_hh": {"biases": 1},
    "you counted weight_hh with hidden_size columns: with proj_size it multiplies the projected h, "
    "weight_hh is (4 * hidden_size, proj_size)": {"hh_reads": "H"},
    "you left out weight_hr, the projection (proj_size, hidden_size)": {"projection": False},
    "layers after the first read the previous layer's h, which has proj_size features (times the number of "
    "directions), not hidden_size": {"deeper_reads": "H"},
    "that is the count for weight_hh with hidden_size columns and no weight_hr: with proj_size both change":
        {"hh_reads": "H", "projection": False},
    "you counted one gate (an RNN's count): an LSTM has four, i, f, g, o, stacked in every weight and bias": {"gates": 1},
    "you counted three gates (a GRU's count): an LSTM has four, i, f, g, o": {"gates": 3},
    "you counted one direction: a bidirectional LSTM has a second set of parameters per layer (the _reverse ones), "
    "so every layer's count doubles": {"both_directions": False},
    "a layer after the first of a bidirectional LSTM reads both directions' h side by side, 2 * proj_size (or "
    "2 * hidden_size) features, not one direction's": {"deeper_reads_both": False},
    "you counted one direction, and later layers reading one direction's h: a bidirectional LSTM has _reverse "
    "parameters too, and a later layer reads both directions' h (2 * its size)":
        {"both_directions": False, "deeper_reads_both": False},
    "you counted every layer as reading input_size features: only layer 0 reads the input; a later layer reads the "
    "previous layer's h (proj_size, or hidden_size, features per direction)": {"deeper_reads": "I"},
    "you counted weight_hr once per layer: like every weight it exists per layer AND direction (weight_hr_l0 and "
    "weight_hr_l0_reverse)": {"projection_per_direction": False},
}


def _count_call(I: int, H: int, num_layers: int, P: int, bidirectional: bool) -> str:  # noqa: E741
    return f"count_lstm_parameters({I}, {H}, num_layers={num_layers}, proj_size={P}, bidirectional={bidirectional})"


def probe_count(count_lstm_parameters: Callable[..., Any]) -> dict[str, JSON]:
    observed = {_count_call(*case): call(count_lstm_parameters, case[0], case[1], num_layers=case[2],
                                         proj_size=case[3], bidirectional=case[4]) for case in COUNT_CASES}
    return {**observed, "uses": references(count_lstm_parameters)}


def judge_count(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"recurrent_lib": "the course library's count_parameters", "torch.nn.LSTM": "nn.LSTM"},
           "work the count out from the shapes yourself")
    for case in COUNT_CASES:
        text = _count_call(*case)
        count = expect_int(returned(results[text], text), f"the result of {text}")
        lstm = _seeded(0, nn.LSTM, case[0], case[1], num_layers=case[2], proj_size=case[3], bidirectional=case[4])
        expected = sum(p.numel() for p in lstm.parameters())
        if count == expected:
            continue
        message = f"{text} returned {count}, but nn.LSTM with these arguments has {expected} parameters"
        for advice, mistake in COUNT_MISTAKES.items():
            if count == count_formula(*case, **mistake):
                raise CheckFailure(f"{message}: {advice}")
        raise CheckFailure(f"{message} (per layer and direction: weight_ih, weight_hh, bias_ih, bias_hh, and "
                           "weight_hr when proj_size > 0)")


# ---------------------------------------------------------------- 5.6 the shapes with proj_size

SHAPE_CASES: tuple[tuple[int, int, int, int, int, int, bool], ...] = (
    # seq_len, batch, input_size, hidden_size, num_layers, proj_size, bidirectional
    (5, 3, 2, 6, 1, 0, False), (5, 3, 2, 6, 1, 4, False), (7, 2, 3, 8, 2, 3, False), (4, 2, 3, 8, 2, 5, True),
)


def _shape_call(T: int, B: int, I: int, H: int, num_layers: int, P: int, bidirectional: bool) -> str:  # noqa: E741
    return (f"lstm_output_shapes({T}, {B}, {I}, {H}, num_layers={num_layers}, proj_size={P}, "
            f"bidirectional={bidirectional})")


def torch_shapes(T: int, B: int, I: int, H: int, num_layers: int, P: int, bidirectional: bool) -> tuple[tuple[int, ...], ...]:  # noqa: E741
    """(output.shape, h_n.shape, c_n.shape) measured on nn.LSTM."""
    lstm = _seeded(0, nn.LSTM, I, H, num_layers=num_layers, proj_size=P, bidirectional=bidirectional)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN": not the student's concern
        output, (h_n, c_n) = lstm(torch.zeros(T, B, I))
    return tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)


def shape_mistakes(T: int, B: int, I: int, H: int, num_layers: int, P: int, bidirectional: bool) -> dict[str, tuple]:  # noqa: E741
    directions = 2 if bidirectional else 1
    output, h_n, c_n = torch_shapes(T, B, I, H, num_layers, P, bidirectional)
    return {
        "h and c are swapped: h_n (and output) have proj_size features, the cell state c_n keeps hidden_size":
            (output[:-1] + (directions * H,), h_n[:-1] + (H,), c_n[:-1] + (P,)),
        "output and h_n have proj_size features when proj_size > 0 (h is projected), only c_n keeps hidden_size":
            (output[:-1] + (directions * H,), h_n[:-1] + (H,), c_n),
        "h_n has proj_size features like output: h_n holds the projected final h":
            (output, h_n[:-1] + (H,), c_n),
        "c_n is not projected: it keeps hidden_size features": (output, h_n, c_n[:-1] + (P or H,)),
        "output's last dimension is num_directions * proj_size (both directions side by side)":
            (output[:-1] + (P or H,), h_n, c_n),
        "h_n and c_n stack layers and directions in their FIRST dimension, num_layers * num_directions; their last "
        "is one direction's size": (output, (num_layers, B, directions * h_n[-1]), (num_layers, B, directions * H)),
        "h_n and c_n hold every layer AND direction: their first dimension is num_layers * num_directions":
            (output, (num_layers,) + h_n[1:], (num_layers,) + c_n[1:]),
        "nn.LSTM is sequence-first (batch_first=False): output is (seq_len, batch, num_directions * h's size)":
            ((B, T, output[-1]), h_n, c_n),
    }


TUPLES_NEEDED = ("the notebook's last cell compares your result with (tuple(output.shape), tuple(h_n.shape), "
                 "tuple(c_n.shape)), and a list never equals a tuple in Python")


def _as_shape(value: Any, what: str) -> tuple[int, ...]:
    """``value`` as a tuple of ints (numpy and torch integers accepted, a torch.Size too); a list is refused."""
    if isinstance(value, list):
        raise CheckFailure(f"{what} is a list: return a tuple of ints, e.g. tuple(...) of it; {TUPLES_NEEDED}")
    numbers = [integer(n) for n in value] if isinstance(value, tuple) else [None]
    if None in numbers:
        raise CheckFailure(f"expected {what} as a tuple of ints, got {describe(value)}")
    return tuple(numbers)


def probe_shapes(lstm_output_shapes: Callable[..., Any]) -> dict[str, JSON]:
    observed = {_shape_call(*case): call(lstm_output_shapes, *case[:4], num_layers=case[4], proj_size=case[5],
                                         bidirectional=case[6]) for case in SHAPE_CASES}
    return {**observed, "uses": references(lstm_output_shapes)}


def judge_shapes(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"torch.nn.LSTM": "nn.LSTM", "recurrent_lib": "the course library"},
           "reason the shapes out from the rule (which of h and c is projected) rather than run an LSTM")
    for case in SHAPE_CASES:
        text = _shape_call(*case)
        value = returned(results[text], text)
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            got = f"{len(value)} items" if isinstance(value, (tuple, list)) else describe(value)
            raise CheckFailure(f"expected {text} to return (output_shape, h_n_shape, c_n_shape), three tuples, got {got}")
        if isinstance(value, list):
            raise CheckFailure(f"{text} returned a list: return a tuple (output_shape, h_n_shape, c_n_shape); "
                               f"{TUPLES_NEEDED}")
        got = tuple(_as_shape(v, name) for v, name in zip(value, ("output_shape", "h_n_shape", "c_n_shape")))
        expected = torch_shapes(*case)
        if got == expected:
            continue
        message = (f"{text} returned {', '.join(shape_text(s) for s in got)}; nn.LSTM gives output "
                   f"{shape_text(expected[0])}, h_n {shape_text(expected[1])}, c_n {shape_text(expected[2])}")
        advice = next((advice for advice, wrong in shape_mistakes(*case).items() if wrong == got and wrong != expected), "")
        raise CheckFailure(message + (f": {advice}" if advice else ""))


# ---------------------------------------------------------------- 5.7 the backward pass of one step

BACKWARD_NAMES = ("dx_t", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db")
NO_AUTOGRAD = {"does not require grad": "this exercise asks for the gradients by hand, from the cache: the check runs "
                                        "your function under torch.no_grad(), where autograd records nothing"}


def lstm_step_forward(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
                      b_hh: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
    """The homework's given forward step: (h_t, c_t, cache), cache = (x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t)."""
    i, f, g, o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_t = f * c_prev + i * g
    h_t = o * torch.tanh(c_t)
    return h_t, c_t, (x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_t)


def backward_cases() -> dict[str, Tensors]:
    """Float64 x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh and the upstream gradients dh_t, dc_t: two seeded sets."""
    g = torch.Generator().manual_seed(507)
    cases = {}
    for case, (N, I, H) in {"batch 2, input 3, hidden 4": (2, 3, 4), "batch 3, input 2, hidden 5": (3, 2, 5)}.items():
        shapes = {"x_t": (N, I), "h_prev": (N, H), "c_prev": (N, H), "W_ih": (4 * H, I), "W_hh": (4 * H, H),
                  "b_ih": (4 * H,), "b_hh": (4 * H,), "dh_t": (N, H), "dc_t": (N, H)}
        cases[case] = {name: torch.randn(*shape, generator=g, dtype=torch.float64) for name, shape in shapes.items()}
    return cases


def backward_by_hand(t: Tensors, *, cell_path: bool = True, h_path: bool = True, tanh_of_c: bool = True,
                     order: str = "ifgo", forget_scales: bool = True, output_from_dc: bool = False,
                     forget_reads_c_t: bool = False, g_squashed_again: bool = False,
                     gates_squashed_again: bool = False) -> tuple[Tensor, ...]:
    """The six gradients of one step; the keywords make the mistakes: no incoming dc_t, no path through h_t into c_t,
    1 - c_t^2 for tanh's slope, the pre-activation gradients stacked in another order, dc_prev without f, the
    slopes of g or of the sigmoid gates computed from their squashed values squashed again."""
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c = lstm_step_forward(*(t[k] for k in STEP_ARGS))[2]
    dh, tanh_c = t["dh_t"], torch.tanh(c)
    slope = (lambda s: torch.sigmoid(s) * (1 - torch.sigmoid(s))) if gates_squashed_again else (lambda s: s * (1 - s))
    dc = (t["dc_t"] if cell_path else 0) + (dh * o * (1 - (tanh_c if tanh_of_c else c) ** 2) if h_path else 0)
    pre = {"i": dc * g * slope(i), "f": dc * (c if forget_reads_c_t else c_prev) * slope(f),
           "g": dc * i * (1 - (torch.tanh(g) if g_squashed_again else g) ** 2),
           "o": (dc if output_from_dc else dh) * tanh_c * slope(o)}
    da = torch.cat([pre[gate] for gate in order], dim=1)
    return da @ W_ih, da @ W_hh, dc * f if forget_scales else dc, da.T @ x, da.T @ h_prev, da.sum(0)


BACKWARD_HINTS = {**STEP_HINTS, "cannot be multiplied": (
    "going back, da (batch, 4 * hidden_size) meets W_ih (4 * hidden_size, input_size): dx_t = da @ W_ih, "
    "dh_prev = da @ W_hh, dW_ih = da.T @ x_t, dW_hh = da.T @ h_prev")}
STEP_ARGS = ("x_t", "h_prev", "c_prev", "W_ih", "W_hh", "b_ih", "b_hh")
BACKWARD_MISTAKES: dict[str, dict[str, Any]] = {
    "the gradient arriving along the cell path is missing: dc = dc_t + dh_t * o * (1 - tanh(c_t)^2), the cell state "
    "feeds the next step directly, not only through h_t": {"cell_path": False},
    "the path from h_t into c_t is missing: h_t = o * tanh(c_t), so add dh_t * o * (1 - tanh(c_t)^2) to dc_t":
        {"h_path": False},
    "tanh's slope is 1 - tanh(c_t)^2, not 1 - c_t^2: the cache holds c_t itself, squash it first": {"tanh_of_c": False},
    "the pre-activation gradients are stacked as i, f, o, g (CS231n's order): W_ih's rows are i, f, g, o in PyTorch, "
    "so stack da_i, da_f, da_g, da_o": {"order": "ifog"},
    "the pre-activation gradients are stacked in the order f, i, g, o: W_ih's rows are i, f, g, o": {"order": "figo"},
    "dc_prev is dc * f_t: the forget gate scales what flows back along the cell path": {"forget_scales": False},
    "da_o uses dc: the output gate acts on h_t = o * tanh(c_t) only, so da_o = dh_t * tanh(c_t) * o * (1 - o)":
        {"output_from_dc": True},
    "da_f uses c_t: the forget gate multiplies the OLD cell state, c_t = f * c_prev + i * g, so da_f = dc * c_prev * "
    "f * (1 - f)": {"forget_reads_c_t": True},
    "g's slope is 1 - tanh(g)^2: the cache's g is already tanh of its pre-activation, so the slope is 1 - g^2":
        {"g_squashed_again": True},
    "the gates' slopes apply sigmoid again: the cache's i, f, o are already sigmoid outputs, so the slope of i is "
    "i * (1 - i), not sigmoid(i) * (1 - sigmoid(i))": {"gates_squashed_again": True},
}


def backward_expected(t: Tensors) -> tuple[Tensor, ...]:
    """Autograd's gradients of L = <dh_t, h_t> + <dc_t, c_t>: dx_t, dh_prev, dc_prev, dW_ih, dW_hh, db (= db_ih)."""
    leaves = {name: t[name].clone().requires_grad_() for name in STEP_ARGS}
    h_t, c_t, _ = lstm_step_forward(*leaves.values())
    grads = torch.autograd.grad((t["dh_t"] * h_t).sum() + (t["dc_t"] * c_t).sum(),
                                [leaves[name] for name in ("x_t", "h_prev", "c_prev", "W_ih", "W_hh", "b_ih")])
    return tuple(grads)


def _backward_call(lstm_step_backward: Callable[..., Any], t: Tensors) -> JSON:
    with torch.no_grad():
        cache = lstm_step_forward(*(t[k] for k in STEP_ARGS))[2]
        return call(lstm_step_backward, t["dh_t"].clone(), t["dc_t"].clone(), tuple(v.clone() for v in cache))


def probe_backward(lstm_step_backward: Callable[..., Any]) -> dict[str, JSON]:
    observed = {case: _backward_call(lstm_step_backward, t) for case, t in backward_cases().items()}
    return {**observed, "uses": references(lstm_step_backward)}


def judge_backward(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), {"torch.autograd": "torch.autograd", "torch.func": "torch.func",
                                 "torch.nn.LSTMCell": "nn.LSTMCell", "torch.nn.LSTM": "nn.LSTM",
                                 "recurrent_lib": "the course library"},
           "work the gradients out by hand from the cache")
    for case, t in backward_cases().items():
        where = f"(with {case})"
        value = returned(results[case], f"lstm_step_backward {where}", hints={**NO_AUTOGRAD, **BACKWARD_HINTS})
        if not isinstance(value, (tuple, list)) or len(value) != 6:
            got = f"{len(value)} items" if isinstance(value, (tuple, list)) else describe(value)
            raise CheckFailure(f"expected lstm_step_backward {where} to return ({', '.join(BACKWARD_NAMES)}), six "
                               f"tensors, got {got}")
        expected = backward_expected(t)
        N, I = t["x_t"].shape
        H = t["h_prev"].shape[1]
        dims = {"dx_t": "(batch, input_size)", "dh_prev": "(batch, hidden_size)", "dc_prev": "(batch, hidden_size)",
                "dW_ih": "(4 * hidden_size, input_size)", "dW_hh": "(4 * hidden_size, hidden_size)",
                "db": "(4 * hidden_size,)"}
        hints = {(I, 4 * H): "transposed: dW_ih = da.T @ x_t", (H, 4 * H): "transposed: dW_hh = da.T @ h_prev",
                 (N, 4 * H): "db sums da over the batch: da.sum(dim=0)"}
        got = [expect_tensor(v, f"{name} {where}", tuple(e.shape), dims[name], hints, dtype=torch.float64,
                             dtype_reason="the check's inputs are float64, to see the gradients exactly")
               for v, name, e in zip(value, BACKWARD_NAMES, expected)]
        if not close(got[2], expected[2]) and close(got[1], expected[2]) and close(got[2], expected[1]):
            raise CheckFailure(f"dh_prev and dc_prev {where} came back in the wrong order: return "
                               f"({', '.join(BACKWARD_NAMES)})")
        mistakes = {advice: backward_by_hand(t, **keywords) for advice, keywords in BACKWARD_MISTAKES.items()}
        for k in (2, 5, 0, 1, 3, 4):  # dc_prev and db first: most mistakes show there
            expect_close(got[k], expected[k], f"{BACKWARD_NAMES[k]} {where}",
                         {advice: wrong[k] for advice, wrong in mistakes.items()}, atol=1e-9, rtol=1e-7)


ASSIGNMENT = Assignment("05_lstm_from_scratch", "The LSTM from scratch", (
    Exercise("5.1", "one LSTM step in the notes' form", ("lstm_step_per_gate",), probe_per_gate, judge_per_gate),
    Exercise("5.2", "the fused step, gates i, f, g, o", ("lstm_step_fused",), probe_fused, judge_fused),
    Exercise("5.3", "MyLSTM's weights in nn.LSTM", ("mylstm_to_lstm_state",), probe_mapping, judge_mapping),
    Exercise("5.4", "the forget-gate bias", ("set_forget_gate_bias",), probe_forget, judge_forget),
    Exercise("5.5", "counting parameters with proj_size", ("count_lstm_parameters",), probe_count, judge_count),
    Exercise("5.6", "the shapes with proj_size", ("lstm_output_shapes",), probe_shapes, judge_shapes),
    Exercise("5.7", "the backward pass of one step", ("lstm_step_backward",), probe_backward, judge_backward),
))
