r"""Assignment 06, the GRU from scratch: checks of one step in PyTorch's form and in the textbook form, how far
the two are apart on ``nn.GRU``'s weights, ``nn.GRU``'s weights sliced into gate blocks, a parameter counter, and
the GRU's hidden size that matches an LSTM's parameter count.

The references are torch's (``nn.GRUCell``, ``nn.GRU``, the parameter counts of ``torch.nn`` modules built on
the meta device, which ``tests/test_homework_06.py`` compares with ``recurrent_lib.sizes.count_parameters``);
the textbook step is checked against the formula of Cho et al. (2014),
$n = \tanh(W_{in} x + b_{in} + W_{hn}(r \odot h) + b_{hn})$. Each hint is a recomputation of the answer *with*
the mistake it names: the reset gate on the wrong side of the product, $b_{hn}$ outside
$r \odot (\dots)$, $z$ and $1 - z$ swapped, the r, z, n blocks read in another order, a bidirectional layer
counted once, ... and every pair of two such mistakes in one step. Where the text says "write it yourself"
(6.1, 6.5, 6.6), the shortcut rule of :mod:`recurrent_lib.homework.shortcuts` applies.

Each check judges one exercise: ``cho_difference`` (6.3) runs with the reference ``gru_step_cho`` and
``matched_gru_size`` (6.6) with the reference ``count_parameters``, so a mistake in 6.2 or 6.5 is reported
there alone.
"""
import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from recurrent_lib.sizes import GATES

from ..exercise import Assignment, Exercise, substituted
from ..feedback import CheckFailure, describe, expect_close, expect_float, expect_int, expect_tensor, returned
from ..shortcuts import references, refuse
from ..wire import JSON, Raised, call, encode

Tensors = dict[str, Tensor]
ORDER = "rzn"  # PyTorch stacks the gates' blocks in the rows of weight_ih, weight_hh, bias_ih, bias_hh in this order
MATMUL_HINT = ("x_t is (batch, input_size) and W_ih is (3 * hidden_size, input_size): x_t @ W_ih.T gives the three "
               "gates' pre-activations side by side, (batch, 3 * hidden_size); split them (or W_ih) with chunk(3)")
FLOAT32 = "the weights are float32, and later cells feed this state back into float32 steps"
UNPACK_HINT = ("split the gate dimension: the gates are stacked along the rows of W_ih and W_hh (W_ih.chunk(3), "
               "dim 0) and side by side in the (batch, 3 * hidden_size) pre-activations (chunk(3, dim=1))")
STEP_HINTS = {"values to unpack": UNPACK_HINT}
STEP_SHORTCUTS = {"torch.gru_cell": "torch.gru_cell", "torch.nn.modules.rnn": "nn.GRUCell or nn.GRU",
                  "recurrent_lib.cells": "the course library's GRU step (recurrent_lib.cells)",
                  "recurrent_lib.layers": "the course library's GRU (recurrent_lib.layers)"}
STEP_TASK = "write the GRU step yourself from the weights"
INPUT_NAMES = ("x_t", "h_prev", "W_ih", "W_hh", "b_ih", "b_hh")


def gru_reference(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | float, b_hh: Tensor | float,
                  *, reset: str = "after", z_keeps: bool = True, order: str = ORDER,
                  candidate: Callable[[Tensor], Tensor] = torch.tanh, without: tuple[str, ...] = (),
                  reset_old: bool = False, reset_gate: Callable[[Tensor], Tensor] = torch.sigmoid,
                  r_reads: str = "r", mixes_old: bool = True) -> Tensor:
    """One GRU step, (batch, hidden_size), and with other arguments its mistaken versions.

    reset: "after" (PyTorch: r * (h W_hn^T + b_hn)), "before" (textbook: (r * h) W_hn^T + b_hn), and the mistakes
    "after, b_hn outside" (r * (h W_hn^T) + b_hn), "before, b_hn scaled" ((r * h) W_hn^T + r * b_hn), "none" (no r);
    z_keeps: h' = (1 - z) n + z h (True, PyTorch) or (1 - z) h + z n; order: the gates the three blocks are read as;
    without: the candidate's biases left out ("b_in", "b_hn"); reset_old: r also scales the old state in h';
    reset_gate: r's activation; r_reads: the gate whose weights r is computed with; mixes_old: False mixes n with
    itself in h' (so h' = n).
    """
    H = W_hh.shape[1]
    W_i = dict(zip(order, W_ih.split(H)))
    W_h = dict(zip(order, W_hh.split(H)))
    b_i = dict(zip(order, b_ih.split(H) if isinstance(b_ih, Tensor) else (b_ih,) * 3))
    b_h = dict(zip(order, b_hh.split(H) if isinstance(b_hh, Tensor) else (b_hh,) * 3))
    b_i["n"] = 0.0 if "b_in" in without else b_i["n"]
    b_h["n"] = 0.0 if "b_hn" in without else b_h["n"]
    r = reset_gate(x_t @ W_i[r_reads].T + b_i[r_reads] + h_prev @ W_h[r_reads].T + b_h[r_reads])
    z = torch.sigmoid(x_t @ W_i["z"].T + b_i["z"] + h_prev @ W_h["z"].T + b_h["z"])
    hidden_part = {
        "after": lambda: r * (h_prev @ W_h["n"].T + b_h["n"]),
        "before": lambda: (r * h_prev) @ W_h["n"].T + b_h["n"],
        "after, b_hn outside": lambda: r * (h_prev @ W_h["n"].T) + b_h["n"],
        "before, b_hn scaled": lambda: (r * h_prev) @ W_h["n"].T + r * b_h["n"],
        "none": lambda: h_prev @ W_h["n"].T + b_h["n"],
    }[reset]()
    n = candidate(x_t @ W_i["n"].T + b_i["n"] + hidden_part)
    old = (r * h_prev if reset_old else h_prev) if mixes_old else n
    return (1 - z) * n + z * old if z_keeps else (1 - z) * old + z * n


