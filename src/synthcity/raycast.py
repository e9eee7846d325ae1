"""Vectorised ray casting: nearest hit of every pixel ray among ground, primitives and sky.

Each primitive is tested only against the pixels inside its projected screen rectangle
(the bounding box of its clipped bounding-box projection). All (primitive, pixel) pairs of
a frame are tested in one batch; the nearest hit per pixel is found with ``np.minimum.at``
on int64 keys that pack (depth bits, hit code), which also breaks ties deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import NEAR, Camera
from .scene import BOX, CYL, ELL

SKY, GROUND, HOOD = 0, 1, 2
"""Hit codes; primitive ``i`` has code ``i + PRIM0``."""
PRIM0 = 3
_CODE_BITS = 21
_CODE_MASK = (1 << _CODE_BITS) - 1

_EDGES = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
)
_CORNER_BITS = np.array([[(c >> k) & 1 for k in range(3)] for c in range(8)], bool)  # (8, 3)


@dataclass
class Hits:
    """Per-pixel nearest hits of one frame, flattened row-major (N = H * W).

    ``code``: (N,) int32 hit code (SKY, GROUND, HOOD or PRIM0 + primitive index);
    ``t``: (N,) float64 camera depth, metres (inf for sky);
    ``D``: (3, N) world ray directions (camera-z normalised); ``C``: (3,) camera centre;
    ``dn``: (N,) lengths of ``D``.
    """

    code: np.ndarray
    t: np.ndarray
    D: np.ndarray
    C: np.ndarray
    dn: np.ndarray  # (N,) float32 |D|, ray length per metre of depth

    def points(self) -> np.ndarray:
        """(3, N) world hit points (meaningless for sky pixels)."""
        t = np.where(np.isfinite(self.t), self.t, 0.0)
        return self.C[:, None] + self.D * t


def _key(t: np.ndarray, code: np.ndarray | int) -> np.ndarray:
    bits = np.asarray(t, np.float32).view(np.int32).astype(np.int64)
    return (bits << _CODE_BITS) | np.asarray(code, np.int64)


def screen_rects(lo: np.ndarray, hi: np.ndarray, cam: Camera, far: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel rectangles ``[x0, x1) x [y0, y1)`` covering each box's projection (N,) int64 each.

    Boxes entirely behind the near plane or farther than ``far`` get empty rectangles.
    """
    corners = np.where(_CORNER_BITS[None], hi[:, None, :], lo[:, None, :])  # (N, 8, 3)
    X = (corners - cam.C) @ cam.R.T  # (N, 8, 3) camera coordinates
    z = X[..., 2]
    a, b = X[:, _EDGES[:, 0]], X[:, _EDGES[:, 1]]  # (N, 12, 3)
    za, zb = a[..., 2], b[..., 2]
    cross = (za - NEAR) * (zb - NEAR) < 0
    s = np.where(cross, (NEAR - za) / np.where(cross, zb - za, 1.0), 0.0)
    E = a + s[..., None] * (b - a)
    pts = np.concatenate([X, E], axis=1)  # (N, 20, 3)
    ok = np.concatenate([z >= NEAR, cross], axis=1)
    pz = np.where(ok, pts[..., 2], 1.0)
    u = cam.f * pts[..., 0] / pz + cam.cx
    v = cam.f * pts[..., 1] / pz + cam.cy
    big = 1e9
    umin = np.where(ok, u, big).min(1)
    umax = np.where(ok, u, -big).max(1)
    vmin = np.where(ok, v, big).min(1)
    vmax = np.where(ok, v, -big).max(1)
    x0 = np.clip(np.floor(umin), 0, cam.width).astype(np.int64)
    x1 = np.clip(np.floor(umax) + 2, 0, cam.width).astype(np.int64)
    y0 = np.clip(np.floor(vmin), 0, cam.height).astype(np.int64)
    y1 = np.clip(np.floor(vmax) + 2, 0, cam.height).astype(np.int64)
    # distance of the box to the camera centre (0 when inside)
    dist = np.linalg.norm(np.maximum(0, np.maximum(lo - cam.C, cam.C - hi)), axis=1)
    dead = ~ok.any(1) | (dist > far)
    x1 = np.where(dead, x0, x1)
    y1 = np.where(dead, y0, y1)
    return x0, x1, y0, y1


