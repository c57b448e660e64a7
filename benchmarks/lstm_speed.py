"""How fast can a readable LSTM be? Forward + backward of one sequence batch, the same weights, five ways.

    python benchmarks/lstm_speed.py            # T=50, B=64, I=64, H=128, one CPU thread
    python benchmarks/lstm_speed.py --quick    # tiny sizes, a few repeats: checks that it runs
    python benchmarks/lstm_speed.py --device cuda

The forms (``recurrent_lib.lstm_forms`` and the library's twin), all checked equal to ``nn.LSTM``
before timing:

- per-gate:     the study notes' MyLSTM cell, four ``nn.Linear`` over [x_t; h_{t-1}] per step;
- fused:        one (4H, I) and one (4H, H) weight for all gates, ``.chunk(4)``, per step;
- preprojected: fused, with the input projection W_ih x_t + b_ih of all steps in one matmul before the loop;
- recurrent_lib.LSTM: the library's twin of nn.LSTM (whole layers, packing, directions);
- nn.LSTM:      PyTorch's own (on the CPU a C++ loop over the steps; on a GPU cuDNN).

Each form runs ``--repeats`` times in turn (interleaved, so a busy machine slows them all alike);
the median time of each is printed with its ratio to nn.LSTM's median.
"""
import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from recurrent_lib import LSTM
from recurrent_lib.lstm_forms import MyLSTM, lstm_fused, lstm_fused_preprojected, lstm_per_gate, per_gate_to_lstm

Forward = Callable[[Tensor], Tensor]


def forms(my: MyLSTM, lstm: nn.LSTM, twin: nn.Module, h0: Tensor, c0: Tensor) -> dict[str, Forward]:
    """name -> function x (T, B, I) -> output (T, B, H), every one with the weights of ``my``."""
    w = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    state = (h0[None], c0[None])
    return {
        "per-gate (seed's MyLSTM)": lambda x: lstm_per_gate(my, x, h0, c0)[0],
        "fused (.chunk(4))": lambda x: lstm_fused(x, h0, c0, *w)[0],
        "fused + input projection first": lambda x: lstm_fused_preprojected(x, h0, c0, *w)[0],
        "recurrent_lib.LSTM": lambda x: twin(x, state)[0],
        "nn.LSTM": lambda x: lstm(x, state)[0],
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_once(forward: Forward, x: Tensor, params: list[Tensor]) -> float:
    """Seconds for forward + backward of sum(output) (GPU work finished); gradients are cleared first."""
    for p in params:
        p.grad = None
    synchronize(x.device)
    start = time.perf_counter()
    forward(x).sum().backward()
    synchronize(x.device)
    return time.perf_counter() - start


def run(T: int, B: int, I: int, H: int, repeats: int, seed: int = 0,  # noqa: E741
        device: torch.device | str = "cpu") -> dict[str, float]:
    """Median seconds of forward + backward per form (see the module docstring), after checking equality."""
    device = torch.device(device)
    torch.manual_seed(seed)
    my = MyLSTM(I, H, output_size=1)
    lstm, twin = nn.LSTM(I, H), LSTM(I, H)
    lstm.load_state_dict(per_gate_to_lstm(my))
    twin.load_state_dict(lstm.state_dict())
    my, lstm, twin = my.to(device), lstm.to(device), twin.to(device)
    generator = torch.Generator().manual_seed(seed)  # data drawn on the CPU: the same numbers on any device
    x = torch.randn(T, B, I, generator=generator).to(device)
    h0, c0 = torch.randn(2, B, H, generator=generator).to(device).unbind(0)
    params = [*my.parameters(), *lstm.parameters(), *twin.parameters()]
    candidates = forms(my, lstm, twin, h0, c0)
    with torch.no_grad():
        expected = candidates["nn.LSTM"](x)
        for name, forward in candidates.items():
            torch.testing.assert_close(forward(x), expected, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")
    for forward in candidates.values():  # warm-up
        time_once(forward, x, params)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, forward in candidates.items():
            times[name].append(time_once(forward, x, params))
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def report(medians: dict[str, float]) -> str:
    """One line per form: median milliseconds and the ratio to nn.LSTM."""
    base = medians["nn.LSTM"]
    return "\n".join(f"{name:<32} {1000 * seconds:8.2f} ms   {seconds / base:5.2f} x nn.LSTM"
                     for name, seconds in medians.items())


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=50, help="sequence length (default 50)")
    parser.add_argument("--B", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--I", type=int, default=64, help="input size (default 64)")
    parser.add_argument("--H", type=int, default=128, help="hidden size (default 128)")
    parser.add_argument("--repeats", type=int, default=21, help="timed runs of each form (default 21)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 3 repeats: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.T, args.B, args.I, args.H, args.repeats = 5, 3, 4, 6, 3
    torch.set_num_threads(args.threads)
    if args.device == "cuda":  # plain float32, as on the CPU, so that the forms can be checked equal
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    medians = run(args.T, args.B, args.I, args.H, args.repeats, device=args.device)
    where = f"{args.threads} CPU thread(s)" if args.device == "cpu" else torch.cuda.get_device_name(args.device)
    print(f"LSTM forward + backward, T={args.T}, B={args.B}, I={args.I}, H={args.H}, {where}, "
          f"median of {args.repeats}, torch {torch.__version__}")
    print(report(medians))
    return medians


if __name__ == "__main__":
    main()
