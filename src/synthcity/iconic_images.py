"""Iconic images: one class fills much of a square frame (the analogue of ImageNet images).

Each group of images gets its own random street world (with more instances of the wanted
class) and the snippet renderer's materials, lighting, haze and sensor noise, so iconic images
share the videos' appearance statistics. Half of the images (``STREET_VIEWS``) are posed like
street-level photographs: further away and near eye level, ground classes at grazing angles,
so the class shows with its surroundings and in perspective; the others are close-ups.
Several random poses are tried; the one where the class covers the largest share of the frame
is kept (ties: the first), stopping early once the share is large enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tagseg import classes

from .camera import Camera, look_dir
from .scene import LID
from .street import Street
from .video import render_frame

# Classes framed by a camera looking at the ground / up at the sky rather than at an object.
_GROUND_VIEWS = {"road", "sidewalk", "terrain", "sky"}
# Thin things: aim at a part of them from close by.
_THIN = {"pole": 0.35, "traffic_sign": 1.0, "traffic_light": 1.3, "fence": 2.0, "wall": 2.5}
# Long things: aim at a random section of this length range (metres).
_LONG = {"train": (4.0, 9.0), "bus": (4.0, 8.0), "truck": (3.5, 6.0)}
_BOOST = {"person": 3.0, "rider": 6.0, "car": 1.0, "truck": 10.0, "bus": 12.0, "train": 30.0,
          "motorcycle": 20.0, "bicycle": 4.0, "vegetation": 1.5, "pole": 1.5,
          "traffic_sign": 3.0, "traffic_light": 3.0, "wall": 5.0, "fence": 5.0, "terrain": 10.0,
          "building": 1.0}

MIN_FRACTION = 0.45
"""Stop trying poses once the class covers this share of the image ..."""
_MIN_FRACTION = {"person": 0.3, "rider": 0.3, "bicycle": 0.3, "motorcycle": 0.35}
"""... or this share for slender things, framed whole."""
_WHOLE = {"person", "rider", "bicycle", "motorcycle"}


@dataclass
class IconicImage:
    """``image``: (S, S, 3) uint8 RGB; ``labels``: (S, S) uint8 label ids; ``fraction``:
    share of pixels of the wanted class."""

    image: np.ndarray
    labels: np.ndarray
    fraction: float


STREET_VIEWS = 0.5
"""Share of poses taken like a street-level photograph: further away and near eye level (ground
classes at grazing angles), so the class appears with its surroundings and in perspective as
web photos of it do; the others are close-ups."""
STREET_FRACTION = 0.5
"""Street-level views stop trying poses at this fraction of the close-ups' share."""

GROUP = 4
"""Iconic images of a class rendered in one shared street world (different poses, exposure,
white balance and noise)."""


def render_iconic_group(name: str, seed_key: Sequence[int], count: int, size: int,
                        atlas: np.ndarray, city: str, tries: int = 5,
                        noise: float = 1.0) -> list[IconicImage]:
    """Render ``count`` iconic images of class ``name`` (a Cityscapes evaluation class) in one
    random street world drawn from ``seed_key``."""
    lid = classes.label(name).label_id
    rng = np.random.default_rng(seed_key)
    dens = {name: _BOOST[name]} if name in _BOOST else {}
    if name == "rider":
        dens["motorcycle"] = 3.0
    world, path = Street(rng, frames=2, city=city, density=dens, ahead=110.0, force=name).build()
    env0 = world.env
    out = []
    for j in range(count):
        irng = np.random.default_rng([*seed_key, j])
        world.env = replace(env0, exposure=env0.exposure * irng.lognormal(0, 0.12),
                            white_balance=env0.white_balance * irng.lognormal(0, 0.03, 3),
                            noise_sigma=irng.uniform(1.5, 4.5) * noise)
        street = bool(irng.random() < STREET_VIEWS)
        enough = _MIN_FRACTION.get(name, MIN_FRACTION) * (STREET_FRACTION if street else 1.0)
        best: IconicImage | None = None
        for k in range(tries):
            pose = frame_pose(name, world, path, irng, size, street)
            if pose is None:
                continue
            cam = pose.camera
            img, lab, _ = render_frame(world, cam, 0.0, atlas, None, None,
                                       np.random.default_rng([*seed_key, j, k]))
            frac = float(np.mean(lab == lid))
            if best is None or frac > best.fraction:
                best = IconicImage(img, lab.reshape(size, size), frac)
            if frac >= enough:
                break
        if best is None:  # no instance in this world: a plain street view (should not happen)
            cam = path.camera(0, size, size)
            img, lab, _ = render_frame(world, cam, 0.0, atlas, None, None, irng)
            best = IconicImage(img, lab.reshape(size, size), float(np.mean(lab == lid)))
        out.append(best)
    world.env = env0
    return out


