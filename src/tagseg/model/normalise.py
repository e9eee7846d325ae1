"""The network's RGB input: ImageNet mean / std normalisation."""

from __future__ import annotations

import numpy as np
import torch

from .vgg import IMAGENET_MEAN, IMAGENET_STD


def normalise_rgb(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 normalised with ImageNet mean / std."""
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return (x - mean) / std
