"""Object models built from primitives: vehicles, people, trees, street furniture.

Every function adds one rigid object (or static parts of the world) to a
:class:`~.scene.SceneBuilder`. Positions are metres in the world frame (X right, Y up,
Z along the street); ``heading`` is +1 for objects facing +Z, -1 for facing -Z.
"""

from __future__ import annotations

import numpy as np

from .scene import (M_BARK, M_CABIN, M_CLOTH, M_FOLIAGE, M_HEAD, M_METAL, M_PAINT, M_SIGN,
                    M_TIRE, M_TLIGHT, SceneBuilder)


def lin(r: float, g: float, b: float) -> tuple[float, float, float]:
    """sRGB 0..255 -> linear albedo 0..1."""
    return tuple(float((c / 255.0) ** 2.2) for c in (r, g, b))


def vary(rng: np.random.Generator, col, amount: float = 0.08) -> tuple[float, float, float]:
    """Multiply a colour by a random brightness and a small per-channel tint."""
    g = rng.lognormal(0, amount)
    t = rng.lognormal(0, amount / 3, 3)
    return tuple(min(max(float(c * g * ti), 0.0), 1.0) for c, ti in zip(col, t))


CAR_COLORS = [  # sRGB, with weights: many white/black/grey/silver cars, some colours
    ((235, 235, 232), 0.20), ((25, 25, 28), 0.18), ((120, 122, 125), 0.16),
    ((185, 188, 190), 0.14), ((40, 60, 120), 0.07), ((140, 25, 25), 0.07),
    ((30, 70, 45), 0.04), ((200, 190, 160), 0.04), ((70, 40, 30), 0.03), ((220, 160, 30), 0.02),
    ((90, 110, 140), 0.05),
]
CLOTH_COLORS = [
    (25, 25, 30), (40, 45, 70), (90, 90, 95), (160, 160, 160), (230, 230, 225), (200, 185, 150),
    (120, 30, 35), (50, 80, 55), (70, 95, 150), (150, 100, 60), (210, 120, 140), (60, 55, 50),
    (180, 60, 30), (120, 130, 80),
]
SKIN = [(225, 185, 160), (200, 150, 120), (160, 110, 80), (110, 75, 55)]
HAIR = [(25, 20, 18), (70, 45, 30), (130, 95, 60), (200, 170, 120), (130, 130, 130)]


def pick(rng: np.random.Generator, table):
    if isinstance(table[0][1], float):
        cols, w = zip(*table)
        w = np.asarray(w) / np.sum(w)
        return cols[rng.choice(len(cols), p=w)]
    return table[rng.integers(len(table))]


def car(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0), kind: str = "car") -> float:
    """A car (or a small van, ``kind='van'``, labelled car) centred at (x, z); returns its length."""
    rng = b.rng
    L = rng.uniform(3.8, 4.9) if kind == "car" else rng.uniform(4.8, 5.6)
    W = rng.uniform(1.7, 1.95)
    Hc = rng.uniform(1.38, 1.6) if kind == "car" else rng.uniform(1.9, 2.2)
    col = vary(rng, lin(*pick(rng, CAR_COLORS)), 0.06)
    o = b.new_object(vel, label=26)
    y0, yb = 0.22, 0.9 if kind == "car" else 1.1
    b.box(x - W / 2, x + W / 2, y0, yb, z - L / 2, z + L / 2, "car", M_PAINT, col,
          (0, 0, 0, heading), o)
    if kind == "car":
        cl = L * rng.uniform(0.45, 0.58)
        cz = z - heading * L * 0.06
        b.box(x - W / 2 + 0.08, x + W / 2 - 0.08, yb, Hc, cz - cl / 2, cz + cl / 2, "car", M_CABIN,
              col, obj=o)
    else:
        front = 0.9  # short bonnet in front of a van's cabin
        za = z - L / 2 + (0.1 if heading > 0 else front)
        zb = z + L / 2 - (front if heading > 0 else 0.1)
        b.box(x - W / 2 + 0.05, x + W / 2 - 0.05, yb, Hc, za, zb, "car", M_CABIN, col, obj=o)
    tire = lin(30, 30, 32)
    for sx in (-1, 1):
        for sz in (-1, 1):
            b.ell(x + sx * (W / 2 - 0.08), 0.31, z + sz * L * 0.32, 0.11, 0.31, 0.31, "car", M_TIRE,
                  tire, obj=o)
    return L