def _randn(generator: torch.Generator, *shape: int, scale: float = 0.6) -> Tensor:
    return torch.randn(*shape, generator=generator) * scale


def step_cases() -> dict[str, Tensors]:
    """x_t, h_prev, W_ih, W_hh, b_ih, b_hh for two seeded sizes."""
    g = torch.Generator().manual_seed(601)
    cases = {}
    for case, (batch, input_size, hidden_size) in {"batch 2, input 3, hidden 4": (2, 3, 4),
                                                     "batch 3, input 5, hidden 2": (3, 5, 2)}.items():
        cases[case] = {"x_t": _randn(g, batch, input_size, scale=1.0), "h_prev": _randn(g, batch, hidden_size, scale=0.8),
                       "W_ih": _randn(g, 3 * hidden_size, input_size), "W_hh": _randn(g, 3 * hidden_size, hidden_size),
                       "b_ih": _randn(g, 3 * hidden_size), "b_hh": _randn(g, 3 * hidden_size)}
    return cases


def _clone(tensors: Tensors) -> list[Tensor]:
    return [t.clone() for t in tensors.values()]


def _order_text(order: str) -> str:
    return ", ".join(order)


PLACEMENTS = {  # the placement the exercise asks for -> {a wrong placement: what is wrong, what to do}
    "after": {
        "before": "the reset gate is applied before the matrix product, (r * h_prev) @ W_hn.T: that is the textbook "
                  "(Cho/d2l) form; PyTorch computes r * (h_prev @ W_hn.T + b_hn)",
        "after, b_hn outside": "b_hn is added outside r * (...): in PyTorch's form the reset gate scales W_hn h + b_hn, "
                               "its bias included: r * (h_prev @ W_hn.T + b_hn)",
        "before, b_hn scaled": "the reset gate is applied before the matrix product and scales b_hn, (r * h_prev) @ "
                               "W_hn.T + r * b_hn: PyTorch computes r * (h_prev @ W_hn.T + b_hn)",
    },
    "before": {
        "after": "that is PyTorch's form, r * (h_prev @ W_hn.T + b_hn): the textbook form applies the reset gate to the "
                 "state before the product, (r * h_prev) @ W_hn.T + b_hn",
        "before, b_hn scaled": "r also scales b_hn: in the textbook form the reset gate multiplies h_prev only, "
                               "(r * h_prev) @ W_hn.T + b_hn",
        "after, b_hn outside": "it is PyTorch's form with b_hn outside r * (...): the textbook form is "
                               "(r * h_prev) @ W_hn.T + b_hn",
    },
}
HIDDEN_PART = {"after": "r * (h_prev @ W_hn.T + b_hn)", "before": "(r * h_prev) @ W_hn.T + b_hn"}


def single_mistakes(reset: str) -> list[tuple[str, dict[str, Any]]]:
    """The mistakes a step whose reset gate belongs ``reset`` ("after" or "before") the product can make, one at a
    time: (what is wrong and what to do, the keyword arguments of :func:`gru_reference` that make it)."""
    mistakes = [(advice, {"reset": wrong}) for wrong, advice in PLACEMENTS[reset].items()]
    mistakes += [
        ("z and 1 - z are swapped: in this convention z is the fraction KEPT, h' = (1 - z) * n + z * h_prev "
         "(texts such as Chung et al. 2014 and Wikipedia use the other one)", {"z_keeps": False}),
        ("the reset gate is missing: r must scale the hidden part of the candidate n", {"reset": "none"}),
        ("n uses sigmoid: the candidate n uses tanh (only the gates r and z use sigmoid)", {"candidate": torch.sigmoid}),
        ("the candidate's input bias b_in is missing: n = tanh(x_t @ W_in.T + b_in + ...)", {"without": ("b_in",)}),
        (f"the candidate's hidden bias b_hn is missing: its hidden part is {HIDDEN_PART[reset]}", {"without": ("b_hn",)}),
        ("r also scales the old state in h': the update mixes n with h_prev itself, h' = (1 - z) * n + z * h_prev; "
         "the reset gate acts only inside the candidate n", {"reset_old": True}),
        ("r uses tanh: the reset gate is a gate, r = sigmoid(...), a fraction between 0 and 1 (only the candidate n "
         "uses tanh)", {"reset_gate": torch.tanh}),
        ("r is computed with z's weights and biases (W_iz, W_hz, b_iz, b_hz): the reset gate has its own, W_ir, W_hr, "
         "b_ir, b_hr (the first of the three blocks)", {"r_reads": "z"}),
        ("h' is n alone (z * n + (1 - z) * n = n): the update mixes the candidate with the old state, h' = (1 - z) * n "
         "+ z * h_prev", {"mixes_old": False}),
    ]
    return mistakes


