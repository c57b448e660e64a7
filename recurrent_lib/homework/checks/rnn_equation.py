r"""Assignment 01, the RNN equation: checks of one step, a sequence, stacked layers, parameters, shapes.

Every check runs the student's function on small seeded inputs and compares it with ``torch.nn.RNN``
(or the equation it computes, $h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})$),
recomputing the common mistakes to name the one that was made. Each check judges one exercise: where
the student's function calls an earlier exercise's (``rnn_forward`` calls ``rnn_step``), it runs with the
reference version of that one. Tensors must come back float32, the dtype of every input here and of
``nn.RNN``, as the rest of the notebook needs.
"""
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..exercise import Assignment, Exercise, substituted
from ..feedback import (CheckFailure, close, describe, expect_close, expect_int, expect_pair, expect_tensor, integer,
                        returned, shape_text)
from ..wire import JSON, call

Tensors = dict[str, Tensor]
MATMUL_HINT = ("x_t is (batch, input_size) and W_ih is (hidden_size, input_size): the batched step is "
               "x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh")
MATMUL = "mat1 and mat2 shapes cannot be multiplied"  # torch's message when the factors of @ do not fit
FLOAT32 = "every input here is float32, as are nn.RNN's weights that the rest of the notebook uses"
SWAPPED = "the pair is in the wrong order: return (output, h_n), the whole sequence first, as nn.RNN does"


def step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | float, b_hh: Tensor | float,
         activation: Callable[[Tensor], Tensor] = torch.tanh) -> Tensor:
    """The reference step (and, with other arguments, its mistaken versions): (batch, hidden_size)."""
    return activation(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)


def rnn_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """The reference answer to 1.1, which the checks of 1.2 and 1.3 substitute for the student's."""
    return step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)


def rnn_forward(x: Tensor, h_0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
    """The reference answer to 1.2, which the check of 1.3 substitutes for the student's."""
    output = unroll(x, h_0, W_ih, W_hh, b_ih, b_hh)
    return output, output[-1]


def _pair_swapped(value: Any, output_shape: tuple[int, ...], h_n_shape: tuple[int, ...]) -> bool:
    """Whether ``value`` is (h_n, output) instead of (output, h_n), judging by the shapes."""
    return (output_shape != h_n_shape and isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, Tensor) for v in value)
            and tuple(value[0].shape) == h_n_shape and tuple(value[1].shape) == output_shape)


def _identity(t: Tensor) -> Tensor:
    return t


def _randn(generator: torch.Generator, *shape: int, scale: float = 0.6) -> Tensor:
    return torch.randn(*shape, generator=generator) * scale


def _weights(g: torch.Generator, input_size: int, hidden_size: int) -> Tensors:
    return {"W_ih": _randn(g, hidden_size, input_size), "W_hh": _randn(g, hidden_size, hidden_size),
            "b_ih": _randn(g, hidden_size), "b_hh": _randn(g, hidden_size)}


def _clone(tensors: Tensors) -> list[Tensor]:
    return [t.clone() for t in tensors.values()]


