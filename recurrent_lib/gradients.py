"""Probes of gradient flow through time: how much of the loss's gradient reaches each earlier state.

``state_gradient_norms`` runs a recurrent layer one step at a time, so that every intermediate state
is a tensor of its own whose gradient autograd keeps, then backpropagates a loss read at the last step.
``backward_nodes`` counts how much graph a backward pass from a tensor runs through (lesson 08: a state
carried without a detach makes every backward run through all earlier chunks).
"""
import torch
from torch import Tensor, nn


def state_gradient_norms(rnn: nn.Module, x: Tensor, *, weight: Tensor | None = None) -> Tensor:
    """‖∂L/∂s_t‖ for t = 1..T, where s_t is the state of ``rnn`` after step t and L = ⟨weight, h_T⟩.

    rnn: ``torch.nn.RNN/LSTM/GRU`` or a library twin, sequence-first (``batch_first=False``);
    x: (T, N, input_size). The state s_t is every layer's h_t (and, for an LSTM, c_t), all batch rows
    together; h_T is the last layer's hidden state at step T, (N, hidden) (its projection with
    ``proj_size``), the one a classifier reads. weight: (N, hidden), default all ones (L = sum of h_T). Returns (T,) float64 norms on the CPU:
    entry ``T - 1`` is the gradient at the last state, entry 0 what is left of it after T - 1 steps back.
    """
    if getattr(rnn, "batch_first", False):
        raise ValueError("expected a sequence-first rnn (batch_first=False)")
    if x.dim() != 3 or x.shape[0] < 1:
        raise ValueError(f"expected x of shape (T, N, input_size) with T >= 1, got {tuple(x.shape)}")
    states, state = [], None
    for x_t in x:
        _, state = rnn(x_t[None], state)
        for s in state if isinstance(state, tuple) else (state,):
            s.retain_grad()
        states.append(state)
    h_T = (state[0] if isinstance(state, tuple) else state)[-1]
    weight = torch.ones_like(h_T) if weight is None else weight
    if weight.shape != h_T.shape:
        raise ValueError(f"expected weight of shape {tuple(h_T.shape)} like h_T, got {tuple(weight.shape)}")
    (weight * h_T).sum().backward()
    norms = []
    for state in states:
        parts = state if isinstance(state, tuple) else (state,)
        grads = [s.grad if s.grad is not None else torch.zeros_like(s) for s in parts]
        norms.append(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).cpu())
    return torch.stack(norms)


def backward_nodes(tensor: Tensor) -> int:
    """The number of autograd nodes a backward pass from ``tensor`` runs through (its ``grad_fn`` and every node
    it leads back to, the leaves' AccumulateGrad included); an exact count, the same on any machine."""
    if tensor.grad_fn is None:
        raise ValueError("expected a tensor computed by autograd (with a grad_fn), got a leaf or a detached tensor")
    seen, pending = set(), [tensor.grad_fn]
    while pending:
        node = pending.pop()
        if node is not None and node not in seen:
            seen.add(node)
            pending += [parent for parent, _ in node.next_functions]
    return len(seen)
