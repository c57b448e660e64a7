"""Figures for training runs: loss/accuracy curves and confusion matrices.

Every function returns its ``matplotlib.figure.Figure`` (made with pyplot, so a notebook shows it
at the end of the cell: end the cell with ``;`` or ``plt.show()`` to show it once).
"""
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from recurrent_lib.train import History


def plot_history(history: History | Mapping[str, History], title: str = "") -> Figure:
    """Loss per epoch (and accuracy per epoch, when measured), train vs validation, epochs as integers.

    ``history``: one run's History, or several runs as ``{label: History}``, drawn on shared axes
    (one colour per run, train dashed, validation solid; lines labelled ``"<label> train"`` and
    ``"<label> validation"``), so that their curves can be compared directly.
    """
    runs = {"": history} if isinstance(history, History) else dict(history)
    if not runs:
        raise ValueError("expected a History or a non-empty {label: History} mapping, got an empty mapping")
    for label, run in runs.items():
        if not isinstance(run, History):
            raise TypeError(f"expected a History for run {label!r}, got {type(run).__name__}")
        if not (run.train_loss or run.val_loss):
            raise ValueError("expected a History with at least one epoch of losses, got an empty one"
                             + (f" for run {label!r}" if label else ""))
    panels = ["loss"]
    if any(run.train_acc or run.val_acc for run in runs.values()):
        panels.append("accuracy")
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), layout="constrained", squeeze=False)
    for ax, quantity in zip(axes[0], panels):
        for k, (label, run) in enumerate(runs.items()):
            curves = (run.train_loss, run.val_loss) if quantity == "loss" else (run.train_acc, run.val_acc)
            for values, split, marker, style in zip(curves, ("train", "validation"), "os", ("--", "-")):
                if not values:
                    continue
                if label:  # several runs: a colour per run, a line style per split
                    ax.plot(range(1, len(values) + 1), values, marker=marker, markersize=3, color=f"C{k}",
                            linestyle=style, label=f"{label} {split}")
                else:
                    ax.plot(range(1, len(values) + 1), values, marker=marker, markersize=3, label=split)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(quantity)
        ax.set_title(quantity)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(targets: Tensor, predictions: Tensor, n_classes: int) -> Tensor:
    """Counts (n_classes, n_classes): entry [i, j] = how many examples of true class i were predicted j.

    targets, predictions: (N,) integer class indices in [0, n_classes).
    """
    targets, predictions = torch.as_tensor(targets).cpu(), torch.as_tensor(predictions).cpu()
    if targets.shape != predictions.shape or targets.dim() != 1:
        raise ValueError(
            "expected targets and predictions of the same shape (N,), got "
            f"{tuple(targets.shape)} and {tuple(predictions.shape)}"
        )
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.is_floating_point():
            raise ValueError(f"expected {name} to be integer class indices, got dtype {values.dtype}")
        outside = ((values < 0) | (values >= n_classes)).nonzero()
        if len(outside):
            i = int(outside[0])
            raise ValueError(f"expected {name} in [0, {n_classes}), got {int(values[i])} at position {i}")
    flat = targets.long() * n_classes + predictions.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def plot_confusion(matrix: Tensor, labels: Sequence[str], title: str = "", *, ax: Axes | None = None,
                   show_counts: bool = False) -> Figure:
    """Heatmap of a confusion matrix with every row normalised to sum to 1 (the fraction of each
    true class given to each predicted class; a row without examples stays 0). Cells of at least
    0.1 are written out.

    ``ax``: draw into these axes (e.g. one panel of a side-by-side figure) instead of a new figure;
    the returned Figure is then the one that holds ``ax``. ``show_counts``: write each row's number
    of examples into its label (``"English (n=46)"``), so that a fraction can be read as a count.
    """
    matrix = torch.as_tensor(matrix).cpu()
    n = len(labels)
    if matrix.shape != (n, n):
        raise ValueError(f"expected a square matrix of shape ({n}, {n}) for {n} labels, got {tuple(matrix.shape)}")
    totals = matrix.sum(dim=1, keepdim=True).double()
    fractions = (matrix.double() / totals.clamp(min=1)).numpy()

    if ax is None:
        size = max(4.0, 0.38 * n + 1.5)
        fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    else:
        fig = ax.figure
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="fraction of the true class")
    row_labels = [f"{label} (n={int(total)})" for label, total in zip(labels, totals[:, 0])] if show_counts else labels
    ax.set_xticks(range(n), labels, rotation=90, fontsize=9)
    ax.set_yticks(range(n), row_labels, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if fractions[i, j] >= 0.1:
                color = "white" if fractions[i, j] > 0.5 else "black"
                ax.text(j, i, f"{fractions[i, j]:.1f}", ha="center", va="center", fontsize=7, color=color)
    if title:
        ax.set_title(title)
    return fig
