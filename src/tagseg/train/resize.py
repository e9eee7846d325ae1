"""Artifacts of an extra dataset (``train.extra_datasets``) brought to the target's working size."""

from __future__ import annotations

import numpy as np


def resize_artifact(arr: np.ndarray, kind: str, size: tuple[int, int]) -> np.ndarray:
    """Bring an extra dataset's artifact to the working ``size`` (H, W) of the target.

    ``kind``: ``flow`` ((2L, h, w) pixels, x then y: bilinear, x scaled by W/w, y by H/h),
    ``heatmaps`` ((C, h, w): bilinear) or ``labels`` ((h, w): nearest).
    """
    import cv2

    H, W = size
    if tuple(arr.shape[-2:]) == (H, W):
        return arr
    h, w = arr.shape[-2:]
    if kind == "heatmaps":
        from ..heatmaps.storage import upsample

        return upsample(arr[None], size)[0]
    if kind == "labels":
        return cv2.resize(np.ascontiguousarray(arr), (W, H), interpolation=cv2.INTER_NEAREST)
    if kind != "flow":
        raise ValueError(f"unknown artifact kind {kind!r} (flow, heatmaps, labels)")
    out = np.stack([cv2.resize(np.ascontiguousarray(c, dtype=np.float32), (W, H),
                               interpolation=cv2.INTER_LINEAR) for c in arr])
    out[0::2] *= W / w
    out[1::2] *= H / h
    return out
