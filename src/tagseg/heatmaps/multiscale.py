"""Multi-scale heatmaps at several input scales, resized to the output size, in one of two modes:

- ``cam`` (Hong et al. §3.2, Saleh et al. §3.1): ReLU'd class activation maps, max-pooled over
  scales, then normalised per class and frame to [0, 1];
- ``softmax``: the CAM net's per-location class scores (CAM + FC bias) averaged over scales,
  then a softmax over the CAM classes at each pixel: the map of class c is the classifier's
  probability of c at that pixel, in [0, 1] and comparable across classes. Classes of the
  ImageNet head keep their probability maps (averaged over scales).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..model.vgg import IMAGENET_MEAN, IMAGENET_STD
from .model import HeatmapModel

MODES = ("cam", "softmax")
"""Heatmap modes (``heatmaps.maps``)."""

MIN_SIDE = 32
"""Smallest scaled frame side, pixels (the network's total stride is 16–32)."""


def to_batch(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float32 normalised with ImageNet mean/std."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return (x - mean) / std


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """``fp32``: no autocast; ``bf16``: torch.autocast(bfloat16) on the device;
    ``auto``: bf16 on CUDA, fp32 elsewhere."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise ValueError(f"heatmaps.precision: unknown precision {precision!r} (auto, fp32, bf16)")


def normalise(maps: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Divide each (frame, class) map by its max; all-zero maps stay zero. (B, C, H, W)."""
    peak = maps.amax(dim=(2, 3), keepdim=True)
    return torch.where(peak > eps, maps / peak.clamp(min=eps), torch.zeros_like(maps)).clamp_(0, 1)


@torch.no_grad()
def multiscale_heatmaps(
    model: HeatmapModel,
    frames: np.ndarray,
    scales: Sequence[float],
    out_size: tuple[int, int] | None = None,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    mode: str = "cam",
    tagged: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps of a batch of frames.

    frames: (B, H, W, 3) uint8 RGB at working size; scales: input size factors;
    out_size: (h, w) of the returned maps (default (H, W)); mode: ``cam`` | ``softmax``
    (module docstring); tagged: (B, C) bool, each frame's tags: the map of a ``complement``
    class (a dataset's one background class) is 1 - the max of the *tagged* classes' maps
    (an untagged class's map, normalised to its own peak, would otherwise erase the
    background; Hong et al. separate one tagged class from background), or of all
    classes' maps when None. Returns maps (B, C, h, w) float32 in [0, 1] and scores (B, C)
    float32 (class probabilities averaged over scales).
    """
    if mode not in MODES:
        raise ValueError(f"heatmaps.maps: unknown mode {mode!r} ({', '.join(MODES)})")
    logits = mode == "softmax"
    device = torch.device(device)
    h, w = frames.shape[1:3]
    out_size = out_size or (h, w)
    x = to_batch(frames, device)
    best = None
    score_sum = None
    for s in scales:
        size = (max(MIN_SIDE, int(round(h * s))), max(MIN_SIDE, int(round(w * s))))
        xs = x if size == (h, w) else F.interpolate(x, size=size, mode="bilinear",
                                                    align_corners=False, antialias=s < 1)
        with autocast(device, precision):
            scores, maps = model.maps(xs, out_size, logits=logits)
        maps, scores = maps.float(), scores.float()
        if logits:
            best = maps if best is None else best + maps
        else:
            best = maps if best is None else torch.maximum(best, maps)
        score_sum = scores if score_sum is None else score_sum + scores
    assert best is not None and score_sum is not None
    if logits:
        best = best / len(scales)
        idx = model.cam_index
        if idx:
            best[:, idx] = best[:, idx].softmax(dim=1)
        best = best.clamp_(0, 1)
    else:
        best = normalise(best)
    score = score_sum / len(scales)
    bg = getattr(model, "complement_index", [])
    if bg:  # one background class: 1 - the max of the (tagged) other classes' maps (Hong et al.)
        keep = torch.ones(best.shape[:2], dtype=torch.bool, device=best.device)
        if tagged is not None:
            keep &= torch.as_tensor(np.array(tagged, bool), device=best.device)
        keep[:, bg] = False
        rest = torch.where(keep[:, :, None, None], best, torch.zeros_like(best)).amax(dim=1)
        best[:, bg] = (1.0 - rest).clamp(0, 1).unsqueeze(1)
        score[:, bg] = 1.0
    return (best.cpu().numpy().astype(np.float32), score.cpu().numpy().astype(np.float32))