def _seeded_rnn(seed: int, *args: Any, cls: type[nn.RNN] = nn.RNN, **kwargs: Any) -> nn.RNN:
    """nn.RNN(*args, **kwargs) initialised from ``seed``, leaving the global random state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(*args, **kwargs)


# ---------------------------------------------------------------- 1.1 one RNN step

def step_cases() -> dict[str, Tensors]:
    """x_t (batch, input_size), h_prev (batch, hidden_size), W_ih, W_hh, b_ih, b_hh: two seeded sets."""
    g = torch.Generator().manual_seed(101)
    cases = {}
    for case, (batch, input_size, hidden_size) in {"batch 2, input 3, hidden 4": (2, 3, 4),
                                                     "batch 3, input 4, hidden 4": (3, 4, 4)}.items():
        cases[case] = {"x_t": _randn(g, batch, input_size, scale=1.0), "h_prev": _randn(g, batch, hidden_size),
                       **_weights(g, input_size, hidden_size)}
    return cases


def step_mistakes(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensors:
    """What the common mistakes compute, keyed by the advice that fixes them."""
    mistakes = {
        "it equals the step without b_ih: you forgot the input bias b_ih": step(x_t, h_prev, W_ih, W_hh, 0, b_hh),
        "it equals the step without b_hh: you forgot the hidden bias b_hh": step(x_t, h_prev, W_ih, W_hh, b_ih, 0),
        "it equals the step without b_ih and b_hh: you forgot both biases": step(x_t, h_prev, W_ih, W_hh, 0, 0),
        "it equals sigmoid(...): the RNN uses tanh where you used sigmoid":
            step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, torch.sigmoid),
        "it equals relu(...): this RNN uses tanh (nn.RNN's default nonlinearity), not relu":
            step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, torch.relu),
        "it equals the sum before the nonlinearity: apply torch.tanh to it":
            step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, _identity),
        "it equals the step without the W_hh h_prev term: the previous hidden state must enter the step":
            torch.tanh(x_t @ W_ih.T + b_ih + b_hh),
    }
    if W_ih.shape[0] == W_ih.shape[1]:
        mistakes["it equals the step computed with x_t @ W_ih instead of x_t @ W_ih.T: transpose W_ih"] = \
            torch.tanh(x_t @ W_ih + b_ih + h_prev @ W_hh.T + b_hh)
    mistakes["it equals the step computed with h_prev @ W_hh instead of h_prev @ W_hh.T: transpose W_hh"] = \
        torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh + b_hh)
    return mistakes


def probe_step(rnn_step: Callable[..., Any]) -> dict[str, JSON]:
    return {case: call(rnn_step, *_clone(tensors)) for case, tensors in step_cases().items()}


def judge_step(results: dict[str, Any]) -> None:
    for case, tensors in step_cases().items():
        (batch, _), hidden_size = tensors["x_t"].shape, tensors["W_hh"].shape[0]
        h_t = returned(results[case], f"rnn_step (with {case})", hints={MATMUL: MATMUL_HINT})
        hints = {(hidden_size, batch): "that is (hidden_size, batch): compute x_t @ W_ih.T (batch rows), "
                                       "not W_ih @ x_t.T"}
        h_t = expect_tensor(h_t, f"h_t (with {case})", (batch, hidden_size), "(batch, hidden_size)", hints,
                            dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(h_t, step(*tensors.values()), f"h_t (with {case})", step_mistakes(*tensors.values()))


# ---------------------------------------------------------------- 1.2 the loop over a sequence

def forward_cases() -> dict[str, Tensors]:
    """x (seq_len, batch, input_size), h_0 (batch, hidden_size) and the weights: two seeded sets."""
    g = torch.Generator().manual_seed(102)
    cases = {}
    for case, (seq_len, batch, input_size, hidden_size) in {"seq_len 5, batch 2, input 3, hidden 4": (5, 2, 3, 4),
                                                            "seq_len 3, batch 1, input 2, hidden 3": (3, 1, 2, 3)}.items():
        cases[case] = {"x": _randn(g, seq_len, batch, input_size, scale=1.0), "h_0": _randn(g, batch, hidden_size),
                       **_weights(g, input_size, hidden_size)}
    return cases


def unroll(x: Tensor, h_0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | float, b_hh: Tensor | float,
           activation: Callable[[Tensor], Tensor] = torch.tanh, feed_back: bool = True) -> Tensor:
    """Every hidden state h_1 .. h_L stacked: (seq_len, batch, hidden_size). With ``feed_back=False``
    every step reads h_0 instead of the previous step's state (a mistake)."""
    h, states = h_0, []
    for x_t in x:
        h = step(x_t, h if feed_back else h_0, W_ih, W_hh, b_ih, b_hh, activation)
        states.append(h)
    return torch.stack(states)


