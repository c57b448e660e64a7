"""recurrent_lib.dropout: inverted dropout against F.dropout, its scaling, locked masks, weight dropping
with parametrize on nn.LSTM / nn.RNN, gradients (gradcheck in float64) and the messages for bad input."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from recurrent_lib.dropout import (LockedDropout, WeightDropout, apply_mask, check_p, dropout_mask, inverted_dropout,
                                   locked_dropout, locked_mask, weight_drop)


def test_inverted_dropout_draws_what_f_dropout_draws_on_the_cpu() -> None:
    x = torch.randn(6, 5, 4)
    for p in (0.1, 0.5, 0.8):
        state = torch.get_rng_state()
        expected = F.dropout(x, p, training=True)
        torch.set_rng_state(state)
        assert torch.equal(inverted_dropout(x, p), expected)


def test_scaling_keeps_the_expected_value() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-2, 2, 9)
    draws = torch.stack([inverted_dropout(x, 0.3, generator=g) for _ in range(20_000)])
    # each element is x / 0.7 with probability 0.7, else 0: standard deviation of the mean |x| * sqrt(0.3 / 0.7 / n)
    tolerance = 5 * x.abs() * (0.3 / 0.7 / 20_000) ** 0.5
    assert ((draws.mean(dim=0) - x).abs() <= tolerance + 1e-7).all()
    kept = draws[draws != 0]
    torch.testing.assert_close(kept.abs().unique(), (x[x != 0] / 0.7).abs().unique())


def test_mask_values_and_rate() -> None:
    g = torch.Generator().manual_seed(1)
    mask = dropout_mask((100_000,), 0.25, torch.empty(0), g)
    torch.testing.assert_close(mask.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert abs((mask == 0).double().mean().item() - 0.25) < 0.01


def test_eval_and_p_zero_are_the_identity() -> None:
    x = torch.randn(3, 4)
    assert inverted_dropout(x, 0.5, training=False) is x
    assert inverted_dropout(x, 0.0) is x
    sequences = x[None]
    assert locked_dropout(sequences, 0.5, training=False) is sequences
    assert LockedDropout(0.0)(sequences) is sequences
    assert torch.equal(LockedDropout(0.5).eval()(sequences), sequences)


def test_the_callers_tensor_is_left_alone() -> None:
    x = torch.ones(50)
    inverted_dropout(x, 0.5)
    locked_dropout(x.view(5, 2, 5), 0.5)
    assert torch.equal(x, torch.ones(50))


def test_a_seeded_generator_gives_the_same_mask_twice() -> None:
    x = torch.ones(10, 3, 7)
    first = locked_dropout(x, 0.4, generator=torch.Generator().manual_seed(5))
    second = locked_dropout(x, 0.4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, second)


@pytest.mark.parametrize("batch_first", [False, True])
def test_locked_mask_is_constant_over_time_and_differs_across_sequences(batch_first: bool) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.ones(20, 8, 30)  # (L, N, H) or (N, L, H)
    y = locked_dropout(x, 0.5, batch_first=batch_first, generator=g)
    time_dim = 1 if batch_first else 0
    first_step = y.select(time_dim, 0).unsqueeze(time_dim)
    assert torch.equal(y, first_step.expand_as(y))              # the same at every step
    masks = first_step.squeeze(time_dim)                        # (batch, H): one mask per sequence
    assert len({tuple(row.tolist()) for row in masks}) == masks.shape[0]
    assert locked_mask(x, 0.5, batch_first, g).shape == ((20, 1, 30) if batch_first else (1, 8, 30))


def test_dropout_passes_gradient_through_the_mask() -> None:
    x = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    mask = locked_mask(x, 0.5, generator=torch.Generator().manual_seed(3))
    torch.autograd.gradcheck(lambda x: apply_mask(x, mask), (x,))
    y = locked_dropout(x, 0.5, generator=torch.Generator().manual_seed(3))
    y.sum().backward()
    assert torch.equal(x.grad, mask.expand_as(x))


@pytest.mark.parametrize("kind", [nn.LSTM, nn.RNN, nn.GRU])
def test_weight_drop_with_parametrize(kind: type[nn.Module]) -> None:
    torch.manual_seed(0)
    rnn = kind(3, 6)
    plain = kind(3, 6)
    plain.load_state_dict(rnn.state_dict())
    weight_drop(rnn, "weight_hh_l0", 0.5)
    original = rnn.parametrizations.weight_hh_l0.original
    x = torch.randn(7, 2, 3)

    with parametrize.cached():          # one dropped matrix for the whole forward
        out, _ = rnn(x)
        dropped = rnn.weight_hh_l0
    assert 0 < (dropped == 0).sum() < dropped.numel()
    torch.testing.assert_close(dropped[dropped != 0], 2 * original[dropped != 0])
    with torch.no_grad():
        plain.weight_hh_l0.copy_(dropped)
    torch.testing.assert_close(out, plain(x)[0])  # the same dropped weight at every step

    out.sum().backward()                # the gradient reaches the original weight, through the mask
    assert original.grad is not None
    assert (original.grad[dropped == 0] == 0).all() and (original.grad[dropped != 0] != 0).any()

    assert not torch.equal(rnn(x)[0], rnn(x)[0])  # a new mask every forward
    rnn.eval()
    assert torch.equal(rnn.weight_hh_l0, original)
    with torch.no_grad():
        plain.weight_hh_l0.copy_(original)
    torch.testing.assert_close(rnn(x)[0], plain(x)[0])


def test_weight_drop_gradient_with_a_fixed_mask() -> None:
    g = torch.Generator()
    w = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    drop = WeightDropout(0.3, generator=g)

    def dropped(w: torch.Tensor) -> torch.Tensor:
        g.manual_seed(4)                # the same mask at every evaluation
        return drop(w)

    torch.autograd.gradcheck(dropped, (w,))


def test_weight_drop_is_undone_by_remove_parametrizations() -> None:
    lstm = weight_drop(nn.LSTM(2, 3), ["weight_hh_l0", "weight_ih_l0"], 0.2)
    parametrize.remove_parametrizations(lstm, "weight_hh_l0")
    parametrize.remove_parametrizations(lstm, "weight_ih_l0")
    assert not parametrize.is_parametrized(lstm)


@pytest.mark.parametrize("p", [-0.1, 1, 1.5, "0.5", True, None])
def test_bad_p_is_refused(p: object) -> None:
    with pytest.raises(ValueError, match=r"expected a dropout probability p in \[0, 1\), got"):
        check_p(p)
    with pytest.raises(ValueError, match="dropout probability"):
        inverted_dropout(torch.ones(3), p)


def test_p_one_says_why() -> None:
    with pytest.raises(ValueError, match="divide by 0"):
        LockedDropout(1.0)


def test_a_mask_that_does_not_broadcast_is_refused() -> None:
    with pytest.raises(ValueError, match=r"expected a mask that broadcasts to the input's shape \(5, 2, 4\), "
                                         r"got a mask of shape \(1, 3, 4\)"):
        apply_mask(torch.ones(5, 2, 4), torch.ones(1, 3, 4))
    with pytest.raises(ValueError, match="broadcasts"):      # broadcasting would grow the input
        apply_mask(torch.ones(2, 4), torch.ones(3, 2, 4))


def test_locked_dropout_needs_a_sequence_batch() -> None:
    with pytest.raises(ValueError, match=r"expected a 3-D sequence batch \(L, N, H\), got a tensor of shape \(4, 5\)"):
        locked_dropout(torch.ones(4, 5), 0.5)


def test_weight_drop_names_a_missing_parameter_and_the_existing_ones() -> None:
    with pytest.raises(ValueError, match="LSTM has no parameter 'weight_hh_l1'; its parameters are weight_ih_l0, "
                                         "weight_hh_l0, bias_ih_l0, bias_hh_l0"):
        weight_drop(nn.LSTM(2, 3), "weight_hh_l1")


def test_module_reprs() -> None:
    assert repr(LockedDropout(0.25)) == "LockedDropout(p=0.25)"
    assert repr(WeightDropout(0.5)) == "WeightDropout(p=0.5)"
