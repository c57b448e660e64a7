"""benchmarks/lstm_speed.py runs on tiny sizes and reports every form against nn.LSTM (no timing asserts)."""
import importlib.util
from pathlib import Path

import torch

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "lstm_speed.py"


def load():
    spec = importlib.util.spec_from_file_location("lstm_speed", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_every_form_with_its_ratio(capsys) -> None:
    threads = torch.get_num_threads()
    try:
        medians = load().main(["--quick"])
    finally:
        torch.set_num_threads(threads)
    names = ["per-gate (seed's MyLSTM)", "fused (.chunk(4))", "fused + input projection first",
             "recurrent_lib.LSTM", "nn.LSTM"]
    assert list(medians) == names and all(seconds > 0 for seconds in medians.values())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("LSTM forward + backward, T=5, B=3, I=4, H=6, 1 CPU thread(s)")
    assert [line.split("  ")[0].strip() for line in lines[1:]] == names
    assert lines[-1].endswith("1.00 x nn.LSTM")
