"""Torch device selection (config key ``device``)."""

from __future__ import annotations

import torch


def resolve(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` as given.

    Asking for CUDA on a machine without it raises ``RuntimeError`` naming the config key.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"config key 'device' is {name!r} but CUDA is not available here")
    return dev
