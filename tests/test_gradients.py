"""recurrent_lib.gradients.backward_nodes: the graph a backward pass runs through, counted exactly."""
import pytest
import torch

from recurrent_lib.gradients import backward_nodes


def test_it_counts_every_node_back_to_the_leaves() -> None:
    w = torch.ones(3, requires_grad=True)
    y = (w * 2).sum()                  # SumBackward0 <- MulBackward0 <- AccumulateGrad(w)
    assert backward_nodes(y) == 3


def test_a_state_carried_without_detach_adds_one_step_of_graph_each_time() -> None:
    w = torch.ones(3, requires_grad=True)
    h, counts = torch.zeros(3), []
    for _ in range(4):
        h = torch.tanh(w * h + 1)      # MulBackward0, AddBackward0, TanhBackward0 per step
        counts.append(backward_nodes(h.sum()))
    assert [b - a for a, b in zip(counts, counts[1:])] == [3, 3, 3]
    assert backward_nodes(torch.tanh(w * h.detach() + 1).sum()) == counts[0]


def test_a_tensor_without_graph_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a tensor computed by autograd"):
        backward_nodes(torch.ones(2))
