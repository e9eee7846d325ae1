"""Render shots of single objects in the YouTube-Objects v1.0 layout, with Jain & Grauman masks.

Layout under ``root`` (that of the real releases, read by :mod:`tagseg.datasets.youtube_objects`)::

    v1/{class}/data/{video:04d}/shots/{shot:03d}/frame{n:04d}.jpg          every frame (JPEG)
    v1/{class}/sets/train.txt, test.txt                                     video folder names
    youtube_masks/{class}/data/{video:04d}/shots/{shot:03d}/labels/{n:05d}.jpg   masks (JPEG,
                                                                            255 = the object)
    iconic/{class}/{i:04d}.png                                              iconic images
    synthcity.json, .tagseg-synthcity                                       written last

The classes are the YouTube-Objects classes the street world holds: car, motorbike (synthcity's
motorcycle) and train (its tram). Each shot is a hand-held tracking shot of one instance of the
video's class (:func:`synthcity.shots.render_shot`) in a street without the other two classes;
frames are numbered from 1. The last ``masked_videos`` videos of each class are the test videos:
all their shots get masks every ``mask_every`` frames from frame 1 (Jain & Grauman: every 10th
frame), the object's pixels white. ``iconic/background`` holds street-level views of road,
sidewalk, building, vegetation, terrain and sky.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..dataset import CITIES, _atlas, _run_jobs, publish, staging
from ..iconic_images import GROUP, render_iconic_group
from ..scene import LID
from ..shots import render_shot

SYNTH_CLASS = {"car": "car", "motorbike": "motorcycle", "train": "train"}
"""YouTube-Objects class -> the synthcity class that stands for it."""
BACKGROUND_VIEWS = ("road", "sidewalk", "building", "vegetation", "terrain", "sky")
TOWNS = (*CITIES["train"], *CITIES["val"])
MIN_FRACTION = 0.02
"""A shot is re-drawn (up to 5 times) while its object covers less than this share of a frame."""


def _imwrite_jpeg(path: Path, img: np.ndarray, quality: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    if not cv2.imwrite(str(path), arr, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"{path}: could not write JPEG")


def _shot_job(tmp: str, cls: str, video: int, shot: int, masked: bool, p: dict[str, Any],
              ) -> dict[str, Any]:
    """Render shot ``shot`` of video ``video`` of ``cls`` into ``tmp``; returns its summary."""
    subject = SYNTH_CLASS[cls]
    absent = [SYNTH_CLASS[c] for c in SYNTH_CLASS if c != cls]
    ci = list(SYNTH_CLASS).index(cls)
    for attempt in range(5):
        r = render_shot([p["seed"], 17, ci, video, shot, attempt], p["frames"], p["width"],
                        p["height"], _atlas(p["seed"]), TOWNS[(video + shot) % len(TOWNS)],
                        subject=subject, absent=absent, noise=p["noise"], tracking=True)
        frac = (r.labels == LID[subject]).mean(axis=(1, 2))
        if r.mode == "tracking" and frac.min() >= MIN_FRACTION:
            break
    root = Path(tmp)
    rel = Path(cls) / "data" / f"{video:04d}" / "shots" / f"{shot:03d}"
    for i in range(p["frames"]):
        _imwrite_jpeg(root / "v1" / rel / f"frame{i + 1:04d}.jpg", r.frames[i])
    masks = []
    if masked:
        for i in range(0, p["frames"], p["mask_every"]):
            mask = np.where(r.labels[i] == LID[subject], 255, 0).astype(np.uint8)
            _imwrite_jpeg(root / "youtube_masks" / rel / "labels" / f"{i + 1:05d}.jpg", mask)
            masks.append(i + 1)
    return {"class": cls, "video": f"{video:04d}", "shot": shot, "mode": r.mode,
            "attempts": attempt + 1, "object_fraction": round(float(frac.mean()), 4),
            "masked_frames": masks}


def _iconic_job(tmp: str, cls: str, group: int, p: dict[str, Any]) -> None:
    """Render iconic images ``group * GROUP ..`` of ``cls`` (background: street views)."""
    i0 = group * GROUP
    n = min(GROUP, p["iconic_per_class"] - i0)
    name = BACKGROUND_VIEWS[group % len(BACKGROUND_VIEWS)] if cls == "background" else SYNTH_CLASS[cls]
    res = render_iconic_group(name, [p["seed"], 98, ["background", *SYNTH_CLASS].index(cls), group],
                              n, p["iconic_size"], _atlas(p["seed"]), TOWNS[group % len(TOWNS)],
                              noise=p["noise"])
    for j, r in enumerate(res):
        path = Path(tmp) / "iconic" / cls / f"{i0 + j:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(r.image, cv2.COLOR_RGB2BGR))


def _check(p: dict[str, Any]) -> None:
    def bad(key: str, why: str) -> None:
        raise ValueError(f"synthcity youtube_objects: parameter {key!r} = {p[key]!r}: {why}")

    if p["width"] < 32 or p["height"] < 16:
        bad("width" if p["width"] < 32 else "height", "frames must be at least 32 x 16 pixels")
    unknown = [c for c in p["classes"] if c not in SYNTH_CLASS]
    if unknown or not p["classes"]:
        bad("classes", f"the renderer holds {', '.join(SYNTH_CLASS)} only")
    if not 1 <= p["masked_videos"] < p["videos_per_class"]:
        bad("masked_videos", "must be >= 1 and leave at least one unmasked (train) video per class")
    for key in ("shots_per_video", "frames", "mask_every", "iconic_per_class", "iconic_size"):
        if p[key] < 1:
            bad(key, "must be >= 1")


def render(root: str | Path, *, seed: int = 0, width: int = 128, height: int = 72,
           classes: tuple[str, ...] | list[str] = tuple(SYNTH_CLASS), videos_per_class: int = 3,
           masked_videos: int = 1, shots_per_video: int = 2, frames: int = 30, mask_every: int = 10,
           iconic_per_class: int = 40, iconic_size: int = 64, noise: float = 1.0,
           workers: int = 1, overwrite: bool = False) -> dict[str, Any]:
    """Render the YouTube-Objects layout (module docstring) into ``root``, atomically.

    ``width`` x ``height``: frame size, pixels. Per class ``videos_per_class`` videos of
    ``shots_per_video`` shots of ``frames`` frames; the last ``masked_videos`` videos are the
    test videos, masked every ``mask_every`` frames. ``iconic_per_class`` iconic images of
    ``iconic_size``² pixels per class and for background. Same seed and parameters, same
    files, whatever ``workers`` (processes). ``overwrite``: as :func:`synthcity.render`.
    Returns the summary also written to ``root/synthcity.json``.
    """
    root = Path(root)
    p: dict[str, Any] = dict(
        seed=int(seed), width=int(width), height=int(height), classes=[str(c) for c in classes],
        videos_per_class=int(videos_per_class), masked_videos=int(masked_videos),
        shots_per_video=int(shots_per_video), frames=int(frames), mask_every=int(mask_every),
        iconic_per_class=int(iconic_per_class), iconic_size=int(iconic_size), noise=float(noise))
    _check(p)
    t0 = time.time()
    with staging(root, overwrite) as tmp:
        jobs: list[tuple] = []
        n_videos = p["videos_per_class"]
        for cls in p["classes"]:
            for v in range(1, n_videos + 1):
                masked = v > n_videos - p["masked_videos"]
                jobs += [(_shot_job, str(tmp), cls, v, s, masked, p)
                         for s in range(1, p["shots_per_video"] + 1)]
            sets = tmp / "v1" / cls / "sets"
            sets.mkdir(parents=True, exist_ok=True)
            split = n_videos - p["masked_videos"]
            (sets / "train.txt").write_text("".join(f"{v:04d}\n" for v in range(1, split + 1)))
            (sets / "test.txt").write_text("".join(f"{v:04d}\n" for v in range(split + 1, n_videos + 1)))
        n_shots = len(jobs)
        groups = -(-p["iconic_per_class"] // GROUP)
        for cls in ["background", *p["classes"]]:
            jobs += [(_iconic_job, str(tmp), cls, g, p) for g in range(groups)]
        results = _run_jobs(jobs, int(workers))
        shots = results[:n_shots]
        info = {"dataset": "synthcity", "layout": "youtube_objects", "params": p,
                "counts": {"shots": len(shots), "frames": len(shots) * p["frames"],
                           "masks": sum(len(s["masked_frames"]) for s in shots),
                           "iconic": p["iconic_per_class"] * (len(p["classes"]) + 1)},
                "shots": shots, "render_seconds": round(time.time() - t0, 2),
                "workers": int(workers)}
        publish(tmp, root, info)
    return info
