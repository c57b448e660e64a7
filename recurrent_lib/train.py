"""One small training loop, shared by every notebook: minibatches, a loss/accuracy history, evaluation.

The loop knows nothing about names or languages. A task is described by three things:

- ``items``: any sequence of examples (e.g. ``(name, label)`` pairs);
- ``collate(list_of_items) -> (inputs, targets)``: turns a minibatch of examples into tensors
  (``inputs`` may be a ``Tensor`` or a ``PackedSequence``);
- ``model(inputs) -> scores``, scored by ``loss_fn(scores, targets)``.

Accuracy is measured only when the targets are integer class labels (``scores.argmax(dim=1)``,
the class dimension of ``F.cross_entropy``); for a regression loss such as ``F.mse_loss`` the
accuracy lists stay empty.
"""
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence
from tqdm.std import tqdm

from recurrent_lib.runtime import default_device, progress_enabled

Collate = Callable[[list[Any]], tuple[Tensor | PackedSequence, Tensor]]
LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class History:
    """Per-epoch averages; ``train_*`` are running means over the epoch's minibatches (weighted by size).

    ``val_*`` stay empty without validation data, ``*_acc`` stay empty for non-class targets.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


@dataclass
class Evaluation:
    """Result of :func:`evaluate`. ``predictions`` (N,) are argmax classes for class targets, else the
    raw model outputs; ``accuracy`` is NaN for non-class targets. Tensors are on the CPU."""

    loss: float
    accuracy: float
    predictions: Tensor
    targets: Tensor


def is_class_labels(targets: Tensor) -> bool:
    """Whether ``targets`` hold integer class labels (so that accuracy means something)."""
    return not (targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool)


def _batches(items: Sequence[Any], order: Tensor, batch_size: int, collate: Collate) -> Iterator[tuple[Any, Tensor]]:
    for start in range(0, len(order), batch_size):
        yield collate([items[i] for i in order[start:start + batch_size].tolist()])


def _check_items(items: Sequence[Any], name: str) -> None:
    if len(items) == 0:
        raise ValueError(f"{name} is empty: expected at least one example")


def fit(
    model: nn.Module,
    train_items: Sequence[Any],
    val_items: Sequence[Any] | None = None,
    *,
    collate: Collate,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-2,
    optimizer: Literal["adam", "sgd"] = "adam",
    loss_fn: LossFn = F.cross_entropy,
    clip_grad_norm: float | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, History], bool | None] | None = None,
    on_batch_end: Callable[[int, float], bool | None] | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_items`` in shuffled minibatches.

    Each step: ``loss_fn(model(inputs), targets)``, backward, optional clipping of the global
    gradient norm to ``clip_grad_norm``, then an Adam or plain SGD step with learning rate ``lr``.
    Shuffling uses a ``torch.Generator`` seeded with ``seed``, so two fits of identically
    initialised models give identical histories (seeding before building the model is the caller's
    job: ``recurrent_lib.seed_everything``). The model is moved to ``device`` (default
    ``recurrent_lib.default_device()``) and kept in train mode while it trains; with ``val_items``
    it is evaluated after every epoch (see :func:`evaluate`).

    Hooks, e.g. for early stopping or a per-step loss curve: ``on_batch_end(step, loss)`` runs after
    every optimizer step (``step`` counts from 1 across epochs, ``loss`` is the minibatch's loss);
    ``on_epoch_end(epoch, history)`` (epoch counts from 1) runs after each epoch's history is
    recorded. Either returning ``True`` stops training (a stopped epoch is recorded over the batches
    it ran). ``progress=None`` shows a text progress bar unless
    ``recurrent_lib.runtime.progress_enabled()`` is false.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
    _check_items(train_items, "train_items")
    if val_items is not None:
        _check_items(val_items, "val_items")

    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    make_optimizer = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = make_optimizer(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    n_batches = math.ceil(len(train_items) / batch_size)
    show = progress_enabled() if progress is None else progress
    step, stop = 0, False

    with tqdm(total=epochs * n_batches, unit="batch", disable=not show, dynamic_ncols=True) as bar:
        for epoch in range(1, epochs + 1):
            model.train()
            loss_sum, correct, seen, classes = 0.0, 0, 0, True
            order = torch.randperm(len(train_items), generator=generator)
            for inputs, targets in _batches(train_items, order, batch_size, collate):
                inputs, targets = inputs.to(device), targets.to(device)
                scores = model(inputs)
                loss = loss_fn(scores, targets)
                opt.zero_grad()
                loss.backward()
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                opt.step()

                size, batch_loss = len(targets), loss.item()
                loss_sum += batch_loss * size
                seen += size
                classes = classes and is_class_labels(targets)
                if classes:
                    correct += (scores.argmax(dim=1) == targets).sum().item()
                bar.update()
                bar.set_postfix(epoch=epoch, loss=f"{loss_sum / seen:.4f}", refresh=False)
                step += 1
                if on_batch_end is not None and on_batch_end(step, batch_loss):
                    stop = True
                    break

            history.train_loss.append(loss_sum / seen)
            if classes:
                history.train_acc.append(correct / seen)
            if val_items is not None:
                result = evaluate(model, val_items, collate=collate, loss_fn=loss_fn, device=device)
                history.val_loss.append(result.loss)
                if not math.isnan(result.accuracy):
                    history.val_acc.append(result.accuracy)
                bar.set_postfix(epoch=epoch, loss=f"{loss_sum / seen:.4f}", val_loss=f"{result.loss:.4f}")
            if stop or (on_epoch_end is not None and on_epoch_end(epoch, history)):
                break
    return history


def evaluate(
    model: nn.Module,
    items: Sequence[Any],
    *,
    collate: Collate,
    batch_size: int = 256,
    loss_fn: LossFn = F.cross_entropy,
    device: torch.device | str | None = None,
) -> Evaluation:
    """Score ``model`` on ``items`` in order, in eval mode and under ``torch.no_grad()``.

    ``loss`` is the mean of ``loss_fn`` over the minibatches weighted by their sizes (the mean over
    examples for a mean-reduced loss). The model's train/eval mode is restored afterwards.
    """
    _check_items(items, "items")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    was_training = model.training
    model.eval()
    loss_sum, all_scores, all_targets = 0.0, [], []
    with torch.no_grad():
        for inputs, targets in _batches(items, torch.arange(len(items)), batch_size, collate):
            inputs, targets = inputs.to(device), targets.to(device)
            scores = model(inputs)
            loss_sum += loss_fn(scores, targets).item() * len(targets)
            all_scores.append(scores.cpu())
            all_targets.append(targets.cpu())
    model.train(was_training)

    scores, targets = torch.cat(all_scores), torch.cat(all_targets)
    if is_class_labels(targets):
        predictions = scores.argmax(dim=1)
        accuracy = (predictions == targets).double().mean().item()
    else:
        predictions, accuracy = scores, math.nan
    return Evaluation(loss=loss_sum / len(targets), accuracy=accuracy, predictions=predictions, targets=targets)
