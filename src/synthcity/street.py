"""Random street worlds: one per snippet (and per iconic image), drawn from a seeded RNG.

A street runs along +Z: a road with lanes (and parking lanes), kerbs and sidewalks,
optional grass strips, lots with building facades, parks, walls and fences, crossings
with zebra stripes and traffic lights, street trees, lamps and signs, parked and moving
vehicles, pedestrians, cyclists. The ego camera drives along the rightmost lane.

``density`` multiplies the expected number of instances per class (keys:
:data:`DENSITY_KEYS`), e.g. ``{"train": 3.0}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import objects as ob
from .camera import Camera, intrinsics, orientation
from .objects import lin, pick, vary
from .scene import (M_BRICK, M_CONCRETE, M_FENCE, M_GRASS, M_OFFICE, M_PAVING, M_PLASTER, M_STONE,
                    Env, Ground, SceneBuilder, World)
from .shadows import static_maps

DENSITY_KEYS = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
                "vegetation", "pole", "traffic_sign", "traffic_light", "wall", "fence", "terrain",
                "building")

CITY_STYLES = {  # facade material weights: plaster, brick, office, stone; tree-alley probability
    "alphaville": dict(facade=(0.55, 0.15, 0.15, 0.15), trees=0.55),
    "brickton": dict(facade=(0.35, 0.4, 0.1, 0.15), trees=0.45),
    "cedarfield": dict(facade=(0.45, 0.25, 0.1, 0.2), trees=0.65),
}

PLASTER = [(228, 224, 215), (232, 220, 190), (205, 190, 165), (172, 172, 170), (135, 135, 135),
           (100, 100, 104), (222, 205, 150), (212, 165, 145), (175, 188, 198), (182, 196, 172),
           (190, 150, 110), (160, 130, 115)]
BRICK = [(150, 78, 58), (122, 62, 47), (172, 104, 78), (102, 58, 48), (140, 110, 90)]
OFFICE = [(70, 88, 104), (92, 100, 112), (60, 72, 72), (110, 115, 110)]
STONE = [(150, 145, 135), (120, 118, 112), (175, 168, 150), (95, 95, 92)]


@dataclass
class CameraPath:
    """Ego camera per frame: centres (F, 3) metres, yaw/pitch/roll (F,) radians."""

    C: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    focal: float

    def camera(self, frame: int, width: int, height: int) -> Camera:
        f, cx, cy = intrinsics(width, height, self.focal)
        R = orientation(self.yaw[frame], self.pitch[frame], self.roll[frame])
        return Camera(R=R, C=self.C[frame].copy(), f=f, cx=cx, cy=cy, width=width, height=height)


def random_env(rng: np.random.Generator) -> Env:
    """Weather, sun, sky, haze, exposure, white balance and sensor noise for one snippet."""
    w = rng.choice(3, p=[0.45, 0.25, 0.30])  # sunny, hazy, overcast
    el = np.radians(rng.uniform(18, 60))
    az = rng.uniform(0, 2 * np.pi)
    sun_dir = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    warm = rng.uniform(-0.06, 0.1)
    if w == 0:
        sun = np.array([1.0, 0.96 - warm * 0.5, 0.9 - warm]) * rng.uniform(2.0, 2.8)
        amb = np.array([0.42, 0.48, 0.6]) * rng.uniform(0.45, 0.7)
        hor = np.array([0.72, 0.8, 0.9]) * rng.uniform(0.9, 1.1)
        zen = np.array([0.22, 0.38, 0.75]) * rng.uniform(0.8, 1.1)
        clouds, fog, shadow = rng.uniform(0.0, 0.55), rng.uniform(180, 450), rng.uniform(0.75, 0.92)
    elif w == 1:
        sun = np.array([1.0, 0.95, 0.88]) * rng.uniform(1.0, 1.6)
        amb = np.array([0.55, 0.58, 0.63]) * rng.uniform(0.6, 0.85)
        hor = np.array([0.8, 0.82, 0.85]) * rng.uniform(0.9, 1.1)
        zen = np.array([0.45, 0.55, 0.72]) * rng.uniform(0.85, 1.05)
        clouds, fog, shadow = rng.uniform(0.3, 0.8), rng.uniform(100, 250), rng.uniform(0.4, 0.65)
    else:
        sun = np.array([1.0, 1.0, 1.0]) * rng.uniform(0.15, 0.4)
        amb = np.array([0.85, 0.87, 0.9]) * rng.uniform(0.8, 1.15)
        g = rng.uniform(0.7, 0.95)
        hor = np.array([g, g, g * 1.02])
        zen = hor * rng.uniform(0.85, 0.98)
        clouds, fog, shadow = rng.uniform(0.7, 1.0), rng.uniform(80, 200), rng.uniform(0.1, 0.25)
    wb = np.array([1 + warm, 1.0 + rng.uniform(-0.03, 0.03), 1 - warm])
    return Env(sun_dir=sun_dir, sun_color=sun, ambient=amb, sky_horizon=hor, sky_zenith=zen,
               cloud_amount=float(clouds), fog_dist=float(fog),
               exposure=float(rng.uniform(0.75, 1.25)), white_balance=wb,
               noise_sigma=float(rng.uniform(1.5, 4.5)), shadow_strength=float(shadow))


class Street:
    """Generator of one street world; call :meth:`build`.

    ``frames``: snippet length; ``city``: style (facade materials, trees); ``density``:
    per-class multipliers; ``ego_speed``: metres per frame (None: random); ``ahead``: street
    length beyond the last camera position, metres; ``force``: a class name of which one
    more instance is placed 8-50 m ahead of the first camera position (iconic images).
    """

    def __init__(self, rng: np.random.Generator, frames: int, city: str = "alphaville",
                 density: dict[str, float] | None = None, ego_speed: float | None = None,
                 ahead: float = 260.0, force: str | None = None) -> None:
        self.rng = rng
        self.frames = frames
        self.style = CITY_STYLES.get(city, CITY_STYLES["alphaville"])
        self.dens = {k: 1.0 for k in DENSITY_KEYS}
        for k, v in (density or {}).items():
            if k not in self.dens:
                raise KeyError(f"synthcity density: unknown class {k!r}; known: {', '.join(DENSITY_KEYS)}")
            self.dens[k] = float(v)
        self.b = SceneBuilder(rng)
        self.ego_speed = ego_speed
        self.ahead = ahead
        self.force = force
        self.side_geo: dict[int, tuple[float, float, float]] = {}  # side -> kerb, e0, e1 (x)

    def n(self, key: str, mean: float) -> int:
        """Poisson count with mean ``mean`` x density[key]."""
        return int(self.rng.poisson(max(mean, 0.0) * self.dens[key]))

    def p(self, key: str, prob: float) -> bool:
        return bool(self.rng.random() < min(1.0, prob * self.dens[key]))

    # ------------------------------------------------------------------ layout
    def build(self) -> tuple[World, CameraPath]:
        rng, b = self.rng, self.b
        F = self.frames
        lane = rng.uniform(3.0, 3.5)
        self.lanes = int(rng.choice([1, 2], p=[0.55, 0.45]))
        park_l = 2.2 if rng.random() < 0.55 else 0.0
        park_r = 2.2 if rng.random() < 0.6 else 0.0
        self.lane_w = lane
        self.park = {-1: park_l, 1: park_r}
        self.road_x = (-(self.lanes * lane + park_l), self.lanes * lane + park_r)
        self.curb = rng.uniform(0.1, 0.17)

        # ego motion
        if self.ego_speed is not None:
            v = self.ego_speed
        else:
            v = rng.uniform(0.0, 0.04) if rng.random() < 0.1 else rng.uniform(0.25, 0.8)
        self.v_ego = v
        ego_lane = self.lanes - 1 if rng.random() < 0.8 else 0
        x_cam = (ego_lane + 0.5) * lane
        self.x_cam = x_cam
        f = np.arange(F, dtype=np.float64)
        acc = rng.uniform(-0.004, 0.004) if v > 0.1 else 0.0
        zc = v * f + 0.5 * acc * f ** 2
        ph = rng.uniform(0, 2 * np.pi, 4)
        xc = x_cam + rng.uniform(-0.3, 0.3) + 0.08 * np.sin(0.15 * f + ph[0])
        yc = rng.uniform(1.2, 1.45) + 0.01 * np.sin(0.9 * f + ph[1])
        yaw = rng.normal(0, 0.012) + 0.004 * np.sin(0.2 * f + ph[2])
        pitch = rng.uniform(-0.065, -0.025) + 0.003 * np.sin(0.7 * f + ph[3])
        roll = rng.normal(0, 0.006) + 0.0015 * np.sin(0.5 * f + ph[0])
        path = CameraPath(C=np.stack([xc, np.broadcast_to(yc, f.shape), zc], 1), yaw=yaw,
                          pitch=np.broadcast_to(pitch, f.shape).copy(),
                          roll=np.broadcast_to(roll, f.shape).copy(), focal=2262.0 / 2048.0)
        self.z_cam0, self.z_cam1 = float(zc[0]), float(zc[-1])
        self.z_lo = self.z_cam0 - 30
        self.z_hi = self.z_cam1 + self.ahead

        # crossings
        self.cross: list[tuple[float, float]] = []
        if rng.random() < 0.55 or self.dens["traffic_light"] >= 2:
            zc0 = self.z_cam1 + rng.uniform(12, min(120, self.ahead - 40))
            w = rng.uniform(11, 20)
            self.cross.append((zc0 - w / 2, zc0 + w / 2))
            zc1 = zc0 + w / 2 + rng.uniform(60, 110)
            w1 = rng.uniform(10, 16)
            if rng.random() < 0.35 and zc1 + w1 / 2 < self.z_hi - 20:
                self.cross.append((zc1 - w1 / 2, zc1 + w1 / 2))
        blocks = []
        z = self.z_lo
        for z0, z1 in self.cross:
            blocks.append((z, z0))
            z = z1
        blocks.append((z, self.z_hi))
        self.blocks = blocks

        lines = self._lane_lines()
        zebras = []
        for z0, z1 in self.cross:
            d = rng.uniform(3.0, 4.0)
            if rng.random() < 0.8:
                zebras.append((z0 - 0.5 - d, z0 - 0.5, 0.5, 1.0))
        road_col = vary(rng, lin(*[rng.uniform(78, 125)] * 3), 0.04)
        terr = vary(rng, lin(*pick(rng, [(110, 130, 60), (95, 120, 55), (130, 135, 75),
                                          (120, 110, 70)])), 0.08)
        ground = Ground(road_x=self.road_x, cross=list(self.cross), road_color=road_col,
                        terrain_color=terr, lines=lines, zebras=zebras,
                        mark_color=vary(rng, lin(215, 215, 210), 0.04),
                        patch_amp=float(rng.uniform(0.1, 0.35)))
        self.ground = ground

        for side in (-1, 1):
            self._side(side)
        self._crossing_furniture()
        self._traffic()
        if self.force:
            self._force_instance(self.force)

        prims, vel = b.build()
        env = random_env(rng)
        world = World(prims=prims, vel=vel, ground=ground, env=env)
        sm, occ_all, occ_tall = static_maps(world)
        world.shadow, world.occ_all, world.occ_tall = sm, occ_all, occ_tall
        return world, path

    def _lane_lines(self) -> list:
        rng = self.rng
        lw, n = self.lane_w, self.lanes
        hw = rng.uniform(0.06, 0.08)
        phase = rng.uniform(0, 12)
        lines = []
        # centre line: dashed on small streets, solid (double) on larger ones
        if n == 1 or rng.random() < 0.5:
            lines.append((0.0, hw, 3.0, 9.0, phase))
        else:
            lines += [(-0.15, hw, 0, 0, 0), (0.15, hw, 0, 0, 0)]
        for k in range(1, n):
            lines += [(k * lw, hw, 3.0, 9.0, phase + 2), (-k * lw, hw, 3.0, 9.0, phase + 5)]
        for side in (-1, 1):
            if self.park[side] > 0 and rng.random() < 0.7:
                lines.append((side * n * lw, hw * 1.3, 0, 0, 0))
        return lines

    # ------------------------------------------------------------------ one side of the street
    def _side(self, side: int) -> None:
        rng, b = self.rng, self.b
        edge = self.road_x[1] if side > 0 else self.road_x[0]
        grass = rng.uniform(1.0, 2.5) if self.p("terrain", 0.22) else 0.0
        sw = rng.uniform(2.2, 5.0)
        e0 = edge + side * grass
        e1 = e0 + side * sw
        pave = vary(rng, lin(*[rng.uniform(105, 165)] * 3), 0.05)
        if rng.random() < 0.2:
            pave = vary(rng, lin(*pick(rng, [(165, 130, 110), (180, 165, 140), (140, 125, 120)])))
        tile = rng.uniform(0.3, 0.6)
        self.side_geo[side] = (edge, e0, e1)
        alley = self.p("vegetation", self.style["trees"])
        tree_dx = edge + side * (grass / 2 if grass else 0.7)
        tree_step = rng.uniform(7, 13)
        lamp_step = rng.uniform(15, 28)
        lamp_both = rng.random() < 0.7
        for bi, (z0, z1) in enumerate(self.blocks):
            near_cross_lo = bi > 0
            near_cross_hi = bi < len(self.blocks) - 1
            b.box(e0, e1, 0, self.curb, z0, z1, "sidewalk", M_PAVING, pave, (tile, 0, 0, 0))
            if grass:
                b.box(edge, e0, 0, self.curb, z0, z1, "terrain", M_GRASS, self.ground.terrain_color)
            # sidewalks along the cross street at the corners
            if near_cross_hi:
                b.box(e0, side * 90, 0, self.curb, z1 - sw, z1, "sidewalk", M_PAVING, pave,
                      (tile, 0, 0, 0))
            if near_cross_lo:
                b.box(e0, side * 90, 0, self.curb, z0, z0 + sw, "sidewalk", M_PAVING, pave,
                      (tile, 0, 0, 0))
            lz0 = z0 + (sw if near_cross_lo else 0)
            lz1 = z1 - (sw if near_cross_hi else 0)
            self._lots(side, e1, lz0, lz1, near_cross_lo, near_cross_hi)
            # street trees, lamps, signs, bicycles along the kerb
            if alley:
                for zt in np.arange(z0 + rng.uniform(2, tree_step), z1 - 2, tree_step):
                    if self._free(side, zt):
                        ob.tree(b, tree_dx + rng.normal(0, 0.1), zt + rng.normal(0, 0.5),
                                scale=rng.uniform(0.85, 1.25))
            if side > 0 or lamp_both:
                for zl in np.arange(z0 + rng.uniform(3, lamp_step), z1 - 2, lamp_step):
                    if self.p("pole", 0.9) and self._free(side, zl):
                        ob.lamp(b, edge + side * 0.45, zl, side)
                        if self.p("traffic_sign", 0.25):
                            ob.sign(b, edge + side * 0.45 - side * 0.35, zl - 0.12,
                                    y=rng.uniform(2.3, 3.0), on_pole=False)
            for _ in range(self.n("traffic_light", (z1 - z0) / 400)):
                zs = rng.uniform(z0 + 2, z1 - 2)
                if self._free(side, zs):  # pedestrian lights at a mid-block crossing
                    ob.traffic_light(b, edge + side * 0.5, zs, y=rng.uniform(2.0, 2.4))
            for _ in range(self.n("traffic_sign", (z1 - z0) / 45)):
                zs = rng.uniform(z0 + 2, z1 - 2)
                if self._free(side, zs):
                    ob.sign(b, edge + side * rng.uniform(0.35, 0.7), zs)
            if self.p("pole", 0.35):  # bollards / small poles at the kerb
                zp = rng.uniform(z0, z1)
                for k in range(rng.integers(2, 6)):
                    b.cyl(edge + side * 0.3, zp + 1.5 * k, 0.06, 0.06, 0, 0.9, "pole",
                          M_CONCRETE, lin(90, 90, 92))
            for _ in range(self.n("bicycle", (z1 - z0) / 35)):
                zb = rng.uniform(z0, z1)
                xb = e1 - side * rng.uniform(0.4, 0.8) if rng.random() < 0.5 else edge + side * 1.0
                for k in range(rng.integers(1, 4)):
                    ob.bicycle(b, xb, zb + k * 0.7, int(rng.choice([-1, 1])))

    def _free(self, side: int, z: float) -> bool:
        """Keep furniture out of crossings."""
        for z0, z1 in self.cross:
            if z0 - 2 < z < z1 + 2:
                return False
        return True

    def _lots(self, side, front, z0, z1, cross_lo, cross_hi) -> None:
        rng, b = self.rng, self.b
        z = z0
        while z < z1 - 1:
            L = min(rng.uniform(8, 28), z1 - z)
            if z1 - (z + L) < 5:
                L = z1 - z
            za, zb = z, z + L
            z = zb
            u = rng.random()
            pb = 0.72 * self.dens["building"]
            pp = 0.12 * self.dens["vegetation"]
            pw = 0.08 * self.dens["wall"]
            pf = 0.08 * self.dens["fence"]
            tot = pb + pp + pw + pf
            u *= tot
            setback = 0.0 if rng.random() < 0.65 else rng.uniform(1.0, 5.0)
            if u < pb:
                if setback > 0 and rng.random() < 0.5:
                    self._yard_front(side, front, za, zb, setback)
                self._building(side, front + side * setback, za, zb)
            elif u < pb + pp:
                self._park(side, front, za, zb)
            elif u < pb + pp + pw:
                self._wall(side, front, za, zb, M_CONCRETE)
            else:
                self._wall(side, front, za, zb, M_FENCE)
        # buildings lining the cross streets, seen through the crossings
        for zc, flag, d in ((z1, cross_hi, 1), (z0, cross_lo, -1)):
            if not flag:
                continue
            x = front + side * rng.uniform(18, 26)
            while abs(x) < 90:
                w = rng.uniform(10, 25)
                h = rng.uniform(9, 28)
                col, mat, par = self._facade()
                b.box(x, x + side * w, 0, h, zc - d * rng.uniform(12, 20), zc + d * 0.0, "building",
                      mat, col, par)
                x += side * (w + rng.uniform(0, 4))

    def _facade(self):
        rng = self.rng
        m = rng.choice(4, p=self.style["facade"])
        spacing = rng.uniform(2.2, 4.0)
        floor = rng.uniform(2.8, 3.6)
        par = (spacing * (-1 if rng.random() < 0.4 else 1), floor, rng.uniform(0.35, 0.65),
               rng.uniform(0.4, 0.65))
        if m == 0:
            return vary(rng, lin(*pick(rng, PLASTER)), 0.06), M_PLASTER, par
        if m == 1:
            return vary(rng, lin(*pick(rng, BRICK)), 0.06), M_BRICK, par
        if m == 2:
            return (vary(rng, lin(*pick(rng, OFFICE)), 0.06), M_OFFICE,
                    (rng.uniform(1.2, 2.0), floor, 0, 0))
        return vary(rng, lin(*pick(rng, STONE)), 0.06), M_STONE, par

    def _building(self, side, front, za, zb) -> None:
        rng, b = self.rng, self.b
        h = rng.uniform(10, 28) if rng.random() < 0.85 else rng.uniform(5, 9)
        depth = rng.uniform(12, 22)
        col, mat, par = self._facade()
        b.box(front, front + side * depth, 0, h, za, zb, "building", mat, col, par)
        if rng.random() < 0.3:  # a set-back upper storey / roof structure
            b.box(front + side * 1.5, front + side * depth, h, h + rng.uniform(2, 4), za + 1, zb - 1,
                  "building", mat, vary(rng, col, 0.05), par)

    def _yard_front(self, side, front, za, zb, setback) -> None:
        rng, b = self.rng, self.b
        r = rng.random()
        if r < 0.35:
            ob.hedge(b, front + side * 0.1, front + side * 0.9, za + 0.5, zb - 0.5, rng.uniform(0.8, 1.6))
        elif r < 0.6:
            self._wall(side, front, za, zb, M_CONCRETE, behind=False)
        elif r < 0.8:
            self._wall(side, front, za, zb, M_FENCE, behind=False)
        if setback > 3 and self.p("vegetation", 0.5):
            ob.tree(b, front + side * setback / 2, (za + zb) / 2, scale=rng.uniform(0.7, 1.0))

    def _park(self, side, front, za, zb) -> None:
        rng, b = self.rng, self.b
        if rng.random() < 0.5:
            ob.hedge(b, front + side * 0.3, front + side * 1.3, za, zb, rng.uniform(0.9, 2.0))
        elif rng.random() < 0.5:
            self._wall(side, front, za, zb, M_FENCE, behind=False)
        for _ in range(max(1, self.n("vegetation", (zb - za) / 6))):
            ob.tree(b, front + side * rng.uniform(3, 14), rng.uniform(za, zb),
                    scale=rng.uniform(0.9, 1.6))
        # a building further back
        if rng.random() < 0.6:
            col, mat, par = self._facade()
            x = front + side * rng.uniform(18, 30)
            b.box(x, x + side * 15, 0, rng.uniform(10, 25), za, zb, "building", mat, col, par)

    def _wall(self, side, front, za, zb, mat, behind: bool = True) -> None:
        rng, b = self.rng, self.b
        if mat == M_FENCE:
            h = rng.uniform(1.0, 2.2)
            col = vary(rng, lin(*pick(rng, [(60, 60, 60), (120, 100, 75), (150, 150, 145),
                                             (40, 60, 45), (170, 165, 150)])))
            par = (rng.uniform(0.1, 0.35), rng.uniform(0.2, 0.6), 0, 0)
            b.box(front + side * 0.05, front + side * 0.12, 0, h, za, zb, "fence", M_FENCE, col, par)
        else:
            h = rng.uniform(0.7, 2.6)
            palette = BRICK if rng.random() < 0.35 else STONE + PLASTER[:6]
            col = vary(rng, lin(*pick(rng, palette)))
            par = (rng.uniform(2, 5) if rng.random() < 0.6 else 0, 0, 0, 0)  # panel seams
            b.box(front, front + side * 0.35, 0, h, za, zb, "wall", M_CONCRETE, col, par)
        if behind:
            r = rng.random()
            if r < 0.5:
                self._building(side, front + side * rng.uniform(4, 12), za, zb)
            else:
                for _ in range(max(1, int((zb - za) / 7))):
                    ob.tree(b, front + side * rng.uniform(2.5, 9), rng.uniform(za, zb),
                            scale=rng.uniform(0.9, 1.4))
                if rng.random() < 0.5:
                    ob.hedge(b, front + side * 0.5, front + side * 1.6, za, zb, h + rng.uniform(0.2, 1.0))

    def _crossing_furniture(self) -> None:
        rng, b = self.rng, self.b
        for z0, z1 in self.cross:
            for side in (-1, 1):
                edge, e0, e1 = self.side_geo[side]
                if self.p("traffic_light", 1.0):
                    ob.traffic_light(b, edge + side * 0.5, z0 - 1.0)
                if self.p("traffic_light", 0.7):
                    ob.traffic_light(b, edge + side * 0.5, z1 + 1.0)
                if self.p("traffic_sign", 0.7):
                    ob.sign(b, edge + side * 0.6, z0 - rng.uniform(2.0, 5.0))
            if self.p("traffic_light", 0.55):
                edge = self.side_geo[1][0]
                reach = rng.uniform(0.5, 0.9) * (edge - 0.5)
                ob.mast(b, edge + 0.6, z0 - 0.8, 1, reach, int(rng.integers(1, 3)))
            # pedestrians on the zebra crossing
            for _ in range(self.n("person", 1.0)):
                xp = rng.uniform(self.road_x[0], self.road_x[1])
                vx = rng.choice([-1, 1]) * rng.uniform(0.05, 0.09)
                ob.person(b, xp, z0 - rng.uniform(1, 3.5), vel=(vx, 0, 0))

    # ------------------------------------------------------------------ traffic
    def _traffic(self) -> None:
        rng, b = self.rng, self.b
        lw, n = self.lane_w, self.lanes
        v = self.v_ego
        zc0, zc1 = self.z_cam0, self.z_cam1
        F = self.frames
        # parked vehicles
        for side in (-1, 1):
            if self.park[side] <= 0:
                continue
            x = side * (n * lw + self.park[side] / 2)
            for z0, z1 in self.blocks:
                z = z0 + rng.uniform(0, 4)
                while z < z1 - 5:
                    if rng.random() < 0.3 * min(3.0, self.dens["car"]):
                        r = rng.random()
                        if self.p("truck", 0.01):
                            L = ob.truck(b, x, z + 4.5, side)
                        elif self.p("bus", 0.01):
                            L = ob.bus(b, x, z + 6.5, side)
                        else:
                            heading = side * (1 if rng.random() < 0.85 else -1)
                            L = ob.car(b, x + rng.normal(0, 0.08), z + 2.8, heading,
                                       kind="van" if r < 0.1 else "car")
                        z += max(L, 5.6) + rng.uniform(0.6, 3.5)
                    else:
                        z += rng.uniform(4, 10)
                    if self.p("motorcycle", 0.02):
                        ob.motorcycle(b, x + side * 0.3, z - 0.6, side, rider=False)
        # same-direction traffic ahead of the ego car
        for k in range(n):
            xk = (k + 0.5) * lw
            zf = zc0 + rng.uniform(10, 40)
            for _ in range(self.n("car", 0.7 if k == n - 1 else 0.6)):
                vk = max(0.0, v + rng.uniform(-0.05, 0.25)) if v > 0.1 else rng.uniform(0, 0.3)
                # keep a safe distance from the ego car over the whole snippet
                gap_min = zf - zc0 + min(0.0, (vk - v)) * F
                if gap_min < 7:
                    zf += 7 - gap_min
                self._vehicle(xk + rng.normal(0, 0.15), zf, 1, vk)
                zf += rng.uniform(12, 40)
        # oncoming traffic
        for k in range(n):
            xk = -(k + 0.5) * lw
            for _ in range(self.n("car", 1.2)):
                vk = -rng.uniform(0.3, 0.85) if rng.random() < 0.85 else 0.0
                self._vehicle(xk + rng.normal(0, 0.15), rng.uniform(zc0 + 10, zc1 + 170), -1, vk)
        # tram
        if self.p("train", 0.08):
            heading = int(rng.choice([-1, 1]))
            vt = heading * rng.uniform(0.0, 0.5)
            xt = -(n - 0.5) * lw if heading < 0 else (0.5 * lw if n > 1 else -0.5 * lw)
            ob.tram(b, xt, zc0 + rng.uniform(40, 120), heading, (0, 0, vt))
        # buses at a stop / trucks in traffic
        if self.p("bus", 0.03):
            x = n * lw + (self.park[1] / 2 if self.park[1] else -lw / 2)
            ob.bus(b, x, zc1 + rng.uniform(15, 60), 1, (0, 0, rng.uniform(0, 0.05)))
        # cyclists and motorcyclists
        for _ in range(self.n("rider", 0.55)):
            side = 1 if rng.random() < 0.7 else -1
            x = side * (n * lw - 0.4)  # at the outer edge of the outer lane
            vr = side * rng.uniform(0.15, 0.35)
            z = zc0 + rng.uniform(6, 60)
            if side > 0 and v > vr and z - zc0 + (vr - v) * F < 6:
                z = zc0 + 6 - (vr - v) * F
            ob.bicycle(b, x, z, side, vel=(0, 0, vr), rider=True)
        if self.p("motorcycle", 0.12):
            side = 1 if rng.random() < 0.5 else -1
            vm = side * rng.uniform(0.3, 0.8)
            z = zc0 + rng.uniform(10, 80)
            if side > 0 and z - zc0 + (vm - v) * F < 8:
                z = zc0 + 8 - (vm - v) * F
            ob.motorcycle(b, side * 0.5 * lw, z, side, vel=(0, 0, vm), rider=True)
        # pedestrians on the sidewalks
        for side in (-1, 1):
            edge, e0, e1 = self.side_geo[side]
            for _ in range(self.n("person", 5.0)):
                z = zc0 + rng.exponential(35) + 3
                if not self._free(side, z):
                    continue
                x = rng.uniform(min(e0, e1) + 0.4, max(e0, e1) - 0.4)
                if rng.random() < 0.35:
                    vel = (0, 0, 0)
                else:
                    vel = (0, 0, rng.choice([-1, 1]) * rng.uniform(0.05, 0.09))
                group = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
                for g in range(group):
                    ob.person(b, x + g * 0.55 * (-side), z + rng.normal(0, 0.3), vel=vel)

    def _force_instance(self, name: str) -> None:
        rng, b = self.rng, self.b
        lw, n = self.lane_w, self.lanes
        z = self.z_cam0 + rng.uniform(8, 50)
        side = int(rng.choice([-1, 1]))
        edge, e0, e1 = self.side_geo[side]
        lane_x = -(n - 0.5) * lw if side < 0 else -(0.5 * lw)
        if name == "car":
            ob.car(b, lane_x, z, -1)
        elif name == "truck":
            ob.truck(b, lane_x, z, -1)
        elif name == "bus":
            ob.bus(b, lane_x, z + 6, -1)
        elif name == "train":
            ob.tram(b, lane_x, z + 12, -1)
        elif name == "motorcycle":
            ob.motorcycle(b, lane_x, z, -1, rider=rng.random() < 0.5)
        elif name == "rider":
            ob.bicycle(b, lane_x, z, -1, rider=True)
        elif name == "bicycle":
            ob.bicycle(b, e1 - side * 0.6, z, int(rng.choice([-1, 1])))
        elif name == "person":
            ob.person(b, (e0 + e1) / 2, z)
        elif name == "traffic_light":
            ob.traffic_light(b, edge + side * 0.5, z)
        elif name == "traffic_sign":
            ob.sign(b, edge + side * 0.6, z)
        elif name == "pole":
            ob.lamp(b, edge + side * 0.45, z, side)
        elif name == "vegetation":
            ob.tree(b, edge + side * 0.8, z)
        elif name in ("wall", "fence"):
            x = e1 - side * 0.4
            self._wall(side, x, z - 6, z + 6, M_CONCRETE if name == "wall" else M_FENCE,
                       behind=False)

    def _vehicle(self, x, z, heading, speed) -> None:
        rng, b = self.rng, self.b
        vel = (0.0, 0.0, speed)  # metres per frame along Z (oncoming traffic: negative)
        r = rng.random()
        if r < 0.02 * self.dens["truck"]:
            ob.truck(b, x, z, heading, vel)
        elif r < 0.02 * self.dens["truck"] + 0.008 * self.dens["bus"]:
            ob.bus(b, x, z, heading, vel)
        elif self.p("motorcycle", 0.03):
            ob.motorcycle(b, x, z, heading, vel)
        else:
            ob.car(b, x, z, heading, vel, kind="van" if r > 0.92 else "car")
