"""Street shots for synthetic web videos: a few seconds of one random street world.

A shot is filmed in one of two ways:

- *tracking*: a hand-held camera frames an instance of a class (the iconic images' street-level
  pose, :func:`.iconic.frame_pose`), drifts slowly, and follows the instance when it moves: a
  video *of* that class;
- *drive*: the ego camera of the dataset's snippets drives along the street (a dash-cam clip).

Frame ``i`` of a shot is rendered at world time ``i`` (moving things move). ``subject`` is the
class a shot is about (one more instance of it is placed ahead, and its density is raised);
``absent`` a class the world must not contain (density 0; only the classes of
:data:`.street.DENSITY_KEYS` can be removed). Labels are exact, so the truth of a web video
(the share of each frame the keyword's class covers) comes from the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .camera import Camera, look_dir
from .iconic_images import _BOOST, frame_pose
from .street import DENSITY_KEYS, Street
from .video import render_frame

SUBJECTS = ("building", "vegetation", "person", "car", "bicycle", "traffic_light", "traffic_sign",
            "pole", "road", "sky", "bus", "truck")
"""Classes a shot of 'something else' may be about (the keyword's own class excluded)."""

TRACKING = 0.7
"""Share of shots about a class that are tracking shots (the others are drives past it)."""


@dataclass
class Shot:
    """``frames``: (T, H, W, 3) uint8 RGB; ``labels``: (T, H, W) uint8 Cityscapes label ids;
    ``mode``: ``tracking`` or ``drive``; ``subject``: the class filmed (None: a plain drive)."""

    frames: np.ndarray
    labels: np.ndarray
    mode: str
    subject: str | None


def _absent(absent: str | Sequence[str] | None) -> tuple[str, ...]:
    if absent is None:
        return ()
    return (absent,) if isinstance(absent, str) else tuple(absent)


def _density(subject: str | None, absent: str | Sequence[str] | None) -> dict[str, float]:
    dens: dict[str, float] = {}
    if subject in DENSITY_KEYS:
        dens[subject] = max(_BOOST.get(subject, 1.0), 2.0)
    for a in _absent(absent):
        if a in DENSITY_KEYS:
            dens[a] = 0.0
    return dens


def _widen(cam: Camera, width: int, height: int) -> Camera:
    """The square pose camera (side = ``height``) as a ``width`` x ``height`` camera."""
    return replace(cam, cx=(width - 1) / 2, cy=(height - 1) / 2, width=width, height=height)


def render_shot(seed_key: list[int], frames: int, width: int, height: int, atlas: np.ndarray,
                city: str, subject: str | None = None, absent: str | Sequence[str] | None = None,
                noise: float = 1.0, tracking: bool | None = None) -> Shot:
    """Render one shot of ``frames`` frames (``width`` x ``height`` pixels) of a random street
    drawn from ``seed_key``; about ``subject`` when given, without the class(es) ``absent``.
    ``tracking``: film ``subject`` with a tracking shot (True), drive past it (False), or draw
    (None: tracking with probability :data:`TRACKING`)."""
    if subject is not None and subject in _absent(absent):
        raise ValueError(f"shot: subject and absent class are both {subject!r}")
    rng = np.random.default_rng(seed_key)
    force = subject if subject in DENSITY_KEYS else None
    world, path = Street(rng, frames, city=city, density=_density(subject, absent),
                         force=force).build()
    world.env.noise_sigma *= noise
    pose = None
    draw = rng.random()
    if subject is not None and (tracking if tracking is not None else draw < TRACKING):
        for _ in range(3):
            pose = frame_pose(subject, world, path, rng, height, street=True)
            if pose is not None:
                break
    if pose is None:
        cams = [path.camera(i, width, height) for i in range(frames)]
        mode = "drive"
    else:
        cams = _tracking(world, pose, rng, frames, width, height)
        mode = "tracking"
    imgs = np.empty((frames, height, width, 3), np.uint8)
    labs = np.empty((frames, height, width), np.uint8)
    for i, cam in enumerate(cams):
        img, lab, _ = render_frame(world, cam, float(i), atlas, None, None,
                                   np.random.default_rng([*seed_key, 1000 + i]))
        imgs[i], labs[i] = img, lab.reshape(height, width)
    return Shot(imgs, labs, mode, subject)


def _tracking(world, pose, rng: np.random.Generator, frames: int, width: int,
              height: int) -> list[Camera]:
    """Cameras of a hand-held shot: a slow drift (0.01-0.05 m per frame, horizontal) and a
    follow of the framed object's motion (60-100 %), always aimed at the (moving) target."""
    cam0 = _widen(pose.camera, width, height)
    vel = world.vel[pose.obj] if pose.obj else np.zeros(3)
    follow = rng.uniform(0.6, 1.0)
    a = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(0.01, 0.05) * np.array([np.cos(a), 0.0, np.sin(a)])
    roll = rng.normal(0, 0.03)
    wobble = rng.uniform(0, 2 * np.pi, 2)
    cams = []
    for i in range(frames):
        C = pose.camera.C + follow * vel * i + drift * i
        aim = pose.target + vel * i + 0.05 * np.array([np.sin(0.3 * i + wobble[0]),
                                                        np.sin(0.23 * i + wobble[1]), 0.0])
        cams.append(replace(cam0, R=look_dir(aim - C, roll=roll), C=C))
    return cams
