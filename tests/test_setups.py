"""The long-range set-up shared by lessons 05-07: one definition, consistent sizes, seeded data."""
import dataclasses

import pytest
import torch

from recurrent_lib.setups import TEMPORAL_ORDER
from recurrent_lib.tasks import TEMPORAL_CLASSES, TEMPORAL_SYMBOLS, collate_steps


def test_the_budget_and_sizes_fit_together():
    setup = TEMPORAL_ORDER
    assert setup.task == "temporal_order"
    assert setup.input_size == len(TEMPORAL_SYMBOLS) and setup.n_classes == len(TEMPORAL_CLASSES)
    assert setup.steps_per_epoch == -(-setup.train_size // setup.batch_size)
    assert setup.max_steps == setup.max_epochs * setup.steps_per_epoch
    assert set(setup.fit_options()) == {"epochs", "batch_size", "lr", "clip_grad_norm"}
    assert 1 / setup.n_classes < setup.solved_accuracy <= 1 and setup.forget_bias > 0


def test_data_are_seeded_disjoint_and_shaped_for_collate_steps():
    train, val = TEMPORAL_ORDER.data(3)
    assert len(train) == TEMPORAL_ORDER.train_size and len(val) == TEMPORAL_ORDER.val_size
    x, y = collate_steps(train[:5])
    assert x.shape == (TEMPORAL_ORDER.T, 5, TEMPORAL_ORDER.input_size) and y.shape == (5,)
    again, _ = TEMPORAL_ORDER.data(3)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(train[:20], again[:20]))
    other, _ = TEMPORAL_ORDER.data(4)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(train[:20], other[:20]))
    assert not torch.equal(collate_steps(train[:64])[0], collate_steps(val[:64])[0])


def test_the_probe_is_fixed():
    probe = TEMPORAL_ORDER.probe()
    assert probe.shape == (TEMPORAL_ORDER.probe_T, TEMPORAL_ORDER.probe_batch, TEMPORAL_ORDER.input_size)
    assert torch.equal(probe, TEMPORAL_ORDER.probe())


def test_the_setup_is_frozen_and_can_be_varied_by_replace():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TEMPORAL_ORDER.T = 100
    longer = dataclasses.replace(TEMPORAL_ORDER, T=100)
    assert longer.data(0)[0][0][0].shape == (100, TEMPORAL_ORDER.input_size) and TEMPORAL_ORDER.T == 50
