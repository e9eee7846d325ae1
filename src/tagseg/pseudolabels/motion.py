"""Inside-outside maps of Papazoglou & Ferrari (ICCV 2013): which pixels lie inside a closed
motion boundary, i.e. on something that moves differently from its surroundings.

1. Motion boundaries from the flow gradient: ``b_m = 1 - exp(-lam_m |grad f|)``; where ``b_m``
   is weak (<= ``strong``) it is multiplied by an orientation term
   ``b_theta = 1 - exp(-lam_theta max_q dtheta(p, q)^2)`` (largest angle between the flow at p
   and at its 8 neighbours), which keeps weak boundaries only where the flow turns. Pixels
   with ``b > threshold`` are boundary pixels.
2. Ray casting: a ray from a point inside a closed curve crosses it an odd number of times.
   For each pixel, rays go in 8 directions (4 axes, 4 diagonals); a crossing is the start of a
   run of boundary pixels along the ray. The pixel is inside when the majority (>= 5 of 8)
   of rays have odd parity. Counts come from reversed cumulative sums of the run starts
   (P&F's "integral intersections"); diagonals are sheared into rows first.
"""

from __future__ import annotations

import numpy as np


def motion_boundaries(
    flow: np.ndarray, lam_m: float = 1.0, lam_theta: float = 2.0, strong: float = 0.6
) -> np.ndarray:
    """Soft motion boundary map of (2, H, W) flow (pixels, x then y) -> (H, W) float in [0, 1]."""
    fx, fy = flow[0].astype(np.float64), flow[1].astype(np.float64)
    gx_y, gx_x = np.gradient(fx)
    gy_y, gy_x = np.gradient(fy)
    grad = np.sqrt(gx_x**2 + gx_y**2 + gy_x**2 + gy_y**2)
    b_m = 1.0 - np.exp(-lam_m * grad)
    return np.where(b_m > strong, b_m, b_m * orientation_boundaries(flow, lam_theta))


def orientation_boundaries(flow: np.ndarray, lam_theta: float = 2.0) -> np.ndarray:
    """``b_theta = 1 - exp(-lam_theta max_q dtheta(p, q)^2)`` over the 8 neighbours q of each
    pixel p of (2, H, W) flow; dtheta in radians, 0 where either vector is ~zero -> (H, W)."""
    fx, fy = flow[0].astype(np.float64), flow[1].astype(np.float64)
    mag = np.hypot(fx, fy)
    moving = mag >= 1e-3  # the direction of a zero vector is meaningless
    ux = np.where(moving, fx / np.maximum(mag, 1e-12), 0.0)
    uy = np.where(moving, fy / np.maximum(mag, 1e-12), 0.0)
    h, w = fx.shape
    # largest cosine distance to the 8 neighbours; each unordered pair is visited once and
    # credited to both pixels
    cmin = np.ones((h, w))
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        ys, yd = slice(0, h - dy), slice(dy, h)
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        both = moving[ys, xs] & moving[yd, xd]
        c = np.where(both, ux[ys, xs] * ux[yd, xd] + uy[ys, xs] * uy[yd, xd], 1.0)
        np.minimum(cmin[ys, xs], c, out=cmin[ys, xs])
        np.minimum(cmin[yd, xd], c, out=cmin[yd, xd])
    dmax = np.arccos(np.clip(cmin, -1.0, 1.0))
    return 1.0 - np.exp(-lam_theta * dmax**2)


def _forward_counts(b: np.ndarray) -> np.ndarray:
    """For (R, C) bool ``b``: number of boundary runs starting strictly right of each pixel."""
    start = b.copy()
    start[:, 1:] &= ~b[:, :-1]
    s = start.astype(np.int32)
    rev = np.cumsum(s[:, ::-1], axis=1)[:, ::-1]  # runs starting at or right of j
    return rev - s


def _shear(b: np.ndarray) -> np.ndarray:
    """(H, W) -> (H+W-1, H): row d holds the down-right diagonal j - i = d - (H-1), by i."""
    h, w = b.shape
    out = np.zeros((h + w - 1, h), dtype=b.dtype)
    i = np.arange(h)[:, None]
    j = np.arange(w)[None, :]
    out[(j - i + h - 1), np.broadcast_to(i, (h, w))] = b
    return out


def _unshear(s: np.ndarray, h: int, w: int) -> np.ndarray:
    i = np.arange(h)[:, None]
    j = np.arange(w)[None, :]
    return s[(j - i + h - 1), np.broadcast_to(i, (h, w))]


def ray_votes(boundary: np.ndarray) -> np.ndarray:
    """Number of the 8 rays from each pixel with an odd number of boundary crossings -> (H, W) int."""
    b = np.asarray(boundary, dtype=bool)
    h, w = b.shape
    votes = np.zeros((h, w), dtype=np.int32)
    # axes: right, left, down, up
    votes += _forward_counts(b) & 1
    votes += _forward_counts(b[:, ::-1])[:, ::-1] & 1
    votes += (_forward_counts(b.T) & 1).T
    votes += (_forward_counts(b.T[:, ::-1])[:, ::-1] & 1).T
    # diagonals: down-right, up-left (same sheared rows, both ways), then the mirrored ones
    for flip in (False, True):
        bb = b[:, ::-1] if flip else b
        s = _shear(bb)
        fwd = _unshear(_forward_counts(s) & 1, h, w)
        bwd = _unshear(_forward_counts(s[:, ::-1])[:, ::-1] & 1, h, w)
        v = fwd + bwd
        votes += v[:, ::-1] if flip else v
    return votes


def inside_outside(
    flow: np.ndarray,
    lam_m: float = 1.0,
    lam_theta: float = 2.0,
    strong: float = 0.6,
    threshold: float = 0.5,
) -> np.ndarray:
    """Inside-outside map of (2, H, W) flow -> (H, W) bool, True = inside a motion boundary."""
    b = motion_boundaries(flow, lam_m, lam_theta, strong) > threshold
    return ray_votes(b) >= 5
