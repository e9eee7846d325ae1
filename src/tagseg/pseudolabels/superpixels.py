"""Superpixels of the frames of a snippet window, and per-superpixel statistics.

Node ids are global over the window: frame ``t`` owns ids ``start[t] .. start[t+1]-1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

BACKENDS = ("skimage", "opencv")


def segment_frame(
    rgb: np.ndarray, n_segments: int = 400, compactness: float = 20.0, backend: str = "skimage",
    sigma: float = 1.0,
) -> np.ndarray:
    """SLIC superpixels of one (H, W, 3) uint8 RGB frame -> (H, W) int32 ids 0..n-1 (consecutive).

    ``n_segments`` is the approximate number of superpixels; ``compactness`` trades colour
    similarity (low) for square, regular cells (high); ``sigma`` is the Gaussian pre-smoothing
    (pixels; 0 = none), which keeps texture noise from scattering the cells. ``backend``: ``"skimage"``
    (``skimage.segmentation.slic`` in CIELAB) or ``"opencv"`` (``cv2.ximgproc`` SLIC on CIELAB,
    region size derived from ``n_segments``, ruler = ``compactness``).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    if backend == "skimage":
        from skimage.segmentation import slic

        lab = slic(rgb, n_segments=n_segments, compactness=compactness, start_label=0,
                   convert2lab=True, enforce_connectivity=True, sigma=sigma)
    elif backend == "opencv":
        import cv2

        region = max(4, int(round(np.sqrt(h * w / max(n_segments, 1)))))
        img = cv2.GaussianBlur(rgb, (0, 0), sigma) if sigma > 0 else rgb
        conv = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
        s = cv2.ximgproc.createSuperpixelSLIC(conv, cv2.ximgproc.SLIC, region_size=region,
                                              ruler=float(compactness))
        s.iterate(10)
        s.enforceLabelConnectivity(25)
        lab = s.getLabels()
    else:
        raise ValueError(f"unknown superpixel backend {backend!r} (config pseudolabels.superpixels.backend; "
                         f"one of {', '.join(BACKENDS)})")
    _, inv = np.unique(lab, return_inverse=True)
    return inv.reshape(h, w).astype(np.int32)


def segment_window(
    frames: np.ndarray, n_segments: int = 400, compactness: float = 20.0, backend: str = "skimage",
    sigma: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Superpixels of every frame of (F, H, W, 3) uint8 frames.

    Returns ``labels`` (F, H, W) int32 global node ids and ``start`` (F + 1,) int64 so that
    frame ``t`` owns ids ``start[t]:start[t+1]``.
    """
    out = np.empty(frames.shape[:3], dtype=np.int32)
    start = np.zeros(len(frames) + 1, dtype=np.int64)
    for t, rgb in enumerate(frames):
        lab = segment_frame(rgb, n_segments, compactness, backend, sigma)
        out[t] = lab + start[t]
        start[t + 1] = start[t] + int(lab.max()) + 1
    return out, start


@dataclass
class Pooling:
    """Sparse (N, P) averaging operator from pixels (P = F*H*W, C order) to N superpixels."""

    matrix: sp.csr_matrix  # rows sum to 1
    size: np.ndarray  # (N,) pixels per superpixel

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> "Pooling":
        flat = labels.ravel().astype(np.int64)
        n = int(flat.max()) + 1
        size = np.bincount(flat, minlength=n).astype(np.float64)
        data = 1.0 / size[flat]
        m = sp.csr_matrix((data, (flat, np.arange(flat.size))), shape=(n, flat.size))
        return cls(m, size)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of per-pixel ``values`` (P,) or (P, D) over each superpixel -> (N,) or (N, D)."""
        return np.asarray(self.matrix @ values)