@dataclass
class Pose:
    """A camera framing an instance: ``obj`` is the framed object's id (0: static scenery,
    which does not move), ``target`` the aimed-at point at frame 0 (metres)."""

    camera: Camera
    obj: int
    target: np.ndarray


def _camera(C, fwd, rng, size, fov_deg) -> Camera:
    f = size / (2 * np.tan(np.radians(fov_deg) / 2))
    R = look_dir(fwd, roll=rng.normal(0, 0.05))
    c = (size - 1) / 2
    return Camera(R=R, C=np.asarray(C, np.float64), f=f, cx=c, cy=c, width=size, height=size)


def _inside_any(world, C) -> bool:
    pr = world.prims
    static = ~world.moving_objects()[pr.obj]
    inside = np.all((pr.lo - 0.15 < C) & (C < pr.hi + 0.15), axis=1)
    return bool(np.any(inside & static)) or bool(np.any(inside & ~static))


def frame_pose(name: str, world, path, rng: np.random.Generator, size: int,
               street: bool = False) -> Pose | None:
    """A (size x size) camera framing an instance of class ``name`` in ``world`` at frame 0:
    close up, or (``street``) further away at eye level; None when no instance is found."""
    fov = rng.uniform(45, 70)
    z0 = float(path.C[0, 2])
    if name in _GROUND_VIEWS:
        return _ground_pose(name, world, path, rng, size, fov, street)
    lid = LID[name]
    pr = world.prims
    cand = np.nonzero((pr.label == lid) & (pr.lo[:, 2] > z0 - 5) & (pr.lo[:, 2] < z0 + 90)
                      & (np.abs(pr.lo[:, 0] + pr.hi[:, 0]) / 2 < 40))[0]
    if cand.size == 0:
        cand = np.nonzero(pr.label == lid)[0]
    if cand.size == 0:
        return None
    for _ in range(20):
        i = int(rng.choice(cand))
        lo, hi = pr.lo[i].copy(), pr.hi[i].copy()
        obj = pr.obj[i]
        if obj != 0:  # a moving / rigid thing: frame all its parts of this class
            m = (pr.obj == obj) & (pr.label == lid)
            lo, hi = pr.lo[m].min(0), pr.hi[m].max(0)
        c = (lo + hi) / 2
        ext = hi - lo
        if name in _THIN:
            # aim at a random part of a tall thin thing
            span = _THIN[name]
            if ext[1] > span:
                c[1] = rng.uniform(lo[1] + span / 2, hi[1] - span / 2)
            radius = 0.5 * np.sqrt(min(ext[0], span) ** 2 + min(ext[1], span) ** 2 + min(ext[2], span) ** 2)
            radius = max(radius, 0.5 * span)
        elif name in _LONG:
            span = rng.uniform(*_LONG[name])
            ax = 2 if ext[2] >= ext[0] else 0
            if ext[ax] > span:
                c[ax] = rng.uniform(lo[ax] + span / 2, hi[ax] - span / 2)
            radius = 0.5 * np.sqrt(span ** 2 + ext[1] ** 2)
        elif name == "building":
            c[1] = rng.uniform(2.0, min(hi[1], 14.0))
            radius = rng.uniform(3.0, 7.0)
        elif name == "vegetation":
            radius = min(0.5 * float(np.linalg.norm(ext)), 3.0)
        else:
            radius = 0.5 * float(np.linalg.norm(ext))
        # view from the street side (towards x = 0), with a random azimuth
        toward = -np.sign(c[0]) if abs(c[0]) > 1.0 else rng.choice([-1.0, 1.0])
        az = np.arctan2(toward, 0.0) + rng.uniform(-1.0, 1.0) * (1.2 if obj != 0 else 0.9)
        if obj != 0 and rng.random() < 0.35:
            az = rng.uniform(-np.pi, np.pi)
        fill = rng.uniform(0.8, 1.15) if name in _WHOLE else rng.uniform(0.55, 0.95)
        el = rng.uniform(-0.25, 0.35)
        if street:  # further away, near eye level: the class with its surroundings
            fill *= rng.uniform(1.3, 2.2)
            el = rng.uniform(-0.08, 0.12)
        dist = radius / np.tan(np.radians(fov) / 2) * fill
        dist = max(dist, 0.4)
        back = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
        C = c + dist * back
        if C[1] < 0.4 or (street and C[1] < 1.0):
            C[1] = rng.uniform(1.0, 1.8) if street else rng.uniform(0.4, 1.8)
        if _inside_any(world, C):
            continue
        fwd = c - C + rng.normal(0, 0.08 * dist, 3)
        return Pose(_camera(C, fwd, rng, size, fov), int(obj), C + fwd)
    return None


