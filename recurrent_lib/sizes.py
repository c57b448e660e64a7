"""How many numbers an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` learns, from its constructor arguments alone.

Every layer and direction holds, for ``gates`` blocks of ``hidden_size`` rows (RNN 1, GRU 3: r, z, n,
LSTM 4: i, f, g, o)::

    weight_ih  (gates * hidden_size, layer_input)      layer_input = input_size in layer 0,
    weight_hh  (gates * hidden_size, h_out)                          directions * h_out after it
    bias_ih, bias_hh  (gates * hidden_size,) each      (with bias=True)
    weight_hr  (proj_size, hidden_size)                (LSTM with proj_size > 0 only)

where ``h_out = proj_size or hidden_size`` is the size of the state the layer passes on. So for the same
sizes a GRU has exactly 3/4 of an LSTM's parameters (without projection) and 3 times an RNN's.
"""
GATES: dict[str, int] = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _check_size(name: str, value: object, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"expected {name} to be an integer >= {least}, got {value!r}")


def count_parameters(mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                     bidirectional: bool = False, proj_size: int = 0) -> int:
    """``sum(p.numel() for p in nn.<mode>(input_size, hidden_size, num_layers, bias=bias,
    bidirectional=bidirectional, proj_size=proj_size).parameters())``, computed from the shapes.

    mode: "RNN", "GRU" or "LSTM"; proj_size (LSTM only) must be smaller than hidden_size.
    """
    if mode not in GATES:
        raise ValueError(f"expected mode 'RNN', 'GRU' or 'LSTM', got {mode!r}")
    for name, value, least in (("input_size", input_size, 1), ("hidden_size", hidden_size, 1),
                               ("num_layers", num_layers, 1), ("proj_size", proj_size, 0)):
        _check_size(name, value, least)
    if proj_size and mode != "LSTM":
        raise ValueError(f"proj_size is only supported for LSTM, got proj_size={proj_size} for {mode}")
    if proj_size >= hidden_size:
        raise ValueError(f"expected proj_size < hidden_size={hidden_size}, got {proj_size}")
    rows, directions = GATES[mode] * hidden_size, 2 if bidirectional else 1
    h_out = proj_size or hidden_size
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * h_out
        per_direction = rows * layer_input + rows * h_out + (2 * rows if bias else 0) + proj_size * hidden_size
        total += directions * per_direction
    return total
