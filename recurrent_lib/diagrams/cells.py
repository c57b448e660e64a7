"""The LSTM and GRU cells drawn as their equations read, in PyTorch's conventions.

- :func:`lstm_cell`: gates i, f, g, o (stacked in that order in ``weight_ih``/``weight_hh``), the additive
  cell path ``c_{t-1} -> x f_t -> + i_t * g_t -> c_t`` across the top, ``h_t = o_t * tanh(c_t)``.
- :func:`gru_cell`: gates r, z, n, the reset gate applied to ``W_hn h_{t-1} + b_hn`` (after the product,
  as ``nn.GRU`` does), and ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}`` across the top.

Each function returns a ``matplotlib.figure.Figure`` made with pyplot (a notebook shows it at the end of
the cell; end the cell with ``plt.show()`` to show it once). The equations under each drawing are the
ones ``recurrent_lib.cells`` computes.
"""
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

Point = tuple[float, float]

GATE_COLOUR, LINEAR_COLOUR, OP_COLOUR, PATH_COLOUR = "#fde7c8", "#dde9f7", "#ffffff", "#b03a2e"
BOX_W, BOX_H, OP_R = 1.45, 0.8, 0.28


def _canvas(title: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(11, 8.4))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95)
    ax.set_xlim(-0.6, 12.4)
    ax.set_ylim(-2.9, 7.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=12)
    return fig, ax


