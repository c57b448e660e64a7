"""Seeds and device choice, so that every notebook starts the same way and runs on a GPU unchanged."""
import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """The first CUDA GPU when one is present, else the CPU. ``RECURRENT_LIB_DEVICE`` overrides it."""
    name = os.environ.get("RECURRENT_LIB_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def progress_enabled() -> bool:
    """Whether progress bars are drawn; ``RECURRENT_LIB_PROGRESS=0`` (set by the test suite) hides them."""
    return os.environ.get("RECURRENT_LIB_PROGRESS", "1") != "0"
