"""recurrent_lib's RNNCell, LSTMCell and GRUCell against torch.nn's: init, state_dict, repr, values, gradients."""
import itertools
import random

import pytest
import torch
from torch import nn
from torch.func import functional_call

import recurrent_lib
from recurrent_lib.cells import gru_step, lstm_step, rnn_step

from twins import largest_difference, make_pair, one_thread  # noqa: F401 (one_thread: an autouse fixture)

KINDS = ["RNNCell", "LSTMCell", "GRUCell"]
TOL = {"atol": 1e-9, "rtol": 1e-9}


def flat(result: torch.Tensor | tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


def sweep_configs() -> list[dict]:
    """Every cell x batched/unbatched x with/without a state, 15 random draws of the other options each."""
    rng = random.Random(0)
    configs = []
    for kind, batched, with_state, _ in itertools.product(KINDS, (True, False), (True, False), range(15)):
        kwargs = {"bias": rng.random() < 0.7}
        if kind == "RNNCell":
            kwargs["nonlinearity"] = rng.choice(["tanh", "relu"])
        configs.append({"kind": kind, "input_size": rng.randint(1, 5), "hidden_size": rng.randint(1, 6),
                        "batch": rng.randint(1, 4) if batched else None, "with_state": with_state,
                        "kwargs": kwargs})
    return configs


def compare_cells(config: dict, seed: int) -> float:
    """Run torch's and our cell on the same float64 input and state; assert identical init and equal outputs
    and gradients (input, state, every parameter); return the largest absolute difference."""
    reference, twin = make_pair(config["kind"], config["input_size"], config["hidden_size"], seed=seed,
                                dtype=torch.float64, **config["kwargs"])
    for (name, p_ref), (name_twin, p_twin) in zip(reference.named_parameters(), twin.named_parameters(), strict=True):
        assert name == name_twin and torch.equal(p_ref, p_twin), f"different init of {name}"
    twin.load_state_dict(reference.state_dict())
    batch = () if config["batch"] is None else (config["batch"],)
    x = torch.randn(*batch, config["input_size"], dtype=torch.float64, requires_grad=True)
    state = None
    if config["with_state"]:
        n_states = 2 if config["kind"] == "LSTMCell" else 1
        state = [torch.randn(*batch, config["hidden_size"], dtype=torch.float64, requires_grad=True)
                 for _ in range(n_states)]
    hx = None if state is None else (tuple(state) if len(state) == 2 else state[0])
    outputs = {}
    for name, module in (("torch", reference), ("twin", twin)):
        out = flat(module(x, hx))
        loss = sum((o * torch.linspace(-1, 2, o.numel(), dtype=o.dtype).view_as(o)).sum() for o in out)
        grads = torch.autograd.grad(loss, [x, *(state or []), *module.parameters()])
        outputs[name] = out + list(grads)
    return largest_difference(outputs["torch"], outputs["twin"])


def test_cells_match_torch_on_a_random_sweep():
    configs = sweep_configs()
    largest = max(compare_cells(config, seed) for seed, config in enumerate(configs))
    print(f"\ncell sweep: {len(configs)} configurations, largest absolute difference {largest:.3e}")
    assert len(configs) >= 150
    assert largest < 1e-9


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(kind):
    torch.manual_seed(0)
    cell = getattr(recurrent_lib, kind)(3, 4, dtype=torch.float64)
    names = [name for name, _ in cell.named_parameters()]
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(2, 4, dtype=torch.float64, requires_grad=True) for _ in range(2 if kind == "LSTMCell" else 1)]

    def run(x, *tensors):
        hx = tuple(tensors[:2]) if kind == "LSTMCell" else tensors[0]
        return functional_call(cell, dict(zip(names, tensors[len(states):])), (x, hx))

    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    assert torch.autograd.gradcheck(run, (x, *states, *params))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bias", [True, False])
def test_same_init_names_and_state_dict_loads_both_ways(kind, bias):
    reference, twin = make_pair(kind, 5, 7, bias=bias, seed=3)
    assert list(twin.state_dict()) == list(reference.state_dict())
    assert [(n, p.shape) for n, p in twin.named_parameters()] == [(n, p.shape) for n, p in reference.named_parameters()]
    for key, value in reference.state_dict().items():
        assert torch.equal(twin.state_dict()[key], value), key
    torch_seed_4, twin_seed_5 = make_pair(kind, 5, 7, bias=bias, seed=4)[0], make_pair(kind, 5, 7, bias=bias, seed=5)[1]
    twin.load_state_dict(torch_seed_4.state_dict())
    reference.load_state_dict(twin_seed_5.state_dict())
    for key in reference.state_dict():
        assert torch.equal(twin.state_dict()[key], torch_seed_4.state_dict()[key]), key
        assert torch.equal(reference.state_dict()[key], twin_seed_5.state_dict()[key]), key


