"""Exact forward optical flow from the 3-D scene motion, with occlusion and motion masks.

For a pixel of frame ``a`` the 3-D hit point is moved with its object to frame ``b``
(static world: unmoved) and projected with camera ``b``; the flow is that position minus
the pixel's own. Sky pixels are points at infinity: their flow is the camera rotation's.
The ego-vehicle hood is rigid with the camera: flow 0.

``valid`` is False where the point leaves the image or goes behind camera ``b``, or is
hidden in frame ``b``: its inverse depth is more than ``occ_tol`` (relative) behind the
inverse depth of frame ``b`` interpolated bilinearly at the target position (a planar
surface's inverse depth is linear in the image, so this test is exact for planes; at depth
edges it errs on the side of 'occluded'). Sky points are valid only where frame ``b``
shows sky all around the target position.
"""

from __future__ import annotations

import cv2
import numpy as np

from .camera import NEAR, Camera
from .raycast import HOOD, PRIM0, SKY, Hits
from .scene import World


def inverse_depth(hits: Hits, width: int, height: int) -> np.ndarray:
    """(H, W) float32 inverse camera depth, 1/metres (0 for sky)."""
    inv = np.where(np.isfinite(hits.t) & (hits.t > 0), 1.0 / np.maximum(hits.t, 1e-9), 0.0)
    return inv.reshape(height, width).astype(np.float32)


def object_index(world: World, hits: Hits) -> np.ndarray:
    """(N,) object index per pixel (0 = static world, also for ground, sky and hood)."""
    obj = np.zeros(hits.code.size, np.int64)
    p = hits.code >= PRIM0
    obj[p] = world.prims.obj[hits.code[p] - PRIM0]
    return obj


def exact_flow(world: World, hits_a: Hits, frame_a: float, hits_b: Hits, cam_b: Camera,
               frame_b: float, occ_tol: float = 0.02
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flow from frame ``a`` to ``b``: (2, H, W) float32 pixels (x right, y down),
    ``valid`` (H, W) bool, ``moving`` (H, W) bool (pixel of an object with its own motion)."""
    W, H = cam_b.width, cam_b.height
    code = hits_a.code
    obj = object_index(world, hits_a)
    vel = np.take(world.vel, obj, axis=0)  # (N, 3)
    moving = np.any(vel != 0, axis=1) & (code >= PRIM0)
    Pb = hits_a.points() + (vel * (frame_b - frame_a)).T
    ub, vb, zb = cam_b.project(Pb)
    sky = code == SKY
    if sky.any():
        us, vs, zs = cam_b.project_dirs(hits_a.D[:, sky])
        ub[sky], vb[sky], zb[sky] = us, vs, zs
    v0, u0 = np.mgrid[0:H, 0:W]
    u0, v0 = u0.ravel().astype(np.float64), v0.ravel().astype(np.float64)
    hood = code == HOOD
    ub[hood], vb[hood], zb[hood] = u0[hood], v0[hood], 1.0
    flow = np.stack([ub - u0, vb - v0]).reshape(2, H, W).astype(np.float32)

    eps = 1e-3  # pixels: rounding of an exact 0 flow must not push a border pixel outside
    inside = (zb > NEAR) & (ub >= -eps) & (ub <= W - 1 + eps) & (vb >= -eps) & (vb <= H - 1 + eps)
    inv_b = inverse_depth(hits_b, W, H)
    mx = np.where(inside, ub, 0).astype(np.float32).reshape(H, W)
    my = np.where(inside, vb, 0).astype(np.float32).reshape(H, W)
    ref = cv2.remap(inv_b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).ravel()
    inv_p = np.where(sky, 0.0, 1.0 / np.maximum(zb, 1e-9))
    visible = np.where(sky, ref <= 1e-5, inv_p >= ref * (1 - occ_tol) - 1e-6)
    visible |= hood
    # the hood occludes everything behind it in frame b
    hood_b = (hits_b.code == HOOD).reshape(H, W).astype(np.float32)
    hb = cv2.remap(hood_b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).ravel()
    visible &= hood | (hb == 0)
    valid = (inside & visible).reshape(H, W)
    return flow, valid, moving.reshape(H, W)
