"""Shading: materials, patterns, lighting, sky, haze and the camera's response.

Every appearance term is a function of the object-local hit point (static world: world
coordinates), the surface normal and constants of the snippet, never of the frame index,
so a surface point keeps its colour while it moves (brightness constancy up to haze,
texture filtering and sensor noise) and exact optical flow is meaningful.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import textures as tx
from .camera import Camera
from .raycast import GROUND, HOOD, PRIM0, SKY, Hits
from .scene import (BOX, CYL, EGO_VEHICLE, LID, M_BARK, M_BRICK, M_CABIN, M_CLOTH, M_CONCRETE,
                    M_FENCE, M_FOLIAGE, M_GRASS, M_HEAD, M_METAL, M_OFFICE, M_PAINT, M_PAVING, M_PLASTER,
                    M_SIGN, M_STONE, M_TIRE, M_TLIGHT, N_MAT, World)

# per material: fine texture id, texels per metre, amplitude; coarse texture id, density, amplitude
_TEX = np.zeros((N_MAT, 6), np.float32)
for _m, _row in {
    M_GRASS: (tx.GRASS, 50, 0.9, tx.BLOTCH, 3, 0.5),
    M_PAVING: (tx.FINE, 45, 0.45, tx.BLOTCH, 2.5, 0.45),
    M_PLASTER: (tx.GRAIN, 50, 0.25, tx.BLOTCH, 1.5, 0.45),
    M_BRICK: (tx.FINE, 60, 0.4, tx.BLOTCH, 2.5, 0.35),
    M_OFFICE: (tx.GRAIN, 40, 0.1, tx.BLOTCH, 1.5, 0.3),
    M_CONCRETE: (tx.FINE, 40, 0.35, tx.BLOTCH, 2.5, 0.6),
    M_FENCE: (tx.GRAIN, 40, 0.3, tx.BLOTCH, 3, 0.3),
    M_FOLIAGE: (tx.FOLIAGE, 14, 1.0, tx.BLOTCH, 1.5, 0.5),
    M_BARK: (tx.BARK, 50, 0.8, tx.BLOTCH, 5, 0.3),
    M_METAL: (tx.GRAIN, 40, 0.15, tx.BLOTCH, 4, 0.25),
    M_PAINT: (tx.GRAIN, 40, 0.06, tx.BLOTCH, 3, 0.12),
    M_CABIN: (tx.GRAIN, 40, 0.06, tx.BLOTCH, 3, 0.12),
    M_TIRE: (tx.FINE, 40, 0.3, tx.BLOTCH, 3, 0.1),
    M_CLOTH: (tx.FINE, 70, 0.35, tx.BLOTCH, 6, 0.35),
    M_HEAD: (tx.FINE, 70, 0.2, tx.BLOTCH, 8, 0.1),
    M_SIGN: (tx.GRAIN, 60, 0.1, tx.BLOTCH, 5, 0.12),
    M_TLIGHT: (tx.GRAIN, 60, 0.1, tx.BLOTCH, 5, 0.1),
    M_STONE: (tx.FINE, 30, 0.5, tx.BLOTCH, 2, 0.5),
}.items():
    _TEX[_m] = _row
_ROAD_TEX = (tx.FINE, 40.0, 0.35, tx.BLOTCH, 1.2)

# labels whose surfaces take cast shadows of tall things (buildings, trees); buildings and
# vegetation themselves are lit by their normal only
_SHADOWED = np.zeros(256, bool)
for _n in ("sidewalk", "wall", "fence", "pole", "traffic_light", "traffic_sign", "terrain",
           "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"):
    _SHADOWED[LID[_n]] = True

GLASS = np.array([0.035, 0.045, 0.055], np.float32)


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _hash2(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer cell (i, j)."""
    h = (i.astype(np.int64) * 73856093) ^ (j.astype(np.int64) * 19349663)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float32) / 65536.0


