"""recurrent_lib's RNN, LSTM and GRU against torch.nn's over every option: init, state_dict, repr, values,
gradients, packed sequences and dropout masks."""
import itertools
import random
import warnings

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import recurrent_lib

from twins import largest_difference, make_pair, one_thread  # noqa: F401 (one_thread: an autouse fixture)

KINDS = ["RNN", "LSTM", "GRU"]
FORMS = ["padded", "unbatched", "packed_sorted", "packed_unsorted"]
TOL = {"atol": 1e-9, "rtol": 1e-9}


def states_of(state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
    """h_n, or h_n and c_n for an LSTM."""
    return list(state) if isinstance(state, tuple) else [state]


def tensors_of(output: torch.Tensor | PackedSequence, state: torch.Tensor | tuple) -> list[torch.Tensor]:
    """Every tensor a layer returns (a PackedSequence's data and its index tensors), in a fixed order."""
    out = list(output) if isinstance(output, PackedSequence) else [output]
    return [t for t in out + states_of(state) if t is not None]


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def sweep_configs() -> list[dict]:
    """Each layer x input form x with/without initial state, 15 random draws of every other option."""
    rng = random.Random(0)
    configs = []
    for kind, form, with_state, _ in itertools.product(KINDS, FORMS, (True, False), range(15)):
        hidden, num_layers = rng.randint(1, 6), rng.randint(1, 3)
        kwargs = {"num_layers": num_layers, "bias": rng.random() < 0.7, "batch_first": rng.random() < 0.5,
                  "bidirectional": rng.random() < 0.5}
        if kind == "RNN":
            kwargs["nonlinearity"] = rng.choice(["tanh", "relu"])
        if kind == "LSTM" and hidden > 1 and rng.random() < 0.5:
            kwargs["proj_size"] = rng.randint(1, hidden - 1)
        if num_layers > 1 and rng.random() < 0.4:
            kwargs["dropout"] = rng.choice([0.3, 0.5, 1.0])
        configs.append({"kind": kind, "form": form, "with_state": with_state, "input_size": rng.randint(1, 5),
                        "hidden_size": hidden, "seq_len": rng.randint(1, 6), "batch": rng.randint(1, 4),
                        "training": rng.random() < 0.5, "kwargs": kwargs})
    return configs


def make_input(config: dict, x: torch.Tensor, lengths: list[int]) -> torch.Tensor | PackedSequence:
    """The layer's input built from padded x ((N, L, H_in) when batch_first, else (L, N, H_in))."""
    if config["form"].startswith("packed"):
        return pack_padded_sequence(x, torch.tensor(lengths), batch_first=config["kwargs"]["batch_first"],
                                    enforce_sorted=config["form"] == "packed_sorted")
    if config["form"] == "unbatched":
        return x.select(0 if config["kwargs"]["batch_first"] else 1, 0)  # (L, H_in): batch_first does not apply
    return x


def compare_layers(config: dict, seed: int) -> float:
    """Run torch's and our layer (float64, same init, same dropout seed) on the same input and initial state;
    assert equal outputs, PackedSequence indices, final states and gradients of input, initial state and
    every parameter; return the largest absolute difference."""
    kw = config["kwargs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropout with one layer: tested in test_dropout_warning_is_torchs
        reference, twin = make_pair(config["kind"], config["input_size"], config["hidden_size"], seed=seed,
                                    dtype=torch.float64, **kw)
    for (name, p_ref), (name_twin, p_twin) in zip(reference.named_parameters(), twin.named_parameters(), strict=True):
        assert name == name_twin and torch.equal(p_ref, p_twin), f"different init of {name}"
    twin.load_state_dict(reference.state_dict())
    reference.train(config["training"])
    twin.train(config["training"])

    rng = torch.Generator().manual_seed(seed)
    L, N = config["seq_len"], config["batch"]
    lengths = sorted(torch.randint(1, L + 1, (N,), generator=rng).tolist(), reverse=True)
    lengths[0] = L
    if config["form"] == "packed_unsorted":
        random.Random(seed).shuffle(lengths)
    shape = (N, L, config["input_size"]) if kw["batch_first"] else (L, N, config["input_size"])
    x = torch.randn(shape, generator=rng, dtype=torch.float64, requires_grad=True)
    states, hx = [], None
    if config["with_state"]:
        directions_layers = kw["num_layers"] * (2 if kw["bidirectional"] else 1)
        sizes = [kw.get("proj_size") or config["hidden_size"]]  # h, then c for an LSTM
        sizes += [config["hidden_size"]] if config["kind"] == "LSTM" else []
        batch = () if config["form"] == "unbatched" else (N,)
        states = [torch.randn(directions_layers, *batch, size, generator=rng, dtype=torch.float64,
                              requires_grad=True) for size in sizes]
        hx = tuple(states) if config["kind"] == "LSTM" else states[0]

    results = {}
    for name, module in (("torch", reference), ("twin", twin)):
        torch.default_generator.manual_seed(seed)  # the same dropout masks, if the twin draws them like torch
        outputs = tensors_of(*module(make_input(config, x, lengths), hx))
        loss = sum((o * torch.linspace(-1, 2, o.numel(), dtype=o.dtype).view_as(o)).sum()
                   for o in outputs if o.is_floating_point())
        results[name] = outputs + list(torch.autograd.grad(loss, [x, *states, *module.parameters()]))
    return largest_difference(results["torch"], results["twin"])


def test_layers_match_torch_on_a_random_sweep():
    configs = sweep_configs()
    largest = max(compare_layers(config, seed) for seed, config in enumerate(configs))
    print(f"\nlayer sweep: {len(configs)} configurations, largest absolute difference {largest:.3e}")
    assert len(configs) >= 300
    assert largest < 1e-9
    drawn = {(c["kind"], key, str(c["kwargs"].get(key))) for c in configs for key in
             ("num_layers", "bias", "batch_first", "bidirectional", "nonlinearity", "proj_size", "dropout")}
    for kind, key, value in [("RNN", "nonlinearity", "relu"), ("LSTM", "proj_size", "1"), ("GRU", "dropout", "1.0"),
                             ("LSTM", "num_layers", "3"), ("GRU", "bias", "False"), ("RNN", "batch_first", "True")]:
        assert (kind, key, value) in drawn, f"the sweep never drew {kind} with {key}={value}"


@pytest.mark.parametrize("kind, kwargs, form", [
    ("RNN", {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu"}, "padded"),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}, "packed"),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}, "packed"),
])
def test_gradcheck(kind, kwargs, form):
    """Autograd's gradients against finite differences, for input and every parameter; fast_mode compares
    v^T J u for random u and v (the full Jacobian is checked for the cells, and the sweep checks every
    gradient against torch's)."""
    torch.manual_seed(0)
    layer = getattr(recurrent_lib, kind)(2, 3, dtype=torch.float64, **kwargs)
    names = [name for name, _ in layer.named_parameters()]
    x = torch.randn(3, 3, 2, dtype=torch.float64, requires_grad=True)
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]

    def run(x, *params):
        inputs = x if form == "padded" else pack_padded_sequence(x, torch.tensor([2, 3, 1]), enforce_sorted=False,
                                                                 batch_first=layer.batch_first)
        output, state = functional_call(layer, dict(zip(names, params)), (inputs,))
        return tensors_of(output, state)[0], *(state if isinstance(state, tuple) else (state,))

    assert torch.autograd.gradcheck(run, (x, *params), fast_mode=True)


CONSTRUCTIONS = [
    ("RNN", (57, 64), {}), ("LSTM", (57, 64), {}), ("GRU", (57, 64), {}),
    ("RNN", (3, 4, 2, "relu", False, True, 0.5, True), {}),
    ("LSTM", (3, 4, 3), {"bias": False, "batch_first": True, "dropout": 0.25, "bidirectional": True, "proj_size": 2}),
    ("GRU", (3, 4), {"num_layers": 2, "dropout": 1.0, "bidirectional": True}),
    ("LSTM", (3, 4), {"proj_size": 3, "bidirectional": True}),
]


@pytest.mark.parametrize("kind, args, kwargs", CONSTRUCTIONS)
def test_same_init_names_shapes_and_repr(kind, args, kwargs):
    torch.manual_seed(7)
    reference = getattr(nn, kind)(*args, **kwargs)
    torch.manual_seed(7)
    twin = getattr(recurrent_lib, kind)(*args, **kwargs)
    assert repr(twin) == repr(reference)
    assert list(twin.state_dict()) == list(reference.state_dict())
    for (name, p_ref), (name_twin, p_twin) in zip(reference.named_parameters(), twin.named_parameters(), strict=True):
        assert name == name_twin and p_twin.shape == p_ref.shape and p_twin.dtype == torch.float32
        assert torch.equal(p_twin, p_ref), name


def test_print_shows_torchs_repr():
    assert str(recurrent_lib.LSTM(57, 64)) == "LSTM(57, 64)"


@pytest.mark.parametrize("kind, args, kwargs", CONSTRUCTIONS)
def test_state_dict_loads_both_ways(kind, args, kwargs):
    reference, twin = make_pair(kind, *args, seed=1, **kwargs)
    torch_seed_2, twin_seed_3 = make_pair(kind, *args, seed=2, **kwargs)[0], make_pair(kind, *args, seed=3, **kwargs)[1]
    twin.load_state_dict(torch_seed_2.state_dict())
    reference.load_state_dict(twin_seed_3.state_dict())
    for key in reference.state_dict():
        assert torch.equal(twin.state_dict()[key], torch_seed_2.state_dict()[key]), key
        assert torch.equal(reference.state_dict()[key], twin_seed_3.state_dict()[key]), key


@pytest.mark.parametrize("kind", KINDS)
def test_default_float32_matches_torch(kind):
    reference, twin = make_pair(kind, 4, 6, num_layers=2, bidirectional=True)
    x = torch.randn(5, 3, 4)
    for a, b in zip(tensors_of(*reference(x)), tensors_of(*twin(x)), strict=True):
        assert b.dtype == torch.float32
        torch.testing.assert_close(b, a)


def run_both(reference: nn.Module, twin: nn.Module, *args, seed: int = 0) -> list[list[torch.Tensor]]:
    results = []
    for module in (reference, twin):
        torch.default_generator.manual_seed(seed)
        results.append(tensors_of(*module(*args)))
    return results


EDGE_CASES = {
    "hidden state for unbatched input": ("GRU", {"num_layers": 2}, lambda: (randn(4, 3), randn(2, 5))),
    "unbatched input ignores batch_first": ("RNN", {"batch_first": True, "bidirectional": True},
                                            lambda: (randn(4, 3), randn(2, 5))),
    "LSTM unbatched with (h, c)": ("LSTM", {"proj_size": 2}, lambda: (randn(4, 3), (randn(1, 2), randn(1, 5)))),
    "LSTM state given as a list": ("LSTM", {}, lambda: (randn(4, 2, 3), [randn(1, 2, 5), randn(1, 2, 5)])),
    "batch of one": ("LSTM", {"num_layers": 2}, lambda: (randn(4, 1, 3),)),
    "sequence of length one": ("GRU", {"bidirectional": True}, lambda: (randn(1, 3, 3),)),
    "empty batch": ("RNN", {}, lambda: (randn(4, 0, 3),)),
    "projection, bidirectional, three layers": ("LSTM", {"num_layers": 3, "bidirectional": True, "proj_size": 3},
                                                lambda: (randn(6, 2, 3),)),
    "packed and batch_first": ("GRU", {"batch_first": True, "bidirectional": True},
                               lambda: (pack_padded_sequence(randn(3, 6, 3), torch.tensor([2, 6, 4]), batch_first=True,
                                                             enforce_sorted=False), randn(2, 3, 5))),
    "packed, all lengths one": ("LSTM", {"bidirectional": True},
                                lambda: (pack_padded_sequence(randn(1, 3, 3), torch.tensor([1, 1, 1])),)),
    "packed, one sequence": ("RNN", {"num_layers": 2},
                             lambda: (pack_padded_sequence(randn(5, 1, 3), torch.tensor([5])),)),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_match_torch(case):
    kind, kwargs, make_args = EDGE_CASES[case]
    reference, twin = make_pair(kind, 3, 5, dtype=torch.float64, **kwargs)
    theirs, ours = run_both(reference, twin, *make_args())
    for a, b in zip(theirs, ours, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, **TOL)


def test_packed_output_keeps_torchs_packing_and_batch_order():
    reference, twin = make_pair("LSTM", 3, 4, bidirectional=True)
    packed = pack_padded_sequence(torch.randn(5, 3, 3), torch.tensor([2, 5, 3]), enforce_sorted=False)
    (out_ref, (h_ref, c_ref)), (out_twin, (h_twin, c_twin)) = reference(packed), twin(packed)
    assert isinstance(out_twin, PackedSequence)
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert torch.equal(getattr(out_twin, field), getattr(out_ref, field)), field
    torch.testing.assert_close(h_twin, h_ref)
    torch.testing.assert_close(c_twin, c_ref)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_sequences_are_run_as_if_alone(kind):
    """In a packed batch, each sequence's output and final state are those of the sequence run on its own:
    its state stops at its last step, and the reverse direction starts from its own last element."""
    torch.manual_seed(0)
    layer = getattr(recurrent_lib, kind)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    lengths = [2, 5, 3]
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    output, state = layer(pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False))
    padded, _ = pad_packed_sequence(output)
    for b, length in enumerate(lengths):
        alone_output, alone_state = layer(x[:length, b])
        torch.testing.assert_close(padded[:length, b], alone_output, **TOL)
        for s, s_alone in zip(states_of(state), states_of(alone_state), strict=True):
            torch.testing.assert_close(s[:, b], s_alone, **TOL)


def test_gradient_flows_to_input_alone():
    reference, twin = make_pair("GRU", 3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    for module in (reference, twin):
        module.requires_grad_(False)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    grads = [torch.autograd.grad(module(x)[0].sum(), x)[0] for module in (reference, twin)]
    torch.testing.assert_close(grads[1], grads[0], **TOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", ["padded", "packed", "batch_first"])
def test_dropout_masks_are_torchs(kind, form):
    """In training mode the twin draws the same dropout masks as torch's CPU implementation, so outputs,
    states and gradients are equal, for every seed; a different seed gives different outputs."""
    reference, twin = make_pair(kind, 3, 8, num_layers=3, dropout=0.5, bidirectional=True,
                                batch_first=form == "batch_first", dtype=torch.float64)
    x = randn(2, 7, 3) if form == "batch_first" else randn(7, 2, 3)
    inputs = pack_padded_sequence(x, torch.tensor([4, 7]), enforce_sorted=False) if form == "packed" else x
    output_of_seed = {}
    for seed in (0, 1):
        theirs, ours = run_both(reference, twin, inputs, seed=seed)
        for a, b in zip(theirs, ours, strict=True):
            torch.testing.assert_close(b, a, **TOL)
        output_of_seed[seed] = ours[0]
    assert not torch.allclose(output_of_seed[0], output_of_seed[1])


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_only_between_layers_and_only_in_training(kind):
    """p=1 zeroes every layer's output but the last: the output no longer depends on the input, yet it is not
    zero. In eval mode dropout is off: the result equals the same layer without dropout."""
    torch.manual_seed(0)
    layer = getattr(recurrent_lib, kind)(3, 4, num_layers=2, dropout=1.0)
    x = torch.randn(5, 2, 3)
    out_a, out_b = layer(x)[0], layer(torch.randn(5, 2, 3))[0]
    torch.testing.assert_close(out_a, out_b)
    assert out_a.abs().sum() > 0
    no_dropout = getattr(recurrent_lib, kind)(3, 4, num_layers=2)
    no_dropout.load_state_dict(layer.state_dict())
    layer.eval()
    torch.testing.assert_close(layer(x)[0], no_dropout(x)[0], rtol=0, atol=0)
    assert not torch.allclose(layer(x)[0], out_a)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_warning_is_torchs(kind):
    with pytest.warns(UserWarning) as caught_torch:
        getattr(nn, kind)(3, 4, dropout=0.2)
    with pytest.warns(UserWarning) as caught_twin:
        getattr(recurrent_lib, kind)(3, 4, dropout=0.2)
    assert [str(w.message) for w in caught_twin] == [str(w.message) for w in caught_torch]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(recurrent_lib, kind)(3, 4, num_layers=2, dropout=0.2)
        getattr(recurrent_lib, kind)(3, 4, dropout=0.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dropout", [-0.1, 1.5, True, "0.5"])
def test_dropout_out_of_range_raises_torchs_error(kind, dropout):
    with pytest.raises(ValueError) as from_torch:
        getattr(nn, kind)(3, 4, num_layers=2, dropout=dropout)
    with pytest.raises(ValueError) as from_twin:
        getattr(recurrent_lib, kind)(3, 4, num_layers=2, dropout=dropout)
    assert str(from_twin.value) == str(from_torch.value)


@pytest.mark.parametrize("kind", KINDS)
def test_runs_on_the_default_device(kind):
    """Parameters, zero initial states and dropout masks are made on the module's and input's device."""
    device = recurrent_lib.default_device()
    reference, twin = make_pair(kind, 3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, device=device)
    x = torch.randn(5, 2, 3, dtype=torch.float64, device=device)
    packed = pack_padded_sequence(x, torch.tensor([3, 5]), enforce_sorted=False)
    for inputs in (x, packed):
        for a, b in zip(tensors_of(*reference(inputs)), tensors_of(*twin(inputs)), strict=True):
            assert b.device == a.device
            torch.testing.assert_close(b, a, **TOL)
    twin.dropout = 0.5
    output, _ = twin(x)
    assert output.device.type == device.type


@pytest.mark.parametrize("kind", KINDS)
def test_every_tensor_is_made_on_the_inputs_device(kind):
    """On the 'meta' device (shapes without data) any tensor made on the CPU by mistake would fail to mix,
    so this checks on a CPU-only machine what a GPU run needs: zeros, dropout masks and indices follow the input."""
    layer = getattr(recurrent_lib, kind)(3, 4, num_layers=2, bidirectional=True, dropout=0.5, device="meta")
    x = torch.randn(5, 2, 3, device="meta")
    packed = pack_padded_sequence(x, torch.tensor([5, 3]), enforce_sorted=False)
    for inputs, output_shape in ((x, (5, 2, 8)), (x[:, 0], (5, 8)), (packed, (8, 8))):
        output, state = layer(inputs)
        output = output.data if isinstance(output, PackedSequence) else output
        assert output.device.type == "meta" and output.shape == output_shape
        assert all(s.device.type == "meta" for s in states_of(state))


@pytest.mark.parametrize("kind, args, kwargs", CONSTRUCTIONS)
def test_all_weights_and_flatten_parameters_as_torchs(kind, args, kwargs):
    reference, twin = make_pair(kind, *args, **kwargs)
    reference.flatten_parameters()
    twin.flatten_parameters()
    assert [[p.shape for p in ps] for ps in twin.all_weights] == [[p.shape for p in ps] for ps in reference.all_weights]
    for ours, theirs in zip(twin.all_weights, reference.all_weights, strict=True):
        for p, q in zip(ours, theirs, strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
