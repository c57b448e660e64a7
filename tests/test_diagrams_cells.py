"""The LSTM and GRU cell diagrams draw, and name every gate and the equations PyTorch computes."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from recurrent_lib.diagrams.cells import gru_cell, lstm_cell  # noqa: E402


def texts(fig: Figure) -> str:
    fig.canvas.draw()  # renders every label (a mathtext error would raise here)
    return "\n".join(t.get_text() for t in fig.findobj(Text))


@pytest.mark.parametrize("draw, names, equations", [
    (lstm_cell,
     ["input gate $i_t$", "forget gate $f_t$", "cell candidate $g_t$", "output gate $o_t$", "$c_{t-1}$", "$c_t$",
      "$h_{t-1}$", "$h_t$", "$x_t$", "rows H:2H", "i, f, g, o"],
     [r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$", r"$h_t = o_t \odot \tanh(c_t)$",
      r"\mathrm{diag}(f_t)"]),
    (gru_cell,
     ["reset gate $r_t$", "update gate $z_t$", "candidate $n_t$", "$W_{hn} h_{t-1} + b_{hn}$", "$W_{in} x_t + b_{in}$",
      "$h_{t-1}$", "$h_t$", "$x_t$", "1−", "r, z, n"],
     [r"r_t \odot (W_{hn} h_{t-1} + b_{hn})", r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$"]),
])
def test_cell_diagram_names_every_gate(draw, names, equations):
    fig = draw()
    try:
        assert isinstance(fig, Figure)
        drawn = texts(fig)
        for label in names + equations:
            assert label in drawn, label
    finally:
        plt.close(fig)


def test_gate_rows_follow_pytorchs_order():
    fig_lstm, fig_gru = lstm_cell(), gru_cell()
    try:
        lstm, gru = texts(fig_lstm), texts(fig_gru)
        for box in ("input gate $i_t$\n$\\sigma$, rows 0:H", "forget gate $f_t$\n$\\sigma$, rows H:2H",
                    "cell candidate $g_t$\n$\\tanh$, rows 2H:3H", "output gate $o_t$\n$\\sigma$, rows 3H:4H"):
            assert box in lstm, box
        assert "reset gate $r_t$\n$\\sigma$, rows 0:H" in gru and "update gate $z_t$\n$\\sigma$, rows H:2H" in gru
    finally:
        plt.close(fig_lstm)
        plt.close(fig_gru)