class Surface:
    """Geometry of the primitive-hit pixels of one frame, float32.

    ``q``: (M, 3) object-local hit point (metres from the box's low corner); ``size``: (M, 3)
    box size; ``n``: (M, 3) unit normal; ``axis``: 0 / 2 vertical box face normal to x / z,
    1 horizontal face or cap, 3 curved side; ``h``, ``v``: surface coordinates (metres,
    horizontal along the face and vertical); ``width_h``: face width along ``h``.
    """

    def __init__(self, world: World, hits: Hits, idx: np.ndarray, frame: float) -> None:
        pr = world.prims
        self.idx = idx
        self.pid = pid = hits.code[idx] - PRIM0
        t = hits.t[idx]
        P = hits.C[None, :] + np.take(hits.D, idx, axis=1).T * t[:, None]  # float64 world points
        self.P = P
        lo_t = pr.lo + world.vel[pr.obj] * frame  # (N_prims, 3) boxes at this frame
        q = (P - np.take(lo_t, pid, axis=0)).astype(np.float32)
        size = np.take(pr.size32, pid, axis=0)
        self.q, self.size = q, size
        kind = np.take(pr.kind, pid)
        dlo = np.abs(q)
        dhi = np.abs(size - q)
        dm = np.minimum(dlo, dhi)
        d0, d1, d2 = dm[:, 0], dm[:, 1], dm[:, 2]
        axis = np.where(d0 <= d2, np.where(d0 <= d1, 0, 1), np.where(d2 <= d1, 2, 1))
        rows = np.arange(idx.size)
        n = np.zeros_like(q)
        n[rows, axis] = np.where(dlo[rows, axis] < dhi[rows, axis], -1.0, 1.0)
        h = np.where(axis == 0, q[:, 2], q[:, 0])
        v = np.where(axis == 1, q[:, 2], q[:, 1])
        cv = np.nonzero(kind != BOX)[0]
        if cv.size:
            r = size[cv] / 2
            rel = q[cv] - r
            g = rel / np.maximum(r, 1e-6) ** 2
            cyl = kind[cv] == CYL
            g[cyl, 1] = 0
            cap = cyl & ((dlo[cv, 1] < 1e-3) | (dhi[cv, 1] < 1e-3))
            g[cap] = 0
            g[cap, 1] = np.where(dhi[cv[cap], 1] < dlo[cv[cap], 1], 1.0, -1.0)
            g /= np.maximum(np.sqrt((g * g).sum(1)), 1e-9)[:, None]
            n[cv] = g
            axis[cv] = np.where(cap, 1, 3)
            side = ~cap
            h[cv[side]] = np.arctan2(rel[side, 2], rel[side, 0]) * (r[side, 0] + r[side, 2]) / 2
            v[cv[side]] = q[cv[side], 1]
        self.n, self.axis, self.h, self.v, self.kind = n, axis, h, v, kind
        self.width_h = np.where(axis == 0, size[:, 2], size[:, 0])