def _pairs(x0, x1, y0, y1, width: int) -> tuple[np.ndarray, np.ndarray]:
    """All (primitive, pixel) pairs of the rectangles: (M,) primitive and (M,) pixel index (int32)."""
    w = np.maximum(x1 - x0, 0)
    h = np.maximum(y1 - y0, 0)
    keep = np.nonzero(w * h)[0]
    if keep.size == 0:
        e = np.empty(0, np.int32)
        return e, e
    h = h[keep].astype(np.int32)
    # one entry per (primitive, row)
    pr = np.repeat(keep.astype(np.int32), h)
    nr = int(h.sum())
    row = np.arange(nr, dtype=np.int32) - np.repeat(np.cumsum(h, dtype=np.int32) - h, h)
    row += y0[pr].astype(np.int32)
    wr = w[pr].astype(np.int32)
    start = row * width + x0[pr].astype(np.int32)
    # expand rows into pixel runs
    total = int(wr.sum())
    prim = np.repeat(pr, wr)
    pix = np.arange(total, dtype=np.int32) + np.repeat(start - (np.cumsum(wr, dtype=np.int32) - wr), wr)
    return prim, pix


def cast(cam: Camera, lo: np.ndarray, hi: np.ndarray, kind: np.ndarray,
         hood: np.ndarray | None = None, far: float = 400.0, D: np.ndarray | None = None) -> Hits:
    """Cast one ray per pixel of ``cam`` against the ground plane y = 0, the primitives with
    frame-``t`` boxes ``lo``/``hi`` (N, 3) and kinds ``kind`` (N,), and the sky.

    ``hood``: optional (H*W,) bool mask of ego-vehicle pixels (drawn in front of all).
    ``D``: optional precomputed ``cam.ray_dirs()``.
    """
    W, H = cam.width, cam.height
    npx = W * H
    if D is None:
        D = cam.ray_dirs()
    C = cam.C
    keys = np.full(npx, _key(np.float32(np.inf), SKY), np.int64)

    # ground plane
    dy = D[1]
    down = dy < -1e-9
    if C[1] > 0:
        tg = np.where(down, -C[1] / np.where(down, dy, -1.0), np.inf)
        gk = _key(tg, GROUND)
        keys = np.where(down & (tg > NEAR), np.minimum(keys, gk), keys)

    # cheap cull: bounding sphere entirely behind the near plane or beyond ``far``
    cand = np.empty(0, np.int64)
    if len(lo):
        ctr = (lo + hi) / 2
        rad = np.sqrt(((hi - lo) ** 2).sum(1)) / 2
        zc = (ctr - C) @ cam.R[2]
        cand = np.nonzero((zc + rad > NEAR) & (zc - rad < far))[0]
    if cand.size:
        x0, x1, y0, y1 = screen_rects(lo[cand], hi[cand], cam, far)
        prim, pix = _pairs(x0, x1, y0, y1, W)
        prim = cand[prim].astype(np.int32)
        if prim.size:
            Dp = D.astype(np.float32)
            inv = 1.0 / np.where(np.abs(Dp) < 1e-12, np.float32(1e-12), Dp)
            lo32 = np.ascontiguousarray((lo - C).T, dtype=np.float32)
            hi32 = np.ascontiguousarray((hi - C).T, dtype=np.float32)
            tn = tf = None
            for ax in (0, 2, 1):
                ia = inv[ax][pix]
                ta = lo32[ax][prim]
                ta *= ia
                tb = hi32[ax][prim]
                tb *= ia
                tmin = np.minimum(ta, tb)
                tmax = np.maximum(ta, tb, out=tb)
                if tn is None:
                    tn, tf = tmin, tmax
                else:
                    np.maximum(tn, tmin, out=tn)
                    np.minimum(tf, tmax, out=tf)
            hit = (tn <= tf) & (tn > NEAR)
            sel = np.nonzero(hit)[0]
            prim, pix, tn = prim[sel], pix[sel], tn[sel]
            k = kind[prim]
            curved = np.nonzero(k != BOX)[0]
            if curved.size:
                tn[curved] = _curved(C, Dp, lo, hi, k[curved], prim[curved], pix[curved],
                                     tn[curved])
                ok = np.isfinite(tn)
                prim, pix, tn = prim[ok], pix[ok], tn[ok]
            np.minimum.at(keys, pix, _key(tn, prim + PRIM0))

    if hood is not None:
        keys = np.where(hood, _key(np.float32(1.5), HOOD), keys)
    code = (keys & _CODE_MASK).astype(np.int32)
    t = (keys >> _CODE_BITS).astype(np.int32).view(np.float32).astype(np.float64)
    # depths were stored as float32 keys; recompute exact ground depths in float64
    g = code == GROUND
    t[g] = -C[1] / D[1][g]
    dn = cam.ray_lengths()
    return Hits(code=code, t=t, D=D, C=np.asarray(C, np.float64), dn=dn)