def _compatible(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two single mistakes make a distinct pair: different parts of the step, and not both about b_hn."""
    if first.keys() & second.keys():
        return False
    about_b_hn = [m for m in (first, second) if "b_hn" in m.get("reset", "") or "b_hn" in m.get("without", ())]
    return len(about_b_hn) < 2


def common_mistakes(t: Tensors, reset: str) -> dict[str, Tensor]:
    """What the mistakes that both steps can make compute (``reset`` is the placement the exercise asks for): each
    single mistake, the whole bias vectors and the gate order, then every pair of two single mistakes."""
    args = list(t.values())
    singles = single_mistakes(reset)
    mistakes = {advice: gru_reference(*args, **{"reset": reset, **kwargs}) for advice, kwargs in singles}
    mistakes["it is the step without b_ih: you forgot the input biases"] = \
        gru_reference(*args[:4], 0.0, args[5], reset=reset)
    mistakes["it is the step without b_hh: you forgot the hidden biases"] = gru_reference(*args[:5], 0.0, reset=reset)
    for order in map("".join, itertools.permutations(ORDER)):
        if order != ORDER:
            mistakes[f"you read the three blocks of the weights and biases as the gates {_order_text(order)}: "
                     f"PyTorch stacks them in the order r, z, n (W_ir, W_iz, W_in = W_ih.chunk(3))"] = \
                gru_reference(*args, reset=reset, order=order)
    for (advice_1, kwargs_1), (advice_2, kwargs_2) in itertools.combinations(singles, 2):
        if _compatible(kwargs_1, kwargs_2):
            mistakes[f"two mistakes: {advice_1}; and {advice_2}"] = \
                gru_reference(*args, **{"reset": reset, **kwargs_1, **kwargs_2})
    return mistakes


def _untouched(after: Any, tensors: Tensors, call_text: str) -> None:
    """CheckFailure if the student's step changed any of its inputs (``after``: the inputs as they were after the call)."""
    if not isinstance(after, (list, tuple)) or len(after) != len(tensors):
        return
    changed = [name for name, value, before in zip(INPUT_NAMES, after, tensors.values())
               if isinstance(value, Tensor) and not torch.equal(value, before)]
    if changed:
        raise CheckFailure(f"{call_text} changed the caller's {' and '.join(changed)} in place (e.g. h_prev.mul_(z), "
                           f"h_prev *= ..., h_prev[...] = ...): a loop over a sequence still needs every state it "
                           f"passed in; compute a new tensor, h = (1 - z) * n + z * h_prev")


def _probe_step(step: Callable[..., Any]) -> dict[str, JSON]:
    results: dict[str, JSON] = {"uses": call(references, step)}
    for case, tensors in step_cases().items():
        args = _clone(tensors)
        results[case] = call(step, *args)
        results[f"{case}: inputs after"] = encode(args)
    return results


def _judge_step(results: dict[str, Any], name: str, reset: str, extra: Callable[[Tensors], dict[str, Tensor]]) -> None:
    for case, tensors in step_cases().items():
        (batch, _), hidden_size = tensors["x_t"].shape, tensors["W_hh"].shape[1]
        where = f"(with {case})"
        h = returned(results[case], f"{name} {where}", MATMUL_HINT, hints=STEP_HINTS)
        _untouched(results.get(f"{case}: inputs after"), tensors, f"{name} {where}")
        h = expect_tensor(h, f"h {where}", (batch, hidden_size), "(batch, hidden_size)", {
            (hidden_size, batch): "that is (hidden_size, batch): rows are examples, so compute x_t @ W.T, not W @ x_t.T",
            (batch, 3 * hidden_size): "that is all three gates side by side: split the pre-activations with chunk(3)",
        }, dtype=torch.float32, dtype_reason=FLOAT32)
        expect_close(h, gru_reference(*tensors.values(), reset=reset), f"h {where}",
                     {**extra(tensors), **common_mistakes(tensors, reset)})


# ---------------------------------------------------------------- 6.1 one GRU step, PyTorch's form

def torch_form_mistakes(t: Tensors) -> dict[str, Tensor]:
    args = list(t.values())
    return {
        "the reset gate is applied before the product and z and 1 - z are swapped (the form of Chung et al. 2014 "
        "and Wikipedia): PyTorch computes r * (h_prev @ W_hn.T + b_hn) and h' = (1 - z) * n + z * h_prev":
            gru_reference(*args, reset="before", z_keeps=False),
    }


def probe_torch_step(gru_step: Callable[..., Any]) -> dict[str, JSON]:
    return _probe_step(gru_step)


def judge_torch_step(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), STEP_SHORTCUTS, STEP_TASK)
    _judge_step(results, "gru_step", "after", torch_form_mistakes)


