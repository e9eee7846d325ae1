"""Cast sun shadows on the ground, rasterised top-down with OpenCV.

The shadow of a primitive with box ``[lo, hi]`` on the ground is approximated by the convex
hull of its footprint shifted along the sun's ground direction by its bottom and top
heights. Two maps are kept: ``all`` (every caster; sampled by surfaces near the ground) and
``tall`` (buildings, trees, walls, big vehicles; sampled by the ground point under a surface
point along the sun ray). Building footprints are cleared afterwards so a sun ray ending
inside a building reads as lit.
"""

from __future__ import annotations

import cv2
import numpy as np

from .scene import ELL, LID, ShadowMap, World

_TALL = {LID[n] for n in ("building", "vegetation", "wall", "bus", "truck", "train")}
_SOFT = {LID["vegetation"]}


def _polys(lo: np.ndarray, hi: np.ndarray, kind: np.ndarray, sun: np.ndarray) -> np.ndarray:
    """(N, 16, 2) ground points (x, z) whose convex hull is each primitive's shadow."""
    k = -np.array([sun[0], sun[2]]) / max(sun[1], 0.05)
    n = len(lo)
    ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    # footprint outline: 8 points (box: corners repeated; ellipsoid: octagon)
    box_u = np.array([0, 1, 1, 0, 0, 1, 1, 0], float)
    box_v = np.array([0, 0, 1, 1, 0, 0, 1, 1], float)
    ell = (kind == ELL)[:, None]
    cx, cz = (lo[:, 0] + hi[:, 0]) / 2, (lo[:, 2] + hi[:, 2]) / 2
    rx, rz = (hi[:, 0] - lo[:, 0]) / 2, (hi[:, 2] - lo[:, 2]) / 2
    fx = np.where(ell, cx[:, None] + rx[:, None] * np.cos(ang), lo[:, :1] + box_u * 2 * rx[:, None])
    fz = np.where(ell, cz[:, None] + rz[:, None] * np.sin(ang), lo[:, 2:3] + box_v * 2 * rz[:, None])
    yc, ry = (lo[:, 1] + hi[:, 1]) / 2, (hi[:, 1] - lo[:, 1]) / 2
    y0 = np.where(ell[:, 0], yc - 0.5 * ry, lo[:, 1])
    y1 = np.where(ell[:, 0], yc + 0.5 * ry, hi[:, 1])
    out = np.empty((n, 16, 2))
    for j, y in enumerate((y0, y1)):
        out[:, 8 * j:8 * j + 8, 0] = fx + y[:, None] * k[0]
        out[:, 8 * j:8 * j + 8, 1] = fz + y[:, None] * k[1]
    return out


def _raster(canvas: np.ndarray, sm: ShadowMap, polys: np.ndarray, value: int) -> None:
    g = np.empty_like(polys)
    g[..., 0] = (polys[..., 0] - sm.x0) / sm.cell
    g[..., 1] = (polys[..., 1] - sm.z0) / sm.cell
    nz, nx = canvas.shape
    lo, hi = g.min(1), g.max(1)
    vis = (hi[:, 0] >= 0) & (lo[:, 0] < nx) & (hi[:, 1] >= 0) & (lo[:, 1] < nz)
    pts = np.round(g[vis] * 4).astype(np.int32)
    for p in pts:
        cv2.fillConvexPoly(canvas, cv2.convexHull(p), value, lineType=cv2.LINE_8, shift=2)


def static_maps(world: World, x_range=(-60.0, 60.0), cell: float = 0.25
                ) -> tuple[ShadowMap, np.ndarray, np.ndarray]:
    """Rasterise shadows of the static world. Returns the grid and (all, tall) uint8 maps."""
    pr = world.prims
    z0 = float(pr.lo[:, 2].min()) - 20 if len(pr) else -50.0
    z1 = float(pr.hi[:, 2].max()) + 20 if len(pr) else 50.0
    nx = int((x_range[1] - x_range[0]) / cell)
    nz = int((z1 - z0) / cell)
    sm = ShadowMap(x0=x_range[0], z0=z0, cell=cell)
    occ_all = np.zeros((nz, nx), np.uint8)
    occ_tall = np.zeros((nz, nx), np.uint8)
    sun = world.env.sun_dir
    static = ~world.moving_objects()[pr.obj]
    for canvas, want in ((occ_all, None), (occ_tall, _TALL)):
        for soft in (True, False):
            sel = static & (np.isin(pr.label, list(_SOFT)) == soft)
            if want is not None:
                sel &= np.isin(pr.label, list(want))
            if sel.any():
                _raster(canvas, sm, _polys(pr.lo[sel], pr.hi[sel], pr.kind[sel], sun),
                        170 if soft else 255)
    for canvas in (occ_all, occ_tall):
        canvas[:] = cv2.blur(canvas, (3, 3))
    bld = static & (pr.label == LID["building"])
    if bld.any():
        for canvas in (occ_all, occ_tall):
            for a, b in zip(pr.lo[bld], pr.hi[bld]):
                i0, i1 = int((a[2] - z0) / cell) + 1, int((b[2] - z0) / cell) - 1
                j0, j1 = int((a[0] - sm.x0) / cell) + 1, int((b[0] - sm.x0) / cell) - 1
                if i1 > i0 and j1 > j0:
                    canvas[max(i0, 0):max(i1, 0), max(j0, 0):max(j1, 0)] = 0
    return sm, occ_all, occ_tall


def frame_map(world: World, occ_all: np.ndarray, frame: float, cam_z: float | None = None,
              reach: float = 120.0) -> np.ndarray:
    """``occ_all`` plus the shadows of moving objects at ``frame`` (one box per object,
    the union of its primitives; only objects within ``reach`` metres ahead of ``cam_z``)."""
    if world.shadow is None:
        return occ_all
    cache = world.cache.get("moving_boxes")
    if cache is None:
        pr = world.prims
        mov_obj = np.nonzero(world.moving_objects())[0]
        lo = np.full((len(world.vel), 3), np.inf)
        hi = np.full((len(world.vel), 3), -np.inf)
        np.minimum.at(lo, pr.obj, pr.lo)
        np.maximum.at(hi, pr.obj, pr.hi)
        cache = (mov_obj, lo[mov_obj], hi[mov_obj])
        world.cache["moving_boxes"] = cache
    objs, lo, hi = cache
    if objs.size == 0:
        return occ_all
    d = world.vel[objs] * frame
    lo, hi = lo + d, hi + d
    if cam_z is not None:
        near = (hi[:, 2] > cam_z - 10) & (lo[:, 2] < cam_z + reach)
        lo, hi = lo[near], hi[near]
    last = world.cache.get("frame_occ")
    if last is not None and last[0] == (frame, cam_z) and last[1] is occ_all:
        return last[2]
    out = occ_all.copy()
    kind = np.zeros(len(lo), np.int8)
    _raster(out, world.shadow, _polys(lo, hi, kind, world.env.sun_dir), 255)
    world.cache["frame_occ"] = ((frame, cam_z), occ_all, out)
    return out
