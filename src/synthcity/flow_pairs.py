"""Synthetic frame pairs with exact flow, for tests and benchmarks (no dataset needed)."""

from __future__ import annotations

import cv2
import numpy as np


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w) uint8 multi-scale smoothed-noise texture (blobs and edges at several sizes).

    Cell sizes grow with the width (32, 8, 3 px up to w = 512), so coarse pyramid levels
    still see structure and large motions stay recoverable at any size.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    cells = (max(32, w // 16), max(8, w // 80), max(3, w // 340))
    for cell, weight in zip(cells, (1.0, 0.6, 0.35)):
        small = rng.random((max(2, h // cell), max(2, w // cell))).astype(np.float32)
        img += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img -= img.min()
    img /= max(float(img.max()), 1e-6)
    return np.clip(img * 255.0, 0, 255).astype(np.uint8)


def smooth_flow(h: int, w: int, shift: tuple[float, float] = (3.0, -2.0), amp: float = 2.0,
                seed: int = 0) -> np.ndarray:
    """(2, h, w) float32 pixels: a translation ``shift`` (x, y) plus a smooth field of size ``amp``."""
    rng = np.random.default_rng(seed + 1)
    flow = np.empty((2, h, w), np.float32)
    for c in range(2):
        small = rng.standard_normal((3, 4)).astype(np.float32)
        flow[c] = shift[c] + amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return flow


def pair(h: int, w: int, shift: tuple[float, float] = (3.0, -2.0), amp: float = 2.0,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gray pair (frame0, frame1) (h, w) uint8 and its exact forward flow (2, h, w) float32.

    frame1 is a texture; frame0(x) = frame1(x + flow(x)) (so ``flow`` maps frame 0 -> 1).
    Rendered at 2x and area-downsampled so both frames are band-limited alike.
    """
    big = texture(2 * h + 64, 2 * w + 64, seed)
    flow = smooth_flow(h, w, shift, amp, seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # sample frame1 and frame0 from the same continuous texture (margin 32 px at 2x)
    f1 = cv2.resize(big[32 : 32 + 2 * h, 32 : 32 + 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    big_f = cv2.GaussianBlur(big.astype(np.float32), (0, 0), 0.8)
    mx = 2 * (xs + flow[0]) + 0.5 + 32
    my = 2 * (ys + flow[1]) + 0.5 + 32
    f0 = cv2.remap(big_f, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return np.clip(f0 + 0.5, 0, 255).astype(np.uint8), f1, flow


def epe(flow: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, border: int = 0) -> float:
    """Mean end-point error (pixels) of (..., 2, H, W) flows, over ``mask`` and away from ``border``."""
    e = np.sqrt(((np.asarray(flow, np.float64) - gt) ** 2).sum(axis=-3))
    if border:
        e = e[..., border:-border, border:-border]
        if mask is not None:
            mask = mask[..., border:-border, border:-border]
    return float(e[mask].mean() if mask is not None else e.mean())