def truck(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0)) -> float:
    rng = b.rng
    L = rng.uniform(7.0, 10.0)
    W = 2.45
    cab = vary(rng, lin(*pick(rng, [(230, 230, 230), (180, 30, 30), (40, 70, 140), (60, 60, 60),
                                     (220, 200, 40)])))
    box = vary(rng, lin(*pick(rng, [(235, 235, 235), (200, 200, 205), (150, 40, 40), (50, 90, 60),
                                     (120, 120, 125)])))
    o = b.new_object(vel, label=27)
    zf = z + heading * L / 2
    cab_len = 2.2
    b.box(x - W / 2, x + W / 2, 0.45, 2.9, zf - heading * cab_len, zf, "truck", M_PAINT, cab,
          (1.6, 2.6, 5.0, heading), o)
    b.box(x - W / 2 - 0.02, x + W / 2 + 0.02, 0.9, rng.uniform(3.3, 3.9), z - heading * L / 2,
          zf - heading * (cab_len + 0.2), "truck", M_PAINT, box, (0, 0, 0, 0), o)
    tire = lin(30, 30, 32)
    for sz in (zf - heading * 1.2, z - heading * L * 0.25, z - heading * L * 0.4):
        for sx in (-1, 1):
            b.ell(x + sx * (W / 2 - 0.1), 0.48, sz, 0.14, 0.48, 0.48, "truck", M_TIRE, tire, obj=o)
    return L


def bus(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0)) -> float:
    rng = b.rng
    L = 12.0 if rng.random() < 0.75 else 18.0
    W = 2.55
    col = vary(rng, lin(*pick(rng, [(235, 235, 230), (230, 200, 40), (200, 40, 35), (40, 90, 170),
                                     (60, 150, 90)])), 0.05)
    o = b.new_object(vel, label=28)
    b.box(x - W / 2, x + W / 2, 0.32, 3.15, z - L / 2, z + L / 2, "bus", M_PAINT, col,
          (1.05, 2.75, rng.uniform(1.3, 1.8), heading), o)
    tire = lin(30, 30, 32)
    for sz in (z + L * 0.33, z - L * 0.25):
        for sx in (-1, 1):
            b.ell(x + sx * (W / 2 - 0.1), 0.5, sz, 0.14, 0.5, 0.5, "bus", M_TIRE, tire, obj=o)
    return L


def tram(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0)) -> float:
    """A tram (Cityscapes 'train')."""
    rng = b.rng
    L = rng.uniform(24.0, 34.0)
    W = 2.65
    col = vary(rng, lin(*pick(rng, [(235, 235, 230), (225, 190, 40), (190, 30, 30), (60, 110, 180),
                                     (140, 150, 155)])), 0.05)
    o = b.new_object(vel, label=31)
    b.box(x - W / 2, x + W / 2, 0.4, 3.5, z - L / 2, z + L / 2, "train", M_PAINT, col,
          (1.2, 2.85, rng.uniform(1.6, 2.2), heading), o)
    b.box(x - 0.6, x + 0.6, 3.5, 3.9, z - L / 4, z + L / 4, "train", M_METAL, lin(80, 80, 85), obj=o)
    # overhead wire poles are street furniture, not part of the tram
    return L


def person(b: SceneBuilder, x: float, z: float, vel=(0, 0, 0), label: str = "person",
           y0: float = 0.0, seated: bool = False, obj: int | None = None) -> None:
    """A pedestrian (or a rider seated at height ``y0`` when ``seated``)."""
    rng = b.rng
    h = rng.uniform(1.55, 1.95)
    s = h / 1.75
    o = b.new_object(vel, label=24 if label == "person" else 25) if obj is None else obj
    legs = vary(rng, lin(*pick(rng, CLOTH_COLORS)))
    top = vary(rng, lin(*pick(rng, CLOTH_COLORS)))
    skin = vary(rng, lin(*pick(rng, SKIN)), 0.05)
    hair = vary(rng, lin(*pick(rng, HAIR)), 0.05)
    if seated:
        b.cyl(x, z, 0.17 * s, 0.3 * s, y0, y0 + 0.3 * s, label, M_CLOTH, legs, obj=o)
        yb = y0 + 0.3 * s
    else:
        b.cyl(x, z, 0.16 * s, 0.11 * s, y0, y0 + 0.84 * s, label, M_CLOTH, legs, obj=o)
        yb = y0 + 0.84 * s
    wide = rng.uniform(0.19, 0.25) * s
    b.cyl(x, z, wide, 0.13 * s, yb, yb + 0.62 * s, label, M_CLOTH, top, obj=o)
    hy = yb + 0.62 * s + 0.11 * s
    b.ell(x, hy, z, 0.095 * s, 0.12 * s, 0.1 * s, label, M_HEAD, skin, (*hair, 0), obj=o)
    if rng.random() < 0.25:  # a bag or backpack
        bag = vary(rng, lin(*pick(rng, CLOTH_COLORS)))
        b.box(x - 0.13 * s, x + 0.13 * s, yb + 0.15 * s, yb + 0.5 * s, z - 0.28 * s, z - 0.1 * s,
              label, M_CLOTH, bag, obj=o)


