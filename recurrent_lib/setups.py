"""The long-range task set-up shared by lessons 05, 06 and 07, defined once.

Where a lesson says "as in lesson 05", it means :data:`TEMPORAL_ORDER`: the same task generator, sequence
length, sizes, training budget, "solved" threshold and gradient probe. A lesson that departs from it says
so and why. Change a value here and every lesson that imports it follows.
"""
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from recurrent_lib.tasks import TEMPORAL_CLASSES, TEMPORAL_SYMBOLS, as_items, temporal_order


@dataclass(frozen=True)
class LongRangeSetup:
    """One long-range classification task and how a model is trained and probed on it.

    Data: ``train_size`` training and ``val_size`` validation sequences of length ``T`` from
    ``recurrent_lib.tasks.<task>``; a run with seed ``s`` draws its training set with seed
    ``train_seed_offset + s`` and its validation set with ``val_seed_offset + s`` (disjoint seeds,
    so no sequence is shared by accident). Model: one recurrent layer of ``hidden_size`` units over
    ``input_size`` features, read out linearly to ``n_classes``. Training: Adam with learning rate
    ``lr``, the global gradient norm clipped at ``clip_grad_norm``, minibatches of ``batch_size``, at
    most ``max_epochs`` epochs (:attr:`max_steps` optimizer steps), stopping after the epoch whose
    training accuracy reaches ``stop_train_accuracy``. A run *solved* the task when its validation
    accuracy is at least ``solved_accuracy`` (chance is ``1 / n_classes``). The "forget-bias LSTM" of the
    lessons starts with its forget gate's bias at ``forget_bias`` (``recurrent_lib.gates.set_forget_bias``).

    Gradient probe (lesson 05 section 4, lesson 06): ‖∂L/∂s_t‖ over ``probe_batch`` sequences of
    length ``probe_T`` drawn with ``probe_seed``, through a freshly initialised layer of
    ``hidden_size`` units (:meth:`probe`).
    """

    task: str
    T: int
    input_size: int
    n_classes: int
    hidden_size: int
    train_size: int
    val_size: int
    batch_size: int
    max_epochs: int
    lr: float
    clip_grad_norm: float
    stop_train_accuracy: float
    solved_accuracy: float
    forget_bias: float
    train_seed_offset: int
    val_seed_offset: int
    probe_batch: int
    probe_T: int
    probe_seed: int

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.train_size // self.batch_size)

    @property
    def max_steps(self) -> int:
        return self.max_epochs * self.steps_per_epoch

    def data(self, seed: int) -> tuple[list[tuple[Tensor, Tensor]], list[tuple[Tensor, Tensor]]]:
        """The training and validation items of the run with ``seed`` (``collate_steps`` batches them);
        each item is ``(x (T, input_size), y ())``."""
        return (as_items(*temporal_order(self.train_size, self.T, seed=self.train_seed_offset + seed)),
                as_items(*temporal_order(self.val_size, self.T, seed=self.val_seed_offset + seed)))

    def probe(self) -> Tensor:
        """The gradient probe's inputs, (probe_T, probe_batch, input_size), on the CPU."""
        return temporal_order(self.probe_batch, self.probe_T, seed=self.probe_seed)[0]

    def fit_options(self) -> dict[str, Any]:
        """The keyword arguments of ``recurrent_lib.train.fit`` that this set-up fixes (add ``collate``,
        ``loss_fn``, ``seed``, ``device`` and the early stop by ``stop_train_accuracy``)."""
        return {"epochs": self.max_epochs, "batch_size": self.batch_size, "lr": self.lr,
                "clip_grad_norm": self.clip_grad_norm}


TEMPORAL_ORDER = LongRangeSetup(
    task="temporal_order", T=50, input_size=len(TEMPORAL_SYMBOLS), n_classes=len(TEMPORAL_CLASSES),
    hidden_size=16, train_size=2560, val_size=512, batch_size=64, max_epochs=12, lr=1e-2, clip_grad_norm=1.0,
    stop_train_accuracy=0.99, solved_accuracy=0.95, forget_bias=2.0, train_seed_offset=100, val_seed_offset=900,
    probe_batch=32, probe_T=100, probe_seed=5,
)
"""Temporal order at T = 50, 16 hidden units, 2560 training sequences in minibatches of 64, at most 480 steps;
forget-gate bias 2. Measured when it was chosen (lesson 05): within 480 steps the forget-bias LSTM solved 24 of 27
seeds (with bias 1: 20 of 30, even with 640 steps), the default LSTM 3 of 30, the RNN none of 22."""