@pytest.mark.parametrize("kind", KINDS)
def test_default_float32_matches_torch(kind):
    reference, twin = make_pair(kind, 4, 6, seed=1)
    assert twin.weight_ih.dtype == torch.float32
    x = torch.randn(3, 4)
    for a, b in zip(flat(reference(x)), flat(twin(x)), strict=True):
        assert b.dtype == torch.float32
        torch.testing.assert_close(b, a)


@pytest.mark.parametrize("kind, args, kwargs", [
    ("RNNCell", (57, 64), {}), ("LSTMCell", (57, 64), {}), ("GRUCell", (57, 64), {}),
    ("RNNCell", (3, 4), {"bias": False, "nonlinearity": "relu"}), ("RNNCell", (3, 4), {"nonlinearity": "tanh"}),
    ("LSTMCell", (3, 4), {"bias": False}), ("GRUCell", (3, 4), {"bias": False}),
])
def test_repr_matches_torch(kind, args, kwargs):
    reference, twin = make_pair(kind, *args, **kwargs)
    assert repr(twin) == repr(reference)


def test_unbatched_input_with_and_without_state():
    for kind in KINDS:
        reference, twin = make_pair(kind, 3, 5, dtype=torch.float64)
        x = torch.randn(3, dtype=torch.float64)
        h = torch.randn(5, dtype=torch.float64)
        hx = (h, h.flip(0)) if kind == "LSTMCell" else h
        for state in (None, hx):
            for a, b in zip(flat(reference(x, state)), flat(twin(x, state)), strict=True):
                assert b.shape == (5,)
                torch.testing.assert_close(b, a, **TOL)


def test_steps_compute_the_equations_of_their_docstrings():
    """Each gate written out with its own slice of the weights (rows in torch's gate order)."""
    torch.manual_seed(0)
    H = 4
    x, h, c = torch.randn(2, 3).double(), torch.randn(2, H).double(), torch.randn(2, H).double()

    def params(gates: int, h_in: int = H) -> list[torch.Tensor]:
        """w_ih (gates*H, 3), w_hh (gates*H, h_in), b_ih, b_hh (gates*H,)"""
        return [torch.randn(gates * H, 3).double(), torch.randn(gates * H, h_in).double(),
                torch.randn(gates * H).double(), torch.randn(gates * H).double()]

    def part(p: list[torch.Tensor], k: int, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_i{k} x + b_i{k}, W_h{k} h + b_h{k}) for gate number k."""
        w_ih, w_hh, b_ih, b_hh = (t[k * H:(k + 1) * H] for t in p)
        return x @ w_ih.T + b_ih, h @ w_hh.T + b_hh

    p = params(1)
    torch.testing.assert_close(rnn_step(x, h, *p), torch.tanh(sum(part(p, 0, x, h))))
    torch.testing.assert_close(rnn_step(x, h, *p[:2], None, None, "relu"), torch.relu(x @ p[0].T + h @ p[1].T))

    for w_hr in (None, torch.randn(2, H).double()):
        h_prev = h if w_hr is None else h[:, :2]
        p = params(4, h_in=h_prev.size(1))
        i, f, g, o = (sum(part(p, k, x, h_prev)) for k in range(4))
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c_next = f * c + i * g
        h_next = o * torch.tanh(c_next)
        h_next = h_next if w_hr is None else h_next @ w_hr.T
        torch.testing.assert_close(lstm_step(x, h_prev, c, *p, w_hr), (h_next, c_next))

    p = params(3)
    r = torch.sigmoid(sum(part(p, 0, x, h)))
    z = torch.sigmoid(sum(part(p, 1, x, h)))
    x_n, h_n = part(p, 2, x, h)
    n = torch.tanh(x_n + r * h_n)
    torch.testing.assert_close(gru_step(x, h, *p), (1 - z) * n + z * h)


def test_runs_on_the_default_device():
    device = recurrent_lib.default_device()
    for kind in KINDS:
        reference, twin = make_pair(kind, 3, 4, dtype=torch.float64, device=device)
        x = torch.randn(2, 3, dtype=torch.float64, device=device)
        for a, b in zip(flat(reference(x)), flat(twin(x)), strict=True):
            assert b.device.type == device.type
            torch.testing.assert_close(b, a, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_every_tensor_is_made_on_the_inputs_device(kind):
    """On the 'meta' device any tensor made on the CPU by mistake (the zero state, say) would fail to mix."""
    cell = getattr(recurrent_lib, kind)(3, 4, device="meta")
    for x in (torch.randn(2, 3, device="meta"), torch.randn(3, device="meta")):
        for out in flat(cell(x)):
            assert out.device.type == "meta" and out.shape == (*x.shape[:-1], 4)
