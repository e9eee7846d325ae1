"""Render one snippet: frames, ground truth of the annotated frame, exact flows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .camera import Camera
from .flow_gt import exact_flow
from .raycast import cast
from .scene import World
from .shade import hood_mask, hood_radiance, shade, to_srgb8
from .shadows import frame_map
from .street import CameraPath


@dataclass
class SnippetRender:
    """Rendered snippet: ``frames`` (F, H, W, 3) uint8 RGB; ``labels`` (H, W) uint8 label ids
    of the annotated frame; ``flow`` (P, 2, H, W) float32 pixels; ``valid``, ``moving``
    (P, H, W) bool; ``cams``: the F cameras."""

    frames: np.ndarray
    labels: np.ndarray
    flow: np.ndarray
    valid: np.ndarray
    moving: np.ndarray
    cams: list[Camera]


def render_frame(world: World, cam: Camera, frame: float, atlas: np.ndarray,
                 hood: np.ndarray | None, hood_rgb: np.ndarray | None, noise_rng: np.random.Generator,
                 far: float | None = None):
    """Render one frame: returns (image (H, W, 3) uint8, labels (H*W,) uint8, hits)."""
    lo, hi = world.boxes_at(frame)
    if far is None:
        far = min(4.0 * world.env.fog_dist, 600.0)
    hits = cast(cam, lo, hi, world.prims.kind, hood=hood, far=far)
    occ_all = world.occ_all
    if occ_all is not None:
        occ_all = frame_map(world, occ_all, frame, cam_z=float(cam.C[2]))
    rgb, label = shade(world, hits, cam, frame, atlas, occ_all, world.occ_tall, hood_rgb)
    img = to_srgb8(rgb, world.env, cam.width, cam.height, noise_rng)
    return img, label, hits


def render_snippet(world: World, path: CameraPath, width: int, height: int, frames: int,
                   annotated: int, offsets: Sequence[int], atlas: np.ndarray,
                   noise_seed: Sequence[int], hood_depth: float = 0.08) -> SnippetRender:
    """Render all ``frames`` of a snippet and the exact flows of pairs
    ``(annotated + o, annotated + o + 1)`` for ``o`` in ``offsets``."""
    starts = [annotated + o for o in offsets]
    for s in starts:
        if not 0 <= s < frames - 1:
            raise ValueError(
                f"synthcity: flow offset {s - annotated:+d} needs frames {s} and {s + 1}, "
                f"but a snippet has frames 0..{frames - 1} (annotated {annotated})")
    hood = hood_mask(width, height, hood_depth) if hood_depth > 0 else None
    hood_rgb = hood_radiance(Camera(np.eye(3), np.zeros(3), 1, 0, 0, width, height), hood,
                             world.env) if hood is not None else None
    imgs = np.empty((frames, height, width, 3), np.uint8)
    P = len(starts)
    flow = np.zeros((P, 2, height, width), np.float32)
    valid = np.zeros((P, height, width), bool)
    moving = np.zeros((P, height, width), bool)
    labels = None
    cams = []
    prev = None
    need = set(starts)
    for f in range(frames):
        cam = path.camera(f, width, height)
        cams.append(cam)
        rng = np.random.default_rng([*noise_seed, 1000 + f])
        img, label, hits = render_frame(world, cam, f, atlas, hood, hood_rgb, rng)
        imgs[f] = img
        if f == annotated:
            labels = label.reshape(height, width)
        if prev is not None and (f - 1) in need:
            for p, s in enumerate(starts):
                if s == f - 1:
                    flow[p], valid[p], moving[p] = exact_flow(world, prev, f - 1, hits, cam, f)
        prev = hits
    assert labels is not None
    return SnippetRender(frames=imgs, labels=labels, flow=flow, valid=valid, moving=moving,
                         cams=cams)