def _curved(C, D32, lo, hi, k, prim, pix, tn) -> np.ndarray:
    """Exact hit depth (float32) for cylinder / ellipsoid pairs (inf where the ray misses).

    Solved in float32 relative to the ray's entry point into the bounding box (where the
    normalised coordinates are O(1), so the quadratic is well conditioned).
    """
    out = np.full(prim.size, np.inf, np.float32)
    c = ((lo + hi) / 2 - C).T.astype(np.float32)  # (3, N) centres relative to the camera
    ir = (2.0 / (hi - lo)).T.astype(np.float32)  # (3, N) inverse radii
    ell = np.nonzero(k == ELL)[0]
    if ell.size:
        pe, xe, te = prim[ell], pix[ell], tn[ell]
        a = b = cc = None
        for ax in range(3):
            d = D32[ax][xe] * ir[ax][pe]
            o = (D32[ax][xe] * te - c[ax][pe]) * ir[ax][pe]
            if a is None:
                a, b, cc = d * d, o * d, o * o
            else:
                a += d * d
                b += o * d
                cc += o * o
        cc -= 1
        disc = b * b - a * cc
        t1 = (-b - np.sqrt(np.maximum(disc, 0))) / a
        out[ell] = np.where(disc >= 0, te + np.maximum(t1, 0), np.inf)
    cyl = np.nonzero(k == CYL)[0]
    if cyl.size:
        pc, xc, tc = prim[cyl], pix[cyl], tn[cyl]
        dx = D32[0][xc] * ir[0][pc]
        dz = D32[2][xc] * ir[2][pc]
        ox = (D32[0][xc] * tc - c[0][pc]) * ir[0][pc]
        oz = (D32[2][xc] * tc - c[2][pc]) * ir[2][pc]
        a = dx * dx + dz * dz
        b = ox * dx + oz * dz
        cc = ox * ox + oz * oz - 1
        inside = cc <= 1e-5  # entry point already inside the ellipse: cap hit (or tangent side)
        disc = b * b - a * cc
        t1 = (-b - np.sqrt(np.maximum(disc, 0))) / np.maximum(a, 1e-20)
        t = tc + np.maximum(t1, 0)
        y = C[1] + t * D32[1][xc]
        side = (disc >= 0) & (y >= lo[pc, 1] - 1e-4) & (y <= hi[pc, 1] + 1e-4)
        out[cyl] = np.where(inside, tc, np.where(side, t, np.inf))
    return out