# ---------------------------------------------------------------- 6.2 the textbook form

def reference_cho_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """The reference answer to 6.2, which 6.3's check substitutes."""
    return gru_reference(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, reset="before")


def probe_cho_step(gru_step_cho: Callable[..., Any]) -> dict[str, JSON]:
    return _probe_step(gru_step_cho)


def judge_cho_step(results: dict[str, Any]) -> None:
    _judge_step(results, "gru_step_cho", "before", lambda t: {})


# ---------------------------------------------------------------- 6.3 how far the textbook form is from nn.GRU

def _seeded(seed: int, module: type[nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    """module(*args, **kwargs) initialised from ``seed``, leaving the global random state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return module(*args, **kwargs)


def difference_cases() -> dict[str, tuple[nn.GRU, Tensor]]:
    """case -> (a seeded one-layer nn.GRU, x (seq_len, batch, input_size))."""
    cases = {}
    for case, (seed, input_size, hidden_size, seq_len, batch) in {
            "nn.GRU(3, 8), x of shape (12, 4, 3)": (611, 3, 8, 12, 4),
            "nn.GRU(2, 5), x of shape (20, 3, 2)": (612, 2, 5, 20, 3)}.items():
        x = torch.randn(seq_len, batch, input_size, generator=torch.Generator().manual_seed(seed))
        cases[case] = (_seeded(seed, nn.GRU, input_size, hidden_size), x)
    return cases


def textbook_states(gru: nn.GRU, x: Tensor, reset: str = "before") -> Tensor:
    """Every state h_1 .. h_T of the textbook form with gru's weights, from zeros: (seq_len, batch, hidden_size)."""
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    h, states = torch.zeros(x.shape[1], gru.hidden_size), []
    with torch.no_grad():
        for x_t in x:
            h = gru_reference(x_t, h, *weights, reset=reset)
            states.append(h)
    return torch.stack(states)


def difference_mistakes(gru: nn.GRU, x: Tensor) -> dict[str, float]:
    with torch.no_grad():
        output, h_n = gru(x)
    difference = textbook_states(gru, x) - output
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    with torch.no_grad():  # every textbook step started from gru's own previous state
        one_step = gru_reference(x, torch.cat((torch.zeros_like(output[:1]), output[:-1])), *weights, reset="before")
    return {
        "each textbook step starts from gru's own previous state, output[t - 1]: that measures one step's difference "
        "only; run the textbook form on its own states, h = gru_step_cho(x[t], h, ...), from h_0 = 0":
            (one_step - output).abs().max().item(),
        "it is the largest difference of the last states only: compare every step's state, the whole output "
        "sequence": difference[-1].abs().max().item(),
        "it is the mean absolute difference: return the largest one, .abs().max()": difference.abs().mean().item(),
        "it is the sum of the absolute differences: return the largest one, .abs().max()": difference.abs().sum().item(),
        "it is the largest RELATIVE difference: return the largest absolute one, (states - output).abs().max()":
            (difference.abs() / output.abs()).max().item(),
        "it is the largest signed difference (textbook - PyTorch): take the absolute value first, .abs().max()":
            difference.max().item(),
        "it is the largest signed difference (PyTorch - textbook): take the absolute value first, .abs().max()":
            (-difference).max().item(),
    }


def probe_difference(cho_difference: Callable[..., Any]) -> dict[str, JSON]:
    with substituted(cho_difference, gru_step_cho=reference_cho_step):  # judge 6.3, not the student's 6.2
        return {case: call(cho_difference, gru, x.clone()) for case, (gru, x) in difference_cases().items()}


def judge_difference(results: dict[str, Any]) -> None:
    for case, (gru, x) in difference_cases().items():
        what = f"cho_difference(gru, x) (for {case})"
        value = expect_float(returned(results[case], what), what)
        with torch.no_grad():
            expected = (textbook_states(gru, x) - gru(x)[0]).abs().max().item()
        if abs(value - expected) <= 1e-5 + 1e-4 * expected:
            continue
        message = f"{what} returned {value:.6f}, expected {expected:.6f}"
        if abs(value) < 1e-6:
            raise CheckFailure(f"{message}: 0 means both sides computed the same function; run the textbook "
                               f"form (your gru_step_cho) with gru's weights and compare with gru(x)'s output")
        for advice, wrong in difference_mistakes(gru, x).items():
            if abs(value - wrong) <= 1e-5 + 1e-4 * abs(wrong):
                raise CheckFailure(f"{message}: {advice}")
        raise CheckFailure(f"{message} (start the textbook form from h_0 = 0, as gru(x) does, and compare all "
                           f"seq_len states)")


# ---------------------------------------------------------------- 6.4 nn.GRU's weights in r, z, n blocks

BLOCK_NAMES = ("W_i", "W_h", "b_i", "b_h")
NAMES_HINT = ("nn.GRU names its parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with the suffix "
              "_reverse for the backward direction: list them with [name for name, _ in gru.named_parameters()]")
BLOCKS_HINTS = {
    "_reversed'": "the backward direction's names end in _reverse, not _reversed (e.g. weight_ih_l0_reverse): "
                  "list them with [name for name, _ in gru.named_parameters()]",
    "has no attribute 'weight_": NAMES_HINT, "has no attribute 'bias_": NAMES_HINT,
    "Dimension out of range": "the biases are 1-D, (3 * hidden_size,): every tensor stacks its gate blocks along dim 0 "
                              "(the rows), so split each one with chunk(3) (dim=0), not along dim 1",
    "values to unpack": "each stacked tensor splits into three gate blocks: chunk(3) along dim 0, the rows",
}


def blocks_cases() -> dict[str, tuple[int, bool]]:
    """call text -> (layer, reverse), all on the same nn.GRU(3, 4, num_layers=2, bidirectional=True)."""
    return {f"gru_gate_blocks(gru, layer={layer}, reverse={reverse})": (layer, reverse)
            for layer, reverse in ((0, False), (1, True), (0, True), (1, False))}


def _blocks_gru() -> nn.GRU:
    return _seeded(621, nn.GRU, 3, 4, num_layers=2, bidirectional=True)


def reference_blocks(gru: nn.GRU, layer: int, reverse: bool, order: str = ORDER) -> dict[str, tuple[Tensor, ...]]:
    """gate -> (W_i, W_h, b_i, b_h) of that gate in ``layer`` and direction; ``order`` reads the blocks otherwise."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    parts = [getattr(gru, f"{name}{suffix}").detach().chunk(3) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    by_block = dict(zip(order, zip(*parts)))
    return {gate: by_block[gate] for gate in ORDER}


def probe_blocks(gru_gate_blocks: Callable[..., Any]) -> dict[str, JSON]:
    gru = _blocks_gru()
    return {case: call(gru_gate_blocks, gru, layer, reverse) for case, (layer, reverse) in blocks_cases().items()}


def _as_blocks(value: Any, what: str) -> list[list[Any]]:
    """value as three groups (r, z, n) of four items each, or a CheckFailure that says what arrived."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        got = f"{len(value)} items" if isinstance(value, (tuple, list)) else describe(value)
        if isinstance(value, (tuple, list)) and len(value) == 4 and all(
                isinstance(group, (tuple, list)) and len(group) == 3 for group in value):
            got += (" of three: the blocks grouped by tensor (W_ih's r, z, n, then W_hh's, ...); group them by gate, "
                    "((W_ir, W_hr, b_ir, b_hr), (W_iz, ...), (W_in, ...)): zip(*...) regroups them")
        raise CheckFailure(f"expected {what} to return three groups (r, z, n), got {got}")
    groups = []
    for gate, group in zip(ORDER, value):
        if not isinstance(group, (tuple, list)) or len(group) != 4:
            got = f"{len(group)} items" if isinstance(group, (tuple, list)) else describe(group)
            raise CheckFailure(f"expected the {gate} group of {what} to be (W_i{gate}, W_h{gate}, b_i{gate}, "
                               f"b_h{gate}), four tensors, got {got}")
        groups.append(list(group))
    return groups


def _same(groups: list[list[Tensor]], reference: dict[str, tuple[Tensor, ...]]) -> bool:
    return all(torch.equal(got.double(), expected.double()) for group, gate in zip(groups, ORDER)
               for got, expected in zip(group, reference[gate]))


def judge_blocks(results: dict[str, Any]) -> None:
    gru = _blocks_gru()
    for case, (layer, reverse) in blocks_cases().items():
        groups = _as_blocks(returned(results[case], case, hints=BLOCKS_HINTS), case)
        expected = reference_blocks(gru, layer, reverse)
        for group, gate in zip(groups, ORDER):
            for value, name, reference in zip(group, BLOCK_NAMES, expected[gate]):
                rows = "(hidden_size, layer input)" if name == "W_i" else "(hidden_size, hidden_size)" if name == "W_h" \
                    else "(hidden_size,)"
                full = tuple(getattr(gru, f"{'weight' if name[0] == 'W' else 'bias'}_{'ih' if name[-1] == 'i' else 'hh'}"
                                     f"_l{layer}").shape)
                hints = {}
                if len(full) == 2:
                    hints[(full[0], full[1] // 3)] = ("you split the columns: the gates are stacked in the rows, "
                                                      "chunk(3) along dim 0")
                hints[full] = "that is the whole stacked tensor: split it into its three gate blocks with chunk(3)"
                if layer and name == "W_i":
                    hints[(gru.hidden_size, gru.input_size)] = (
                        f"these are layer 0's weights (input_size columns): layer {layer}'s names end in _l{layer}, "
                        f"and it reads both directions' outputs, 2 * hidden_size features")
                expect_tensor(value, f"{name}{gate} from {case}", tuple(reference.shape), rows, hints)
        if _same(groups, expected):
            continue
        mistakes = {f"the blocks are read as the gates {_order_text(order)}: PyTorch stacks them in the order "
                    f"r, z, n": reference_blocks(gru, layer, reverse, order)
                    for order in map("".join, itertools.permutations(ORDER)) if order != ORDER}
        if reverse:
            mistakes["these are the forward direction's weights: the reverse direction's names end in _reverse, "
                     f"e.g. weight_ih_l{layer}_reverse"] = reference_blocks(gru, layer, False)
        if layer:
            mistakes[f"these are layer 0's weights: layer {layer}'s names end in _l{layer}"] = \
                reference_blocks(gru, 0, reverse)
        advice = next((advice for advice, wrong in mistakes.items() if _same(groups, wrong)),
                      f"each block must equal the rows of gru.weight_ih_l{layer}... that belong to its gate "
                      f"(r: rows 0..H-1, z: H..2H-1, n: 2H..3H-1)")
        raise CheckFailure(f"{case} returned the wrong blocks: {advice}")


# ---------------------------------------------------------------- 6.5 counting parameters of RNN, GRU and LSTM

COUNT_CASES: tuple[tuple[str, int, int, int, bool, bool, int], ...] = (
    # mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size
    ("GRU", 2, 64, 1, True, False, 0), ("LSTM", 2, 64, 1, True, False, 0), ("RNN", 3, 4, 1, False, False, 0),
    ("GRU", 10, 20, 2, True, True, 0), ("RNN", 4, 5, 3, True, True, 0), ("GRU", 3, 7, 3, False, False, 0),
    ("LSTM", 8, 6, 1, True, False, 3), ("LSTM", 5, 16, 2, True, False, 4), ("LSTM", 6, 9, 3, False, True, 2),
)


def count_formula(mode: str, input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool,
                  proj_size: int, *, gates: dict[str, int] = GATES, biases: int = 2, directions: int | None = None,
                  deeper_reads: str = "directions * out", hh_cols: str = "out", w_hr: bool = True) -> int:
    """The parameter count; the keyword arguments reproduce the common mistakes."""
    directions = directions or (2 if bidirectional else 1)
    rows, out = gates[mode] * hidden_size, proj_size or hidden_size
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else {"directions * out": (2 if bidirectional else 1) * out,
                                                     "out": out, "directions * hidden": (2 if bidirectional else 1)
                                                     * hidden_size}[deeper_reads]
        cols = out if hh_cols == "out" else hidden_size
        total += directions * (rows * layer_input + rows * cols + (biases * rows if bias else 0)
                               + (proj_size * hidden_size if w_hr else 0))
    return total


COUNT_MISTAKES: dict[str, dict[str, Any]] = {
    "a bidirectional layer has a second (reverse) set of every weight and bias: count each layer twice":
        {"directions": 1},
    "in a bidirectional network the layers after the first read both directions' outputs, 2 * (proj_size or "
    "hidden_size) features": {"deeper_reads": "out"},
    "you counted one bias vector per gate block; there are two, b_ih and b_hh": {"biases": 1},
    "the number of gate blocks is wrong: weight_ih has 1 (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o) "
    "blocks of hidden_size rows": {"gates": {"RNN": 1, "GRU": 4, "LSTM": 3}},
    "every mode was counted like a plain RNN: a GRU has 3 gate blocks and an LSTM 4, each as large as an RNN's "
    "weights (if you compared mode with lower-case names: it arrives in capitals, \"GRU\" or \"LSTM\")":
        {"gates": {"RNN": 1, "GRU": 1, "LSTM": 1}},
    "with proj_size, each layer and direction also has weight_hr of shape (proj_size, hidden_size)": {"w_hr": False},
    "with proj_size, the state fed back is the projected one: weight_hh is (4 * hidden_size, proj_size)":
        {"hh_cols": "hidden"},
    "with proj_size, the layers after the first read the projected outputs, proj_size features per direction":
        {"deeper_reads": "directions * hidden"},
}


def _count_call(mode: str, input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool,
                proj_size: int) -> str:
    return (f"count_parameters({mode!r}, {input_size}, {hidden_size}, num_layers={num_layers}, bias={bias}, "
            f"bidirectional={bidirectional}, proj_size={proj_size})")


def torch_count(mode: str, input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool,
                proj_size: int) -> int:
    """sum(p.numel()) of the torch.nn module, built on the meta device (no memory, no random numbers)."""
    kwargs = dict(num_layers=num_layers, bias=bias, bidirectional=bidirectional, device="meta")
    if proj_size:
        kwargs["proj_size"] = proj_size
    return sum(p.numel() for p in getattr(nn, mode)(input_size, hidden_size, **kwargs).parameters())


COUNT_SHORTCUTS = {"recurrent_lib.sizes": "recurrent_lib.sizes.count_parameters",
                   "recurrent_lib.study": "recurrent_lib.study's parameter counts",
                   "torch.nn": "a torch.nn layer, built to count its tensors"}
COUNT_TASK = "count the parameters yourself, from the shapes alone"
MODE_HINT = ('mode arrives as "RNN", "GRU" or "LSTM", in capitals like the names of torch.nn\'s classes: look it up '
             'with those keys, e.g. {"RNN": 1, "GRU": 3, "LSTM": 4}[mode]')


def probe_count(count_parameters: Callable[..., Any]) -> dict[str, JSON]:
    results = {_count_call(*case): call(count_parameters, *case[:3], num_layers=case[3], bias=case[4],
                                        bidirectional=case[5], proj_size=case[6]) for case in COUNT_CASES}
    return {"uses": call(references, count_parameters), **results}


def _mode_key_error(value: Any, call_text: str) -> None:
    """CheckFailure when the count raised KeyError for a mode written in capitals (a dict with lower-case keys)."""
    if isinstance(value, Raised) and value.type == "KeyError" and value.message.strip("'\"") in GATES:
        raise CheckFailure(f"{call_text} raised KeyError: {value.message} ({MODE_HINT})")


def judge_count(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), COUNT_SHORTCUTS, COUNT_TASK)
    counts = {}
    for case in COUNT_CASES:
        text = _count_call(*case)
        _mode_key_error(results[text], text)
        counts[case] = expect_int(returned(results[text], text), f"the result of {text}")
    for case, count in counts.items():
        expected = torch_count(*case)
        if count == expected:
            continue
        message = f"{_count_call(*case)} returned {count}, but nn.{case[0]} with these arguments has {expected} parameters"
        if not case[4] and count == count_formula(*case[:4], True, *case[5:]):
            raise CheckFailure(f"{message}: with bias=False there are no bias vectors")
        for advice, mistake in COUNT_MISTAKES.items():
            if count == count_formula(*case, **mistake):
                raise CheckFailure(f"{message}: {advice}")
        raise CheckFailure(f"{message} (per layer and direction: weight_ih, weight_hh, with bias b_ih and b_hh, and "
                           f"with proj_size weight_hr)")


# ---------------------------------------------------------------- 6.6 the GRU that matches an LSTM's size

MATCH_CASES: tuple[tuple[int, int], ...] = ((57, 64), (6, 16), (200, 8), (15, 6))  # (input_size, LSTM hidden size)
MATCH_SHORTCUTS = {"recurrent_lib.study": "recurrent_lib.study.matched_hidden_size"}
MATCH_TASK = "write the search for the matching size yourself (counting with count_parameters is fine)"


def _match_call(input_size: int, lstm_hidden_size: int) -> str:
    return f"matched_gru_size({input_size}, {lstm_hidden_size})"


def reference_count(mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                    bidirectional: bool = False, proj_size: int = 0) -> int:
    """The reference answer to 6.5, which 6.6's check substitutes."""
    return count_formula(mode, input_size, hidden_size, num_layers, bias, bidirectional, proj_size)


def _gru_sizes(input_size: int, lstm_hidden_size: int) -> tuple[int, list[int]]:
    """The LSTM's count and the GRU hidden sizes 1, 2, ... far enough past it."""
    target = reference_count("LSTM", input_size, lstm_hidden_size)
    return target, list(range(1, 2 * lstm_hidden_size + 2))


def matched_reference(input_size: int, lstm_hidden_size: int, prefer: str = "smaller") -> int:
    """The hidden size of the GRU whose count is closest to nn.LSTM(input_size, lstm_hidden_size)'s (``prefer``:
    which one wins a tie)."""
    target, sizes = _gru_sizes(input_size, lstm_hidden_size)
    sign = 1 if prefer == "smaller" else -1
    return min(sizes, key=lambda H: (abs(reference_count("GRU", input_size, H) - target), sign * H))


def match_mistakes(input_size: int, lstm_hidden_size: int) -> dict[str, set[int]]:
    """advice -> what the mistake returns for this case (a set: rounding down, to nearest or up)."""
    target, sizes = _gru_sizes(input_size, lstm_hidden_size)
    counts = {H: reference_count("GRU", input_size, H) for H in sizes}

    def rounded(x: float) -> set[int]:
        return {math.floor(x), round(x), math.ceil(x)}

    return {
        "it compares nn.GRU(input_size, H) with an LSTM of the same candidate size H: the target is fixed, the count of "
        "nn.LSTM(input_size, lstm_hidden_size); find the H whose GRU count is closest to it":
            {min(sizes, key=lambda H: (abs(counts[H] - reference_count("LSTM", input_size, H)), H))},
        "the search stopped below the LSTM's hidden size: a GRU needs MORE units than the LSTM for the same count "
        "(3 gate blocks against 4), so search beyond it (up to 2 * lstm_hidden_size is enough)":
            {lstm_hidden_size - 1},
        "that is about sqrt(4/3) times the LSTM's hidden size, which matches the recurrent weights W_hh alone "
        "(3 H^2 against 4 H_lstm^2): the input weights and the biases grow only linearly in H, so compare the whole "
        "counts (count_parameters('GRU', input_size, H) for each candidate H)":
            rounded((4 / 3) ** 0.5 * lstm_hidden_size),
        "that is 4/3 times the LSTM's hidden size: the counts grow like H^2, not like H, so compare the whole counts":
            rounded(4 / 3 * lstm_hidden_size),
        "that is the LSTM's own hidden size: at equal hidden size the GRU has 3/4 of the LSTM's parameters":
            {lstm_hidden_size},
        "that is the first size whose count reaches the LSTM's: the closest count can be the one just below it":
            {next(H for H in sizes if counts[H] >= target)},
        "that is the last size whose count stays below the LSTM's: the closest count can be the one just above it":
            {max(H for H in sizes if counts[H] <= target)},
        "on a tie (two sizes equally far from the LSTM's count) return the smaller one":
            {matched_reference(input_size, lstm_hidden_size, prefer="larger")},
        "that is a parameter count: return the GRU's hidden size": {counts[matched_reference(input_size, lstm_hidden_size)]},
        "that is the LSTM's parameter count: return the GRU's hidden size": {target},
    }


def probe_match(matched_gru_size: Callable[..., Any]) -> dict[str, JSON]:
    results = {"uses": call(references, matched_gru_size)}
    with substituted(matched_gru_size, count_parameters=reference_count):  # judge 6.6, not the student's 6.5
        for case in MATCH_CASES:
            results[_match_call(*case)] = call(matched_gru_size, *case)
    return results


def judge_match(results: dict[str, Any]) -> None:
    refuse(results.get("uses"), MATCH_SHORTCUTS, MATCH_TASK)
    values = {}
    for case in MATCH_CASES:
        text = _match_call(*case)
        value = results[text]
        if isinstance(value, Raised) and value.type == "KeyError" and value.message.strip("'\"").upper() in GATES:
            raise CheckFailure(f"{text} raised KeyError: {value.message} (count_parameters takes mode in capitals: "
                               f"count_parameters(\"GRU\", ...) and count_parameters(\"LSTM\", ...))")
        values[case] = expect_int(returned(value, text), f"the result of {text}")
    wrong = [case for case in MATCH_CASES if values[case] != matched_reference(*case)]
    if not wrong:
        return
    case, value = wrong[0], values[wrong[0]]
    expected, target = matched_reference(*case), reference_count("LSTM", *case)
    message = (f"{_match_call(*case)} returned {value}, expected {expected} (nn.LSTM({case[0]}, {case[1]}) has "
               f"{target:,} parameters, nn.GRU({case[0]}, {expected}) {reference_count('GRU', case[0], expected):,})")
    mistakes = {c: match_mistakes(*c) for c in MATCH_CASES}
    advice = next((advice for advice in mistakes[case] if all(values[c] in mistakes[c][advice] for c in MATCH_CASES)),
                  None)
    if advice is None and 0 < value <= 10 * case[1]:
        advice = (f"nn.GRU({case[0]}, {value}) has {reference_count('GRU', case[0], value):,} parameters, further from "
                  f"the LSTM's: try every hidden size and keep the one whose count is closest")
    raise CheckFailure(f"{message}: {advice}" if advice else message)


ASSIGNMENT = Assignment("06_gru_from_scratch", "The GRU from scratch", (
    Exercise("6.1", "one GRU step, PyTorch's form", ("gru_step",), probe_torch_step, judge_torch_step),
    Exercise("6.2", "the textbook (Cho/d2l) form", ("gru_step_cho",), probe_cho_step, judge_cho_step),
    Exercise("6.3", "how far the textbook form is from nn.GRU", ("cho_difference",), probe_difference, judge_difference),
    Exercise("6.4", "nn.GRU's weights in r, z, n blocks", ("gru_gate_blocks",), probe_blocks, judge_blocks),
    Exercise("6.5", "counting parameters of RNN, GRU and LSTM", ("count_parameters",), probe_count, judge_count),
    Exercise("6.6", "the GRU that matches an LSTM's size", ("matched_gru_size",), probe_match, judge_match),
))
