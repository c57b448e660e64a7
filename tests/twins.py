"""What the tests of recurrent_lib's twins share: a pair of identically initialised modules, one thread."""
import pytest
import torch
from torch import nn

import recurrent_lib


@pytest.fixture(autouse=True)
def one_thread():
    """The tensors here are tiny: one intra-op thread is several times faster than two competing for cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_pair(kind: str, *args, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    """torch.nn's module ``kind`` and ours, each built right after seeding torch's CPU generator with ``seed``
    (what torch.manual_seed does on a CPU, without queueing GPU seeds, which is slow to do hundreds of times)."""
    torch.default_generator.manual_seed(seed)
    reference = getattr(nn, kind)(*args, **kwargs)
    torch.default_generator.manual_seed(seed)
    return reference, getattr(recurrent_lib, kind)(*args, **kwargs)


def largest_difference(expected: list[torch.Tensor], got: list[torch.Tensor]) -> float:
    """Assert that the tensors agree pairwise in shape, dtype and value (to 1e-9, so run in float64);
    return the largest absolute difference."""
    largest = 0.0
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(b, a, atol=1e-9, rtol=1e-9)
        largest = max(largest, (a - b).abs().max().item() if a.numel() and a.is_floating_point() else 0.0)
    return largest