def _box(ax: Axes, centre: Point, text: str, colour: str = GATE_COLOUR, width: float = BOX_W) -> None:
    x, y = centre
    ax.add_patch(FancyBboxPatch((x - width / 2, y - BOX_H / 2), width, BOX_H, boxstyle="round,pad=0.04",
                                facecolor=colour, edgecolor="black", linewidth=1, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4)


def _op(ax: Axes, centre: Point, symbol: str) -> None:
    ax.add_patch(Circle(centre, OP_R, facecolor=OP_COLOUR, edgecolor="black", linewidth=1, zorder=3))
    ax.text(*centre, symbol, ha="center", va="center", fontsize=10 if len(symbol) == 1 else 7, zorder=4)


def _path(ax: Axes, points: list[Point], colour: str = "black", width: float = 1.2, arrow: bool = True) -> None:
    """A polyline through ``points``, with an arrow head on its last segment."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1], ys[:-1], color=colour, linewidth=width, zorder=1, solid_capstyle="round")
    style = "-|>" if arrow else "-"
    ax.annotate("", xy=points[-1], xytext=points[-2], zorder=2,
                arrowprops={"arrowstyle": style, "color": colour, "linewidth": width, "shrinkA": 0, "shrinkB": 0,
                            "mutation_scale": 10})


def _dot(ax: Axes, point: Point) -> None:
    ax.plot(*point, "o", color="black", markersize=3.5, zorder=2)


def _inputs(ax: Axes, h_label: str, bus_end: float, bus_start: float = -0.15) -> None:
    """h_{t-1} entering at the left on the line y = 1.3 and x_t from below on y = 0.6."""
    ax.text(bus_start - 0.05, 1.3, h_label, ha="right", va="center", fontsize=10)
    ax.plot([bus_start, bus_end], [1.3, 1.3], color="black", linewidth=1.2, zorder=1)
    ax.text(1.0, -0.25, "$x_t$", ha="center", va="top", fontsize=10)
    ax.plot([1.0, 1.0, bus_end], [-0.2, 0.6, 0.6], color="black", linewidth=1.2, zorder=1)


def _fed_by(ax: Axes, x: float, *, from_h: bool = True, from_x: bool = True) -> None:
    """Arrows into the bottom of the box centred at (x, 2.6) from the h_{t-1} and x_t lines."""
    for wanted, y, dx in ((from_x, 0.6, -0.25), (from_h, 1.3, 0.25)):
        if wanted:
            _dot(ax, (x + dx, y))
            _path(ax, [(x + dx, y), (x + dx, 2.6 - BOX_H / 2)])


def _equations(ax: Axes, lines: list[str]) -> None:
    for k, line in enumerate(lines):
        ax.text(-0.4, -0.8 - 0.5 * k, line, ha="left", va="center", fontsize=10)


def lstm_cell() -> Figure:
    """One LSTM step, ``nn.LSTM``'s equations: gates i, f, g, o from ``[x_t, h_{t-1}]``, the cell path
    ``c_t = f_t * c_{t-1} + i_t * g_t`` (top, in red: no weight matrix on it) and ``h_t = o_t * tanh(c_t)``."""
    fig, ax = _canvas("LSTM cell (PyTorch's nn.LSTM): gates i, f, g, o")
    top, mix, out = 6.5, 4.4, 3.9
    gates = {"i": 4.0, "f": 2.0, "g": 6.0, "o": 8.0}
    # the cell path c_{t-1} -> x f_t -> + i_t g_t -> c_t
    ax.text(-0.2, top, "$c_{t-1}$", ha="right", va="center", fontsize=10, color=PATH_COLOUR)
    _path(ax, [(-0.15, top), (gates["f"] - OP_R, top)], PATH_COLOUR, 2.2)
    _op(ax, (gates["f"], top), "×")
    _path(ax, [(gates["f"] + OP_R, top), (5.0 - OP_R, top)], PATH_COLOUR, 2.2)
    _op(ax, (5.0, top), "+")
    _path(ax, [(5.0 + OP_R, top), (11.6, top)], PATH_COLOUR, 2.2)
    ax.text(11.7, top, "$c_t$", ha="left", va="center", fontsize=10, color=PATH_COLOUR)
    ax.text(8.2, top + 0.35, r"$\partial c_t / \partial c_{t-1} = \mathrm{diag}(f_t)$", ha="center", fontsize=8,
            color=PATH_COLOUR)
    # the gates, fed by x_t and h_{t-1}
    _inputs(ax, "$h_{t-1}$", gates["o"] + 0.25)
    names = {"i": ("input gate $i_t$", r"$\sigma$, rows 0:H"), "f": ("forget gate $f_t$", r"$\sigma$, rows H:2H"),
             "g": ("cell candidate $g_t$", r"$\tanh$, rows 2H:3H"), "o": ("output gate $o_t$", r"$\sigma$, rows 3H:4H")}
    for gate, x in gates.items():
        _box(ax, (x, 2.6), "\n".join(names[gate]), width=1.85)
        _fed_by(ax, x)
    # f_t scales c_{t-1}; i_t * g_t is added
    _path(ax, [(gates["f"], 3.0), (gates["f"], top - OP_R)])
    _op(ax, (5.0, mix), "×")
    _path(ax, [(gates["i"], 3.0), (gates["i"], mix), (5.0 - OP_R, mix)])
    _path(ax, [(gates["g"], 3.0), (gates["g"], mix), (5.0 + OP_R, mix)])
    _path(ax, [(5.0, mix + OP_R), (5.0, top - OP_R)])
    # h_t = o_t * tanh(c_t)
    _dot(ax, (10.2, top))
    _op(ax, (10.2, 5.2), "tanh")
    _path(ax, [(10.2, top), (10.2, 5.2 + OP_R)])
    _op(ax, (10.2, out), "×")
    _path(ax, [(10.2, 5.2 - OP_R), (10.2, out + OP_R)])
    _path(ax, [(gates["o"], 3.0), (gates["o"], out), (10.2 - OP_R, out)])
    _path(ax, [(10.2 + OP_R, out), (11.6, out)])
    ax.text(11.7, out, "$h_t$", ha="left", va="center", fontsize=10)
    _equations(ax, [
        r"$i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})$      "
        r"$f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})$",
        r"$g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})$      "
        r"$o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})$",
        r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$      $h_t = o_t \odot \tanh(c_t)$",
        "weight_ih = [W_ii; W_if; W_ig; W_io]: the rows stacked i, f, g, o, H rows each (likewise weight_hh, "
        "the biases)",
    ])
    return fig


def gru_cell() -> Figure:
    """One GRU step, ``nn.GRU``'s equations: gates r, z from ``[x_t, h_{t-1}]``; the candidate
    ``n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))`` (the reset gate after the product); and
    ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}`` (top, in red)."""
    fig, ax = _canvas("GRU cell (PyTorch's nn.GRU): gates r, z, n")
    top, blend, mid = 6.5, 5.2, 3.9
    z_x, r_x, hn_x, in_x, n_x, keep_x, out_x = 2.0, 4.0, 6.0, 8.0, 10.0, 7.0, 10.0
    # the top path h_{t-1} -> x z_t -> + (1 - z_t) n_t -> h_t
    ax.text(-0.2, top, "$h_{t-1}$", ha="right", va="center", fontsize=10, color=PATH_COLOUR)
    _path(ax, [(-0.15, top), (keep_x - OP_R, top)], PATH_COLOUR, 2.2)
    _op(ax, (keep_x, top), "×")
    _path(ax, [(keep_x + OP_R, top), (out_x - OP_R, top)], PATH_COLOUR, 2.2)
    _op(ax, (out_x, top), "+")
    _path(ax, [(out_x + OP_R, top), (11.6, top)], PATH_COLOUR, 2.2)
    ax.text(11.7, top, "$h_t$", ha="left", va="center", fontsize=10, color=PATH_COLOUR)
    # h_{t-1} also feeds the gates: down the left edge onto the h line
    _dot(ax, (0.3, top))
    ax.plot([0.3, 0.3], [top, 1.3], color="black", linewidth=1.2, zorder=1)
    _inputs(ax, "", in_x + 0.25, bus_start=0.3)
    # the gates and the two linear parts of the candidate
    _box(ax, (z_x, 2.6), "update gate $z_t$\n" + r"$\sigma$, rows H:2H", width=1.8)
    _box(ax, (r_x, 2.6), "reset gate $r_t$\n" + r"$\sigma$, rows 0:H", width=1.8)
    _box(ax, (hn_x, 2.6), "$W_{hn} h_{t-1} + b_{hn}$\nrows 2H:3H", LINEAR_COLOUR, width=1.85)
    _box(ax, (in_x, 2.6), "$W_{in} x_t + b_{in}$\nrows 2H:3H", LINEAR_COLOUR, width=1.7)
    _fed_by(ax, z_x)
    _fed_by(ax, r_x)
    _fed_by(ax, hn_x, from_x=False)
    _fed_by(ax, in_x, from_h=False)
    # the reset gate scales W_hn h + b_hn; then + W_in x + b_in, tanh: the candidate n_t
    _op(ax, (hn_x, mid), "×")
    _path(ax, [(hn_x, 3.0), (hn_x, mid - OP_R)])
    _path(ax, [(r_x, 3.0), (r_x, mid), (hn_x - OP_R, mid)])
    _op(ax, (in_x, mid), "+")
    _path(ax, [(hn_x + OP_R, mid), (in_x - OP_R, mid)])
    _path(ax, [(in_x, 3.0), (in_x, mid - OP_R)])
    _box(ax, (n_x, mid), "candidate $n_t$\n" + r"$\tanh$", width=1.5)
    _path(ax, [(in_x + OP_R, mid), (n_x - 0.75, mid)])
    # z_t keeps h_{t-1}; 1 - z_t lets n_t in
    _path(ax, [(z_x, 3.0), (z_x, blend), (keep_x, blend), (keep_x, top - OP_R)])
    _dot(ax, (keep_x, blend))
    _op(ax, (8.5, blend), "1−")
    _path(ax, [(keep_x, blend), (8.5 - OP_R, blend)])
    _op(ax, (n_x, blend), "×")
    _path(ax, [(8.5 + OP_R, blend), (n_x - OP_R, blend)])
    _path(ax, [(n_x, mid + BOX_H / 2), (n_x, blend - OP_R)])
    _path(ax, [(n_x, blend + OP_R), (n_x, top - OP_R)])
    _equations(ax, [
        r"$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$      "
        r"$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$",
        r"$n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$",
        r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$",
        "weight_ih = [W_ir; W_iz; W_in]: the rows stacked r, z, n, H rows each (likewise weight_hh, the biases)",
    ])
    return fig