def bicycle(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0),
            rider: bool = False) -> None:
    """A bicycle along Z; with ``rider`` a person labelled 'rider' sits on it (one rigid object)."""
    rng = b.rng
    col = vary(rng, lin(*pick(rng, [(30, 30, 30), (150, 20, 20), (20, 50, 120), (200, 200, 200),
                                     (40, 90, 50), (100, 100, 100)])))
    o = b.new_object(vel, label=25 if rider else 33)
    tire = lin(25, 25, 25)
    for sz in (-0.52, 0.52):  # spoked wheels: a dark tyre ring around light spokes
        b.ell(x, 0.34, z + sz, 0.025, 0.34, 0.34, "bicycle", M_TIRE, tire, (1, 0, 0, 0), obj=o)
    b.box(x - 0.03, x + 0.03, 0.62, 0.7, z - 0.4, z + 0.4, "bicycle", M_METAL, col, obj=o)
    b.box(x - 0.03, x + 0.03, 0.34, 0.62, z - 0.08, z + 0.08, "bicycle", M_METAL, col, obj=o)
    b.cyl(x, z + heading * 0.45, 0.02, 0.02, 0.34, 1.05, "bicycle", M_METAL, col, obj=o)
    b.box(x - 0.28, x + 0.28, 1.0, 1.05, z + heading * 0.42, z + heading * 0.47, "bicycle", M_METAL,
          col, obj=o)
    if rider:
        person(b, x, z - heading * 0.12, label="rider", y0=0.78, seated=True, obj=o)
        # legs down to the pedals
        legs = vary(rng, lin(*pick(rng, CLOTH_COLORS)))
        b.cyl(x, z - heading * 0.05, 0.15, 0.1, 0.3, 0.8, "rider", M_CLOTH, legs, obj=o)


def motorcycle(b: SceneBuilder, x: float, z: float, heading: int, vel=(0, 0, 0),
               rider: bool = True) -> None:
    rng = b.rng
    col = vary(rng, lin(*pick(rng, [(20, 20, 20), (170, 20, 20), (220, 220, 220), (30, 60, 140),
                                     (230, 140, 20)])))
    o = b.new_object(vel, label=25 if rider else 32)
    tire = lin(25, 25, 25)
    for sz in (-0.72, 0.72):
        b.ell(x, 0.32, z + sz, 0.07, 0.32, 0.32, "motorcycle", M_TIRE, tire, obj=o)
    b.box(x - 0.22, x + 0.22, 0.35, 0.95, z - 0.75, z + 0.6, "motorcycle", M_PAINT, col,
          (0, 0, 0, heading), o)
    b.box(x - 0.14, x + 0.14, 0.3, 0.5, z - 0.5, z + 0.4, "motorcycle", M_METAL, lin(90, 90, 95), obj=o)
    if rider:
        person(b, x, z - heading * 0.2, label="rider", y0=0.9, seated=True, obj=o)


def tree(b: SceneBuilder, x: float, z: float, scale: float = 1.0, crown_color=None) -> float:
    """A street tree (trunk + 2-3 ellipsoid crown lobes), static; returns crown radius."""
    rng = b.rng
    th = rng.uniform(2.2, 3.6) * scale
    tr = rng.uniform(0.12, 0.24) * scale
    bark = vary(rng, lin(85, 72, 60))
    b.cyl(x, z, tr, tr, 0, th + 0.5 * scale, "vegetation", M_BARK, bark)
    R = rng.uniform(1.8, 3.3) * scale
    Ry = R * rng.uniform(0.85, 1.3)
    if crown_color is None:
        crown_color = lin(*pick(rng, [(70, 100, 40), (60, 90, 45), (90, 110, 45), (50, 75, 40),
                                      (100, 115, 55), (80, 95, 60)]))
    base = vary(rng, crown_color, 0.1)
    yc = th + Ry * 0.9
    b.ell(x, yc, z, R, Ry, R, "vegetation", M_FOLIAGE, base)
    for _ in range(rng.integers(1, 3)):
        dx, dz = rng.normal(0, R * 0.35, 2)
        r2 = R * rng.uniform(0.55, 0.8)
        b.ell(x + dx, yc + rng.uniform(-0.2, 0.5) * Ry, z + dz, r2, r2 * rng.uniform(0.8, 1.2), r2,
              "vegetation", M_FOLIAGE, vary(rng, base, 0.08))
    return R