def forward_mistakes(x: Tensor, h_0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensors:
    states = unroll(x, h_0, W_ih, W_hh, b_ih, b_hh)
    return {
        "every step started from h_0: feed each step the h_t of the step before":
            unroll(x, h_0, W_ih, W_hh, b_ih, b_hh, feed_back=False),
        "it is the sequence started from zeros: start from the h_0 you were given":
            unroll(x, torch.zeros_like(h_0), W_ih, W_hh, b_ih, b_hh),
        "output[t] holds the state before step t (h_0 first): append each h_t after computing it":
            torch.cat([h_0.unsqueeze(0), states[:-1]]),
        "it is the sequence without b_ih: you forgot the input bias b_ih": unroll(x, h_0, W_ih, W_hh, 0, b_hh),
        "it is the sequence without b_hh: you forgot the hidden bias b_hh": unroll(x, h_0, W_ih, W_hh, b_ih, 0),
        "it is the sequence with sigmoid instead of tanh": unroll(x, h_0, W_ih, W_hh, b_ih, b_hh, torch.sigmoid),
        "it is the sequence with relu instead of tanh": unroll(x, h_0, W_ih, W_hh, b_ih, b_hh, torch.relu),
    }


FILL_HINT = ("a state of shape (batch, hidden_size) was assigned into a slice of another shape: a preallocated "
             "output must be (seq_len, batch, hidden_size), so that output[t] is (batch, hidden_size)")


def probe_forward(student_forward: Callable[..., Any]) -> dict[str, JSON]:
    with substituted(student_forward, rnn_step=rnn_step):  # judge the loop, not the student's rnn_step
        return {case: call(student_forward, *_clone(tensors)) for case, tensors in forward_cases().items()}


def judge_forward(results: dict[str, Any]) -> None:
    for case, tensors in forward_cases().items():
        (seq_len, batch, _), hidden_size = tensors["x"].shape, tensors["W_hh"].shape[0]
        where = f"(with {case})"
        value = returned(results[case], f"rnn_forward {where}",
                         hints={"expand(": FILL_HINT, "The expanded size": FILL_HINT})
        if _pair_swapped(value, (seq_len, batch, hidden_size), (batch, hidden_size)):
            raise CheckFailure(f"rnn_forward {where}: {SWAPPED}")
        output, h_n = expect_pair(value, "(output, h_n)")
        states = unroll(*tensors.values())
        with_h_0 = torch.cat([tensors["h_0"].unsqueeze(0), states])
        if isinstance(output, Tensor) and close(output, with_h_0):
            raise CheckFailure(f"output {where} has one step too many: it starts with h_0, but "
                               f"output holds h_1 .. h_L, not h_0")
        hints = {(batch, hidden_size): "that is the shape of a single state: output stacks every step's h_t "
                                       "(torch.stack)"}
        output = expect_tensor(output, f"output {where}", (seq_len, batch, hidden_size),
                               "(seq_len, batch, hidden_size)", hints, dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(output, states, f"output {where}", forward_mistakes(*tensors.values()))
        h_n = expect_tensor(h_n, f"h_n {where}", (batch, hidden_size), "(batch, hidden_size)",
                            {(1, batch, hidden_size): "here h_n is the last state itself, without nn.RNN's "
                                                      "leading num_layers dimension"},
                            dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(h_n, states[-1], f"h_n {where}", {
            "it is h_0: return the last hidden state, output[-1]": tensors["h_0"],
            "it is the first step's state: return the last one, output[-1]": states[0],
        })


# ---------------------------------------------------------------- 1.3 nn.RNN's weights, layer by layer

class RNN(nn.RNN):
    """nn.RNN whose forward refuses to run, so that an answer has to compute the layers itself."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("stacked_rnn_forward must compute the layers itself from rnn's weights; "
                           "calling rnn(x) is not allowed here")


def stacked_cases() -> dict[str, tuple[int, dict[str, Any], tuple[int, ...]]]:
    """case -> (seed, nn.RNN keyword arguments, shape of x (seq_len, batch, input_size))."""
    return {
        "nn.RNN(4, 4, num_layers=3), x of shape (3, 1, 4)": (202, {"input_size": 4, "hidden_size": 4, "num_layers": 3}, (3, 1, 4)),
        "nn.RNN(3, 4, num_layers=2), x of shape (5, 2, 3)": (201, {"input_size": 3, "hidden_size": 4, "num_layers": 2}, (5, 2, 3)),
        "nn.RNN(2, 3), x of shape (4, 2, 2)": (203, {"input_size": 2, "hidden_size": 3, "num_layers": 1}, (4, 2, 2)),
    }


def _stacked_input(seed: int, shape: tuple[int, ...]) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def layer_weights(rnn: nn.RNN, layer: int) -> list[Tensor]:
    return [getattr(rnn, f"{name}_l{layer}").detach() for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def stacked_mistakes(rnn: nn.RNN, x: Tensor) -> Tensors:
    """The output sequence that the common mistakes compute."""
    h_0 = torch.zeros(x.shape[1], rnn.hidden_size)

    def run(layer_input: Callable[[int, Tensor], Tensor], weights_of: Callable[[int], list[Tensor]]) -> Tensor:
        output = x
        for layer in range(rnn.num_layers):
            output = unroll(layer_input(layer, output), h_0, *weights_of(layer))
        return output

    mistakes = {}
    if rnn.input_size == rnn.hidden_size:
        mistakes["every layer read x: layer k > 0 reads the output sequence of layer k - 1"] = \
            run(lambda layer, previous: x, lambda layer: layer_weights(rnn, layer))
        mistakes["every layer used layer 0's weights: layer k has its own weight_ih_l{k}, weight_hh_l{k}, ..."] = \
            run(lambda layer, previous: previous, lambda layer: layer_weights(rnn, 0))
    mistakes["it is the first layer's output: output comes from the last layer"] = unroll(x, h_0, *layer_weights(rnn, 0))
    return mistakes


def probe_stacked(stacked_rnn_forward: Callable[..., Any]) -> dict[str, JSON]:
    with substituted(stacked_rnn_forward, rnn_step=rnn_step, rnn_forward=rnn_forward):  # judge the layers alone
        return {case: call(stacked_rnn_forward, _seeded_rnn(seed, cls=RNN, **kwargs), _stacked_input(seed, shape))
                for case, (seed, kwargs, shape) in stacked_cases().items()}


def judge_stacked(results: dict[str, Any]) -> None:
    for case, (seed, kwargs, shape) in stacked_cases().items():
        rnn, x = _seeded_rnn(seed, **kwargs), _stacked_input(seed, shape)
        with torch.no_grad():
            expected_output, expected_h_n = rnn(x)
        where = f"(for {case})"
        num_layers, (seq_len, batch, _), hidden_size = rnn.num_layers, x.shape, rnn.hidden_size
        layers = ("layer 0 reads x, input_size features; layer k > 0 reads the output sequence of layer k - 1, "
                  "hidden_size features, with rnn.weight_ih_l{k}, rnn.weight_hh_l{k}, rnn.bias_ih_l{k}, rnn.bias_hh_l{k}")
        value = returned(results[case], f"stacked_rnn_forward {where}", hints={MATMUL: layers})
        if _pair_swapped(value, (seq_len, batch, hidden_size), (num_layers, batch, hidden_size)):
            raise CheckFailure(f"stacked_rnn_forward {where}: {SWAPPED}")
        output, h_n = expect_pair(value, "(output, h_n)")
        if (isinstance(output, Tensor) and isinstance(h_n, Tensor) and close(output, expected_h_n)
                and close(h_n, expected_output)):
            raise CheckFailure(f"stacked_rnn_forward {where}: {SWAPPED}")
        output = expect_tensor(output, f"output {where}", (seq_len, batch, hidden_size), "(seq_len, batch, hidden_size)",
                               dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(output, expected_output, f"output {where}", stacked_mistakes(rnn, x))
        h_n = expect_tensor(h_n, f"h_n {where}", (num_layers, batch, hidden_size), "(num_layers, batch, hidden_size)",
                            {(batch, hidden_size): "that is one layer's final state; h_n stacks the final state of "
                                                   "every layer (torch.stack)"}, dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(h_n, expected_h_n, f"h_n {where}", {
            "every row is the last layer's final state: row k is layer k's final state":
                expected_output[-1:].expand(num_layers, -1, -1),
            "its layers are in reverse order: row 0 is the first layer's final state": expected_h_n.flip(0),
        })


# ---------------------------------------------------------------- 1.4 counting parameters

COUNT_CASES: tuple[tuple[int, int, int, bool, bool], ...] = (
    # input_size, hidden_size, num_layers, bias, bidirectional
    (3, 4, 1, True, False), (3, 4, 1, False, False), (10, 20, 2, True, False),
    (10, 20, 3, True, True), (5, 7, 2, False, True), (8, 8, 1, True, True),
)


def count_formula(input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool, *,
                  biases: int = 2, hh_weights: bool = True, deeper_input: str = "hidden * directions",
                  directions: int | None = None) -> int:
    """Parameters of nn.RNN; the keyword arguments reproduce the common mistakes."""
    directions = directions or (2 if bidirectional else 1)
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else {"hidden * directions": hidden_size * directions,
                                                     "hidden": hidden_size, "input": input_size}[deeper_input]
        total += directions * (hidden_size * layer_input + hh_weights * hidden_size * hidden_size + bias * biases * hidden_size)
    return total


COUNT_MISTAKES: dict[str, dict[str, Any]] = {
    "you counted one bias vector per layer and direction; nn.RNN has two, b_ih and b_hh": {"biases": 1},
    "you left out W_hh (hidden_size x hidden_size, per layer and direction)": {"hh_weights": False},
    "layers after the first read the previous layer's output, hidden_size * num_directions features, "
    "not input_size": {"deeper_input": "input"},
    "in a bidirectional RNN, layers after the first read both directions' outputs, 2 * hidden_size features":
        {"deeper_input": "hidden"},
    "a bidirectional RNN has a second (reverse) set of weights per layer": {"directions": 1},
}


def _count_call(input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool) -> str:
    return (f"count_rnn_parameters({input_size}, {hidden_size}, num_layers={num_layers}, bias={bias}, "
            f"bidirectional={bidirectional})")


def probe_count(count_rnn_parameters: Callable[..., Any]) -> dict[str, JSON]:
    return {_count_call(*case): call(count_rnn_parameters, case[0], case[1], num_layers=case[2], bias=case[3],
                                     bidirectional=case[4]) for case in COUNT_CASES}


def judge_count(results: dict[str, Any]) -> None:
    counts = {}
    for case in COUNT_CASES:
        text = _count_call(*case)
        counts[case] = expect_int(returned(results[text], text), f"the result of {text}")
    for case, count in counts.items():
        rnn = _seeded_rnn(0, case[0], case[1], case[2], bias=case[3], bidirectional=case[4])
        expected = sum(p.numel() for p in rnn.parameters())
        if count == expected:
            continue
        message = f"{_count_call(*case)} returned {count}, but nn.RNN with these arguments has {expected} parameters"
        if not case[3] and count == count_formula(*case[:3], True, case[4]):
            raise CheckFailure(f"{message}: with bias=False there are no bias vectors")
        for advice, mistake in COUNT_MISTAKES.items():
            if count == count_formula(*case, **mistake):
                raise CheckFailure(f"{message}: {advice}")
        raise CheckFailure(f"{message} (per layer and direction: W_ih, W_hh, and with bias b_ih and b_hh)")


# ---------------------------------------------------------------- 1.5 output shapes of nn.RNN

SHAPE_CASES: tuple[tuple[int, int, int, int, int, bool, bool], ...] = (
    # seq_len, batch, input_size, hidden_size, num_layers, batch_first, bidirectional
    (5, 3, 2, 4, 1, False, False), (5, 3, 2, 4, 1, True, False), (5, 3, 2, 4, 2, False, True),
    (5, 3, 2, 4, 3, True, True), (7, 2, 3, 6, 2, True, False),
)


def _shape_call(seq_len: int, batch: int, input_size: int, hidden_size: int, num_layers: int, batch_first: bool,
                bidirectional: bool) -> str:
    return (f"rnn_output_shapes({seq_len}, {batch}, {input_size}, {hidden_size}, num_layers={num_layers}, "
            f"batch_first={batch_first}, bidirectional={bidirectional})")


def torch_shapes(seq_len: int, batch: int, input_size: int, hidden_size: int, num_layers: int, batch_first: bool,
                 bidirectional: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output.shape, h_n.shape) measured on nn.RNN."""
    rnn = _seeded_rnn(0, input_size, hidden_size, num_layers, batch_first=batch_first, bidirectional=bidirectional)
    x = torch.zeros((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size))
    with torch.no_grad():
        output, h_n = rnn(x)
    return tuple(output.shape), tuple(h_n.shape)


def shape_mistakes(seq_len: int, batch: int, input_size: int, hidden_size: int, num_layers: int, batch_first: bool,
                   bidirectional: bool) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    directions = 2 if bidirectional else 1
    output, h_n = torch_shapes(seq_len, batch, input_size, hidden_size, num_layers, batch_first, bidirectional)
    return {
        "h_n is (num_layers * num_directions, batch, hidden_size) even with batch_first=True: batch_first "
        "changes only the input and output": (output, (batch, num_layers * directions, hidden_size)),
        "with batch_first=True, output is (batch, seq_len, num_directions * hidden_size)":
            ((seq_len, batch, directions * hidden_size), h_n),
        "output's last dimension is num_directions * hidden_size (both directions side by side)":
            (output[:-1] + (hidden_size,), h_n),
        "h_n's first dimension is num_layers * num_directions": (output, (num_layers,) + h_n[1:]),
        "a bidirectional RNN doubles output's last dimension and h_n's first":
            (output[:-1] + (hidden_size,), (num_layers,) + h_n[1:]),
    }


def _as_shape(value: Any, what: str) -> tuple[int, ...]:
    """``value`` as a tuple of ints: a tuple, list or torch.Size of ints (numpy and torch integers too)."""
    if not isinstance(value, (tuple, list)):
        raise CheckFailure(f"expected {what} as a tuple of ints, got {describe(value)}")
    numbers = [integer(n) for n in value]
    if None in numbers:
        odd = value[numbers.index(None)]
        raise CheckFailure(f"expected {what} as a tuple of ints, got {describe(value)} holding {describe(odd)}")
    return tuple(numbers)


def probe_shapes(rnn_output_shapes: Callable[..., Any]) -> dict[str, JSON]:
    return {_shape_call(*case): call(rnn_output_shapes, *case[:4], num_layers=case[4], batch_first=case[5],
                                     bidirectional=case[6]) for case in SHAPE_CASES}


def judge_shapes(results: dict[str, Any]) -> None:
    for case in SHAPE_CASES:
        text = _shape_call(*case)
        output, h_n = expect_pair(returned(results[text], text), f"(output_shape, h_n_shape) from {text}")
        got = (_as_shape(output, "output_shape"), _as_shape(h_n, "h_n_shape"))
        expected = torch_shapes(*case)
        if got == expected:
            continue
        message = (f"{text} returned output {shape_text(got[0])} and h_n {shape_text(got[1])}; nn.RNN gives "
                   f"output {shape_text(expected[0])} and h_n {shape_text(expected[1])}")
        advice = next((advice for advice, wrong in shape_mistakes(*case).items() if wrong == got), "")
        raise CheckFailure(message + (f": {advice}" if advice else ""))


ASSIGNMENT = Assignment("01_rnn_equation", "The RNN equation", (
    Exercise("1.1", "one RNN step", ("rnn_step",), probe_step, judge_step),
    Exercise("1.2", "the loop over a sequence", ("rnn_forward",), probe_forward, judge_forward),
    Exercise("1.3", "nn.RNN's weights, layer by layer", ("stacked_rnn_forward",), probe_stacked, judge_stacked),
    Exercise("1.4", "counting parameters", ("count_rnn_parameters",), probe_count, judge_count),
    Exercise("1.5", "the shapes nn.RNN returns", ("rnn_output_shapes",), probe_shapes, judge_shapes),
))