def shade(world: World, hits: Hits, cam: Camera, frame: float, atlas: np.ndarray,
          occ_all: np.ndarray | None, occ_tall: np.ndarray | None,
          hood_rgb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Linear radiance (N, 3) float32 and Cityscapes label ids (N,) uint8 of one frame.

    ``occ_all`` / ``occ_tall``: (nz, nx) uint8 sun-occlusion maps on the ground (255 = full
    shadow) for all casters / tall casters, in the grid of ``world.shadow``.
    """
    env = world.env
    N = hits.code.size
    rgb = np.zeros((N, 3), np.float32)
    label = np.zeros(N, np.uint8)
    code = hits.code
    pr = world.prims
    sun = env.sun_dir.astype(np.float32)
    kshift = -np.array([sun[0], sun[2]]) / max(sun[1], 0.05)  # ground offset per metre height
    amb = env.ambient.astype(np.float32)
    suncol = env.sun_color.astype(np.float32)

    def occlusion(x, y, z, occ):
        """Sun occlusion 0..1 of points (x, y, z): the map at the ground point of their sun ray."""
        if occ is None or world.shadow is None:
            return np.zeros(x.size, np.float32)
        sm = world.shadow
        nz, nx = occ.shape
        gz = (z + y * kshift[1] - sm.z0) / sm.cell
        gx = (x + y * kshift[0] - sm.x0) / sm.cell
        i = np.clip(gz, 0, nz - 1).astype(np.int32)
        j = np.clip(gx, 0, nx - 1).astype(np.int32)
        return occ[i, j] * np.float32(1 / 255)

    # ---------------------------------------------------------------- ground plane
    gi = np.nonzero(code == GROUND)[0]
    if gi.size:
        t = hits.t[gi]
        x = hits.C[0] + hits.D[0, gi] * t
        z = hits.C[2] + hits.D[2, gi] * t
        gr = world.ground
        road = (x >= gr.road_x[0]) & (x <= gr.road_x[1])
        for z0, z1 in gr.cross:
            road |= (z >= z0) & (z <= z1)
        fp = (t / cam.f / np.maximum(-hits.D[1, gi] / hits.dn[gi], 0.03)).astype(np.float32)
        tg = _TEX[M_GRASS]
        tid, dens, amp, cid, cdens, camp = (np.where(road, r, g).astype(np.float32) for r, g in zip(
            (_ROAD_TEX[0], _ROAD_TEX[1], _ROAD_TEX[2], _ROAD_TEX[3], _ROAD_TEX[4], gr.patch_amp),
            tg))
        f1 = tx.sample(atlas, tid, x * dens, z * dens)
        c1 = tx.sample(atlas, cid, x * cdens + 17, z * cdens * np.where(road, 0.5, 1.0))
        att = 1.0 / np.maximum(1.0, fp * dens / 1.5)
        a = (1 + amp * att * (f1 - 1)) * (1 + camp * (c1 - 1))
        base = np.where(road[:, None], np.asarray(gr.road_color, np.float32),
                        np.asarray(gr.terrain_color, np.float32))
        alb = base * a[:, None]
        ri = np.nonzero(road)[0]
        mark = _road_marks(gr, x[ri], z[ri])
        if mark.any():
            mi = ri[mark]
            wear = 0.8 + 0.2 * np.clip(f1[mi], 0.5, 1.5)
            alb[mi] = np.asarray(gr.mark_color, np.float32)[None, :] * wear[:, None]
        label[gi] = np.where(road, LID["road"], LID["terrain"])
        vis = 1 - np.float32(env.shadow_strength) * occlusion(x, 0.0, z, occ_all)
        irr = amb[None, :] + suncol[None, :] * (max(sun[1], 0) * vis)[:, None]
        rgb[gi] = alb * irr

    # ---------------------------------------------------------------- primitives
    pi = np.nonzero(code >= PRIM0)[0]
    if pi.size:
        s = Surface(world, hits, pi, frame)
        pid = s.pid
        mat = np.take(pr.mat, pid)
        tp = np.take(_TEX, mat, axis=0)
        D = np.take(hits.D, pi, axis=1)
        ndv = np.abs(s.n[:, 0] * D[0] + s.n[:, 1] * D[1] + s.n[:, 2] * D[2]) / hits.dn[pi]
        fp = (hits.t[pi] / cam.f / np.maximum(ndv, 0.05)).astype(np.float32)
        toff = np.take(pr.toff, pid, axis=0)
        u_m = s.h + toff[:, 0]
        v_m = s.v + toff[:, 1]
        f1 = tx.sample(atlas, tp[:, 0], u_m * tp[:, 1], v_m * tp[:, 1])
        c1 = tx.sample(atlas, tp[:, 3], u_m * tp[:, 4] + 31, v_m * tp[:, 4])
        att = 1.0 / np.maximum(1.0, fp * tp[:, 1] / 1.5)
        a = (1 + tp[:, 2] * att * (f1 - 1)) * (1 + tp[:, 5] * (c1 - 1))
        alb = np.take(pr.color, pid, axis=0) * a[:, None]
        emit = np.zeros_like(alb)
        _patterns(world, s, mat, alb, emit, fp, f1)
        lab = np.take(pr.label, pid)
        label[pi] = lab
        vis = np.ones(pi.size, np.float32)
        sh = np.nonzero(_SHADOWED[lab])[0]
        if sh.size:
            P = s.P[sh]
            low = P[:, 1] < 0.4
            o = np.empty(sh.size, np.float32)
            for m, occ in ((low, occ_all), (~low, occ_tall)):
                if m.any():
                    o[m] = occlusion(P[m, 0], P[m, 1], P[m, 2], occ)
            vis[sh] = 1 - np.float32(env.shadow_strength) * o
        w = np.empty((pi.size, 2), np.float32)
        w[:, 0] = 0.7 + 0.3 * s.n[:, 1]
        w[:, 1] = np.maximum(s.n @ sun, 0) * vis
        irr = w @ np.stack([amb, suncol])  # (M, 3): sky light + direct sun
        rgb[pi] = alb * irr + emit

    # ---------------------------------------------------------------- sky
    si = np.nonzero(code == SKY)[0]
    if si.size:
        rgb[si] = sky_radiance(env, hits.D[:, si], atlas)
        label[si] = LID["sky"]

    # ---------------------------------------------------------------- haze
    fin = (code != SKY) & (code != HOOD)
    if fin.any():
        dist = np.where(fin, hits.t, 0.0) * hits.dn
        k = np.exp(dist * (-1.0 / env.fog_dist)).astype(np.float32)[:, None]
        rgb *= k
        rgb += env.sky_horizon[None, :].astype(np.float32) * (1 - k)

    hi = np.nonzero(code == HOOD)[0]
    if hi.size:
        rgb[hi] = hood_rgb[hi] if hood_rgb is not None else 0.02
        label[hi] = EGO_VEHICLE
    return rgb, label


def sky_radiance(env, D: np.ndarray, atlas: np.ndarray) -> np.ndarray:
    """(M, 3) float32 sky radiance for world directions D (3, M); depends on direction only."""
    d = D / np.linalg.norm(D, axis=0)
    el = np.arcsin(np.clip(d[1], -1, 1))
    w = (1 - np.exp(-np.maximum(el, 0) * 3.0))[:, None]
    col = env.sky_horizon[None, :] * (1 - w) + env.sky_zenith[None, :] * w
    if env.cloud_amount > 0:
        az = np.arctan2(d[0], d[2])
        # clouds on a plane: horizontal coordinates stretch towards the horizon
        e = np.maximum(el, 0.02)
        cu = az * 40.0
        cv = 25.0 / np.tan(e) * 0.15 + el * 30.0
        c = tx.sample(atlas, np.full(d.shape[1], tx.CLOUD), cu, cv)
        cover = np.clip((c + 2.2 * env.cloud_amount - 1.2) * 1.5, 0, 1)[:, None]
        cloud = env.sky_horizon[None, :] * 1.05 * (0.8 + 0.2 * np.clip(c, -1, 2)[:, None] / 2)
        col = col * (1 - cover) + cloud * cover
    return col.astype(np.float32)


def _road_marks(gr, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    mark = np.zeros(x.size, bool)
    incross = np.zeros(x.size, bool)
    for z0, z1 in gr.cross:
        incross |= (z >= z0) & (z <= z1)
    for xc, hw, dash, period, phase in gr.lines:
        m = np.abs(x - xc) < hw
        if period > 0:
            m &= _frac((z - phase) / period) < dash / period
        mark |= m & ~incross
    for z0, z1, sw, sp in gr.zebras:
        m = (z >= z0) & (z <= z1) & (x > gr.road_x[0] + 0.3) & (x < gr.road_x[1] - 0.3)
        m &= _frac(x / sp) < sw / sp
        mark |= m
    return mark


def _patterns(world: World, s: Surface, mat: np.ndarray, alb: np.ndarray, emit: np.ndarray,
              fp: np.ndarray, f1: np.ndarray) -> None:
    """Material patterns (windows, tiles, lights, ...) written into ``alb`` / ``emit``."""
    pr = world.prims
    par = np.take(pr.param, s.pid, axis=0)
    vert = (s.axis == 0) | (s.axis == 2)

    def sel(m):
        return np.nonzero(mat == m)[0]

    # facades with windows
    for m in (M_PLASTER, M_BRICK, M_STONE):
        i = sel(m)
        i = i[vert[i]]
        if i.size == 0:
            continue
        p = par[i]
        shop = p[:, 0] < 0
        sx, fh, wf, hf = np.abs(p[:, 0]), p[:, 1], p[:, 2], p[:, 3]
        h, v = s.h[i], s.v[i]
        wid, hgt = s.width_h[i], s.size[i, 1]
        nx = np.maximum(np.floor((wid - 1.0) / sx), 1)
        x0 = (wid - nx * sx) / 2
        cx = (h - x0) / sx
        cy = v / fh
        fx, fy = _frac(cx), _frac(cy)
        inside = (cx >= 0) & (cx < nx) & (v > fh) & (v < hgt - 0.8)
        win = inside & (np.abs(fx - 0.5) < wf / 2) & (np.abs(fy - 0.5) < hf / 2)
        sho = shop & (v > 0.3) & (v < fh * 0.8) & (np.abs(fx - 0.5) < 0.42) & (cx >= 0) & (cx < nx)
        # a frame / sill a little lighter than the wall
        frame = inside & (np.abs(fx - 0.5) < wf / 2 + 0.06) & (np.abs(fy - 0.5) < hf / 2 + 0.05)
        alb[i[frame & ~win]] *= 1.25
        g = win | sho
        if g.any():
            rnd = _hash2(np.floor(cx[g]), np.floor(cy[g]) + 1000 * s.pid[i[g]])
            refl = 0.06 + 0.22 * rnd ** 2
            tint = GLASS[None, :] + refl[:, None] * world.env.sky_horizon[None, :] * 0.35
            curtain = rnd > 0.82
            tint[curtain] = 0.25 + 0.2 * rnd[curtain, None]
            alb[i[g]] = tint
    # office glass curtain walls
    i = sel(M_OFFICE)
    i = i[vert[i]]
    if i.size:
        p = par[i]
        fx, fy = _frac(s.h[i] / p[:, 0]), _frac(s.v[i] / p[:, 1])
        mull = (fx < 0.06) | (fy < 0.12)
        rnd = _hash2(np.floor(s.h[i] / p[:, 0]), np.floor(s.v[i] / p[:, 1]))
        glass = pr.color[s.pid[i]] * 0.5 + (0.05 + 0.15 * rnd)[:, None] * world.env.sky_horizon[None, :]
        alb[i] = np.where(mull[:, None], np.array([0.25, 0.25, 0.26], np.float32), glass)
    # walls: panel seams
    i = sel(M_CONCRETE)
    if i.size:
        p = par[i]
        ok = vert[i] & (p[:, 0] > 0)
        seam = ok & (_frac(s.h[i] / np.maximum(p[:, 0], 1e-3)) < 0.02 / np.maximum(p[:, 0], 1e-3) + 0.015)
        alb[i[seam]] *= 0.6
    # fences: vertical bars / boards
    i = sel(M_FENCE)
    if i.size:
        p = par[i]
        bar = _frac(s.h[i] / p[:, 0]) < p[:, 1]
        rail = (np.abs(s.v[i] - s.size[i, 1] * 0.85) < 0.04) | (np.abs(s.v[i] - 0.15) < 0.04)
        solid = bar | rail
        # between the bars: dark gap (what lies behind, in shadow)
        gap = ~solid  # what shows between the bars: a mid-tone, greenish background
        alb[i[gap]] = alb[i[gap]] * 0.25 + np.array([0.06, 0.08, 0.05], np.float32) * f1[i[gap], None]
    # sidewalk tiles and kerbs
    i = sel(M_PAVING)
    if i.size:
        top = s.axis[i] == 1
        ts = np.maximum(par[i, 0], 0.1)
        qx, qz = s.q[i, 0], s.q[i, 2]
        line = _frac(qx / ts) < 0.05 / ts * 0.6 + 0.02
        line |= _frac(qz / ts) < 0.05 / ts * 0.6 + 0.02
        aa = np.clip(fp[i] / 0.05, 0, 1)  # fade the lines out where they are sub-pixel
        tile = 1 + 0.12 * (_hash2(np.floor(qx / ts), np.floor(qz / ts)) - 0.5)
        fac = np.where(top, np.where(line, 0.7 * (1 - aa) + 0.92 * aa, tile), 1.2)
        alb[i] *= fac[:, None]
    i = sel(M_GRASS)
    if i.size:
        side = s.axis[i] != 1
        alb[i[side]] = np.array([0.3, 0.3, 0.29], np.float32) * f1[i[side], None]
    # vehicle bodies: window bands (bus, tram, truck cab) and lights
    i = sel(M_PAINT)
    if i.size:
        p = par[i]
        v = s.v[i]
        band = vert[i] & (p[:, 1] > p[:, 0]) & (v > p[:, 0]) & (v < p[:, 1])
        band &= _frac(s.h[i] / np.maximum(p[:, 2], 0.3)) > 0.1
        band &= (s.h[i] > 0.25) & (s.h[i] < s.width_h[i] - 0.25)
        alb[i[band]] = GLASS + 0.08 * world.env.sky_horizon
        zf = (s.axis[i] == 2) & (p[:, 3] != 0)
        if zf.any():
            front = np.sign(s.n[i, 2]) == np.sign(p[:, 3])
            hx = s.h[i]
            wid = s.width_h[i]
            lamp = zf & (v > 0.5) & (v < 0.68) & (((hx > 0.1) & (hx < 0.4)) | ((hx < wid - 0.1) & (hx > wid - 0.4)))
            fr = lamp & front
            bk = lamp & ~front
            alb[i[fr]] = 0.7
            emit[i[fr]] = 0.15
            alb[i[bk]] = np.array([0.5, 0.03, 0.02], np.float32)
            emit[i[bk]] = np.array([0.08, 0.0, 0.0], np.float32)
            grille = zf & front & (v > 0.3) & (v < 0.5) & (hx > 0.5) & (hx < wid - 0.5)
            alb[i[grille]] *= 0.3
    i = sel(M_CABIN)
    if i.size:
        v = s.v[i]
        hx, wid = s.h[i], s.width_h[i]
        glass = vert[i] & (v > 0.06) & (v < s.size[i, 1] - 0.07) & (hx > 0.1) & (hx < wid - 0.1)
        # B-pillar on the long sides
        glass &= ~((s.axis[i] == 0) & (np.abs(hx - wid * 0.5) < 0.06))
        rnd = _frac(f1[i] * 3.1)
        alb[i[glass]] = GLASS + (0.06 + 0.08 * rnd[glass])[:, None] * world.env.sky_horizon
    # spoked wheels: inside the tyre ring, thin spokes over a mid-grey (what shows through)
    i = sel(M_TIRE)
    if i.size:
        i = i[par[i, 0] > 0]
        if i.size:
            r = s.size[i] / 2
            rel = s.q[i] - r
            rad = np.sqrt((rel[:, 1] / r[:, 1]) ** 2 + (rel[:, 2] / r[:, 2]) ** 2)
            inner = rad < 0.78
            alb[i[inner]] = (0.12 + 0.1 * f1[i[inner]])[:, None] * np.array([1.0, 1.0, 0.95], np.float32)
    # heads: hair on top / back
    i = sel(M_HEAD)
    if i.size:
        hair = s.v[i] > s.size[i, 1] * (0.55 + 0.1 * np.sin(s.h[i] * 9))
        alb[i[hair]] = par[i[hair], :3]
    # traffic signs: coloured border on the face towards -z (the driver)
    i = sel(M_SIGN)
    if i.size:
        face = (s.axis[i] == 2) & (s.n[i, 2] < 0)
        back = ~face
        alb[i[back]] = 0.3 * (0.9 + 0.1 * f1[i[back], None])
        fi = i[face]
        if fi.size:
            bx = np.minimum(s.h[fi], s.width_h[fi] - s.h[fi]) / s.width_h[fi]
            by = np.minimum(s.v[fi], s.size[fi, 1] - s.v[fi]) / s.size[fi, 1]
            bd = np.minimum(bx, by) < par[fi, 3]
            alb[fi[bd]] = par[fi[bd], :3]
    # traffic lights: three lamps on the face towards -z, one lit
    i = sel(M_TLIGHT)
    if i.size:
        face = (s.axis[i] == 2) & (s.n[i, 2] < 0)
        fi = i[face]
        if fi.size:
            w, hh = s.width_h[fi], s.size[fi, 1]
            du = s.h[fi] - w / 2
            k = np.clip(np.floor(3 * s.v[fi] / hh), 0, 2)  # 0 bottom (green) .. 2 top (red)
            dv = s.v[fi] - (k + 0.5) * hh / 3
            lamp = du ** 2 + dv ** 2 < (0.32 * w) ** 2
            lit = lamp & (k == par[fi, 0])
            cols = np.array([[0.1, 0.9, 0.4], [1.0, 0.65, 0.05], [1.0, 0.1, 0.05]], np.float32)
            alb[fi[lamp]] = 0.03
            emit[fi[lit]] = cols[k[lit].astype(int)] * 1.2
    # bark and tyres need nothing beyond texture; metal poles get a faint vertical sheen
    i = sel(M_METAL)
    if i.size:
        curved = s.kind[i] == CYL
        alb[i[curved]] *= (0.85 + 0.3 * np.clip(s.n[i[curved], 0] * 0.5 + 0.5, 0, 1))[:, None]


def hood_radiance(cam: Camera, hood: np.ndarray, env) -> np.ndarray:
    """(N, 3) float32 radiance of ego-vehicle hood pixels: dark paint reflecting the sky."""
    N = cam.width * cam.height
    rgb = np.zeros((N, 3), np.float32)
    v = np.repeat(np.arange(cam.height), cam.width)
    u = np.tile(np.arange(cam.width), cam.height)
    row = (v - cam.height * 0.85) / (cam.height * 0.15)
    refl = np.clip(0.35 - 0.3 * row, 0.02, 0.35) * (1 - 0.3 * np.abs(u / cam.width - 0.5))
    base = np.array([0.02, 0.022, 0.025], np.float32)
    val = base[None, :] + refl[:, None] * env.sky_horizon[None, :] * 0.5
    rgb[hood] = val[hood]
    return rgb


def hood_mask(width: int, height: int, depth: float) -> np.ndarray:
    """(H*W,) bool ego-vehicle hood: a flat arc whose top is ``depth`` x height above the bottom."""
    v, u = np.mgrid[0:height, 0:width]
    xn = (u - (width - 1) / 2) / (width / 2)
    top = height * (1 - depth * (1 - 0.45 * xn ** 2))
    return (v >= top).ravel()


_GAMMA_LUT = (255.0 * np.power(np.linspace(0, 1, 4097), 1 / 2.2)).astype(np.float32)


def to_srgb8(rgb_lin: np.ndarray, env, width: int, height: int, rng: np.random.Generator,
             blur: float = 0.8) -> np.ndarray:
    """Camera response: exposure, white balance, optics blur, gamma, sensor noise -> (H, W, 3) uint8."""
    gain = (env.exposure * env.white_balance).astype(np.float32)
    img = rgb_lin.reshape(height, width, 3) * gain[None, None, :]
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    np.maximum(img, 0, out=img)
    img = 1.15 * img / (1 + 0.15 * img)  # soft highlight shoulder, 1 -> 1
    out = _GAMMA_LUT[(np.minimum(img, 1) * 4096).astype(np.int32)]
    if env.noise_sigma > 0:
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(env.noise_sigma)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