def _ground_pose(name, world, path, rng, size, fov, street: bool = False) -> Pose | None:
    z = float(path.C[0, 2]) + rng.uniform(0, 60)
    gr = world.ground
    pr = world.prims
    yaw = rng.uniform(-0.6, 0.6) + (np.pi if rng.random() < 0.3 else 0.0)
    if name == "sky":
        x = rng.uniform(gr.road_x[0] + 0.5, gr.road_x[1] - 0.5)
        C = np.array([x, rng.uniform(1.2, 2.0), z])
        pitch = rng.uniform(0.15, 0.5) if street else rng.uniform(0.35, 1.0)
        yaw = rng.uniform(-np.pi, np.pi)
    elif name == "road":
        x = rng.uniform(gr.road_x[0] + 0.5, gr.road_x[1] - 0.5)
        C = np.array([x, rng.uniform(1.2, 2.6), z])
        pitch = -rng.uniform(0.12, 0.45) if street else -rng.uniform(0.45, 1.0)
    else:
        lid = LID[name]
        flat = (pr.label == lid) & (pr.hi[:, 1] < 0.3)
        cand = np.nonzero(flat & (pr.hi[:, 2] > z - 10) & (pr.lo[:, 2] < z + 40))[0]
        if cand.size == 0:
            cand = np.nonzero(flat)[0]
        if cand.size == 0:
            return None
        i = int(rng.choice(cand))
        lo, hi = pr.lo[i], pr.hi[i]
        za, zb = max(lo[2], z - 10), min(hi[2], z + 40)
        zc = rng.uniform(za, zb) if zb > za else rng.uniform(lo[2], hi[2])
        x = rng.uniform(lo[0] + 0.2, hi[0] - 0.2) if hi[0] - lo[0] > 0.4 else (lo[0] + hi[0]) / 2
        width = min(hi[0] - lo[0], 6.0)
        C = np.array([x, rng.uniform(0.7, 1.0) * max(width, 1.2) + 0.3, zc])
        pitch = -rng.uniform(0.9, 1.35)
        if street:  # standing on it, looking along it at a grazing angle
            C[1] = rng.uniform(1.1, 1.8)
            pitch = -rng.uniform(0.3, 0.7)
            yaw = rng.uniform(-0.4, 0.4) + (np.pi if rng.random() < 0.5 else 0.0)
        if _inside_any(world, C):
            C[1] += 1.0
    if _inside_any(world, C):
        return None
    fwd = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    return Pose(_camera(C, fwd, rng, size, fov), 0, C + 10.0 * fwd)