def hedge(b: SceneBuilder, x0, x1, z0, z1, h) -> None:
    rng = b.rng
    col = vary(b.rng, lin(*pick(rng, [(55, 80, 35), (70, 95, 40), (45, 65, 35)])), 0.1)
    b.box(x0, x1, 0, h, z0, z1, "vegetation", M_FOLIAGE, col)


def lamp(b: SceneBuilder, x: float, z: float, side: int) -> None:
    """Street lamp at (x, z) on the side ``side`` (-1 left, +1 right); arm reaches over the road."""
    rng = b.rng
    h = rng.uniform(6.0, 9.0)
    col = vary(rng, lin(*pick(rng, [(110, 110, 112), (60, 65, 62), (150, 150, 150), (40, 40, 45)])))
    b.cyl(x, z, 0.09, 0.09, 0, h, "pole", M_METAL, col)
    arm = rng.uniform(1.0, 2.2)
    b.box(x, x - side * arm, h - 0.12, h - 0.02, z - 0.05, z + 0.05, "pole", M_METAL, col)
    b.box(x - side * (arm - 0.05), x - side * (arm + 0.55), h - 0.28, h - 0.06, z - 0.18, z + 0.18,
          "pole", M_METAL, col)


SIGN_STYLES = [  # face colour, border colour, border fraction (sRGB)
    ((235, 235, 235), (200, 20, 25), 0.16),  # prohibition: white with red rim
    ((30, 80, 170), (235, 235, 235), 0.06),  # blue mandatory / information
    ((245, 205, 30), (240, 240, 240), 0.08),  # priority road, yellow
    ((235, 235, 230), (30, 30, 30), 0.05),  # white rectangular
    ((190, 30, 30), (240, 240, 240), 0.07),  # red (stop-ish)
    ((40, 120, 60), (235, 235, 235), 0.05),  # green direction sign
]


def sign(b: SceneBuilder, x: float, z: float, y: float | None = None, on_pole: bool = True) -> None:
    """A traffic sign plate facing -Z (the oncoming driver) on its own thin pole."""
    rng = b.rng
    face, border, frac = SIGN_STYLES[rng.integers(len(SIGN_STYLES))]
    w = rng.uniform(0.5, 0.8)
    hgt = w * rng.choice([1.0, 1.0, 0.7, 1.4])
    if y is None:
        y = rng.uniform(2.0, 2.6)
    if on_pole:
        b.cyl(x, z + 0.05, 0.035, 0.035, 0, y + 0.1, "pole", M_METAL, lin(140, 140, 140))
    b.box(x - w / 2, x + w / 2, y, y + hgt, z - 0.03, z + 0.01, "traffic_sign", M_SIGN,
          vary(rng, lin(*face), 0.05), (*lin(*border), frac))


def traffic_light(b: SceneBuilder, x: float, z: float, y: float | None = None, pole: bool = True,
                  state: int | None = None) -> None:
    """A three-lamp traffic light facing -Z; ``state`` 0 green, 1 amber, 2 red."""
    rng = b.rng
    if y is None:
        y = rng.uniform(2.4, 3.2)
    if state is None:
        state = int(rng.choice([0, 0, 1, 2, 2]))
    house = vary(rng, lin(*pick(rng, [(35, 35, 35), (50, 55, 50), (200, 170, 40)])), 0.05)
    if pole:
        b.cyl(x, z + 0.1, 0.07, 0.07, 0, y + 0.9, "pole", M_METAL, lin(120, 120, 118))
    w = 0.32
    b.box(x - w / 2, x + w / 2, y, y + 0.95, z - 0.2, z + 0.05, "traffic_light", M_TLIGHT, house,
          (state, 0, 0, 0))
    if rng.random() < 0.5:  # back plate
        b.box(x - 0.3, x + 0.3, y - 0.1, y + 1.05, z + 0.05, z + 0.08, "traffic_light", M_TLIGHT,
              lin(30, 30, 30), (3, 0, 0, 0))


def mast(b: SceneBuilder, x: float, z: float, side: int, reach: float, n_lights: int) -> None:
    """Traffic-light mast: pole at (x, z) with an arm over the road carrying lights."""
    col = lin(110, 110, 110)
    h = 5.6
    b.cyl(x, z + 0.1, 0.12, 0.12, 0, h + 0.3, "pole", M_METAL, col)
    b.box(x, x - side * reach, h, h + 0.18, z + 0.02, z + 0.18, "pole", M_METAL, col)
    for k in range(n_lights):
        xl = x - side * reach * (k + 1) / (n_lights + 0.5)
        traffic_light(b, xl, z, y=h - 1.0, pole=False)

