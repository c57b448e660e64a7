"""Figures for training runs: loss/accuracy curves and confusion matrices.

Every function returns its ``matplotlib.figure.Figure`` (made with pyplot, so a notebook shows it
at the end of the cell: end the cell with ``;`` or ``plt.show()`` to show it once).
"""
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from recurrent_lib.train import History


def plot_history(history: History, title: str = "") -> Figure:
    """Loss per epoch (and accuracy per epoch, when measured), train vs validation."""
    if not (history.train_loss or history.val_loss):
        raise ValueError("expected a History with at least one epoch of losses, got an empty one")
    panels = [("loss", history.train_loss, history.val_loss)]
    if history.train_acc or history.val_acc:
        panels.append(("accuracy", history.train_acc, history.val_acc))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), layout="constrained", squeeze=False)
    for ax, (quantity, train, val) in zip(axes[0], panels):
        for values, split, marker in ((train, "train", "o"), (val, "validation", "s")):
            if values:
                ax.plot(range(1, len(values) + 1), values, marker=marker, markersize=3, label=split)
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


def plot_confusion(matrix: Tensor, labels: Sequence[str], title: str = "") -> Figure:
    """Heatmap of a confusion matrix with every row normalised to sum to 1 (the fraction of each
    true class given to each predicted class; a row without examples stays 0). Cells of at least
    0.1 are written out."""
    matrix = torch.as_tensor(matrix).cpu()
    n = len(labels)
    if matrix.shape != (n, n):
        raise ValueError(f"expected a square matrix of shape ({n}, {n}) for {n} labels, got {tuple(matrix.shape)}")
    totals = matrix.sum(dim=1, keepdim=True).double()
    fractions = (matrix.double() / totals.clamp(min=1)).numpy()

    size = max(4.0, 0.38 * n + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="fraction of the true class")
    ax.set_xticks(range(n), labels, rotation=90, fontsize=9)
    ax.set_yticks(range(n), labels, fontsize=9)
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
