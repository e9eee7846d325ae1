"""Synthetic web videos per keyword, with recorded truth, for testing and measuring retrieval.

For each keyword class it renders mp4 videos (H.264 via PyAV, key frames every ``gop_s``
seconds and at scene cuts), a JPEG thumbnail per video and a catalogue for the ``index``
backend. Frames are label-coloured street-like scenes (Cityscapes palette bands with texture,
panning); the keyword's class appears as a textured blob of its colour in some scenes only.

Video kinds (cycled per keyword, truth in ``truth.json``):

- ``relevant``: the class appears in some scenes; thumbnail = the frame where it is largest;
- ``relevant_bad_thumb``: relevant, but the thumbnail is a frame without the class (misleading);
- ``distractor``: the class never appears; thumbnail honest;
- ``clickbait``: the class never appears, but the thumbnail shows it (misleading);
- with ``faults=True`` also, per keyword: ``truncated`` (mp4 cut in half), ``bad_thumb`` (the
  thumbnail is text, not an image) and ``missing`` (the video URL 404s / does not exist).

A frame is *relevant* when the class covers >= ``relevant_fraction`` of it.

Layout under ``root``::

    catalogue.json        {"keywords": {kw: [{id, title, duration, thumbnail, url}]}}
                          (kw = the class name with '_' -> ' ')
    truth.json            {"fps", "relevant_fraction", "videos": {id: {keyword, class, kind,
                           relevant, thumb_relevant, fault, coverage: [per frame]}}}
    videos/{id}.mp4, thumbs/{id}.jpg
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from .. import classes as cls_table
from ..h5io import atomic_path, write_json
from .search import default_keyword

log = logging.getLogger("tagseg.retrieval")

KINDS = ("relevant", "clickbait", "distractor", "relevant_bad_thumb", "relevant", "relevant",
         "distractor", "relevant")
FAULTS = ("truncated", "bad_thumb", "missing")


def _texture(rng: np.random.Generator, h: int, w: int, amp: float) -> np.ndarray:
    n = rng.normal(0, amp, (h // 4 + 1, w // 4 + 1, 1)).astype(np.float32)
    return cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]


class _Scene:
    """One shot: background bands (no keyword colour) and optionally the keyword blob."""

    def __init__(self, rng, keyword, h, w, with_object: bool, n_frames: int):
        others = [c for c in cls_table.CLASS_NAMES if c != keyword
                  and np.linalg.norm(np.subtract(cls_table.label(c).color,
                                                 cls_table.label(keyword).color)) > 90]
        self.bands = [cls_table.label(c).color for c in rng.choice(others, 3, replace=False)]
        self.cuts = np.sort(rng.uniform(0.2, 0.8, 2))
        self.pan = rng.uniform(-1.5, 1.5)  # pixels / frame
        self.obj_color = cls_table.label(keyword).color
        self.with_object = with_object
        self.h, self.w, self.n = h, w, n_frames
        # blob: centre moves linearly, radius follows a bump (enters, grows, leaves)
        self.x0, self.x1 = rng.uniform(0.1, 0.9, 2) * w
        self.y = rng.uniform(0.35, 0.7) * h
        self.rmax = rng.uniform(0.22, 0.38) * h
        self.enters = bool(rng.random() < 0.4)  # grows from nothing, else in view at the cut
        self.tex = _texture(rng, h, 2 * w, 12.0)
        self.rng = rng

    def frame(self, i: int) -> tuple[np.ndarray, float]:
        h, w = self.h, self.w
        yy = np.arange(h)[:, None]
        shift = int(round(self.pan * i)) % w
        img = np.zeros((h, w, 3), np.float32)
        c0, c1 = (self.cuts * h).astype(int)
        wave = (3 * np.sin((np.arange(w) + shift) / 9.0)).astype(int)[None, :]
        band = (yy >= c0 + wave).astype(int) + (yy >= c1 + wave).astype(int)
        img[:] = np.array(self.bands, np.float32)[band]
        img += self.tex[:, shift:shift + w]
        cover = 0.0
        if self.with_object:
            t = i / max(self.n - 1, 1)
            ramp = float(np.clip(min(t, 1 - t) / 0.25, 0.0, 1.0))
            r = self.rmax * (ramp if self.enters else 0.5 + 0.5 * ramp)
            if r > 1:
                xc = self.x0 + (self.x1 - self.x0) * t
                mask = np.zeros((h, w), np.uint8)
                cv2.ellipse(mask, (int(xc), int(self.y)), (int(1.4 * r), int(r)), 0, 0, 360, 1, -1)
                m = mask.astype(bool)
                img[m] = np.array(self.obj_color, np.float32) + self.tex[:, :w][m] * 0.8
                cover = float(m.mean())
        img += self.rng.normal(0, 3, img.shape)
        return np.clip(img, 0, 255).astype(np.uint8), cover


def encode_mp4(path: str | Path, frames, fps: int, gop: int, crf: int = 23) -> None:
    """Encode RGB frames (iterable of (H, W, 3) uint8) as H.264 mp4, atomically."""
    with atomic_path(path, suffix=".tmp.mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4") as c:
            s = None
            for img in frames:
                if s is None:
                    s = c.add_stream("libx264", rate=fps)
                    s.height, s.width = img.shape[:2]
                    s.pix_fmt = "yuv420p"
                    s.codec_context.gop_size = gop
                    s.options = {"preset": "veryfast", "crf": str(crf)}
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            if s is not None:
                for p in s.encode():
                    c.mux(p)


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError(f"{path}: JPEG encoding failed")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def render_video(rng, keyword: str, kind: str, seconds: float, fps: int, h: int, w: int):
    """-> (frames list, coverage (T,), thumbnail frame). Scenes of 2–5 s."""
    T = int(round(seconds * fps))
    frames, cover = [], []
    want_object = kind.startswith("relevant")
    t, k = 0, 0
    obj_scene_done = False
    while t < T:
        n = min(T - t, int(rng.uniform(2.0, 5.0) * fps))
        with_obj = want_object and (k % 2 == 1 or (not obj_scene_done and T - t - n <= 0))
        obj_scene_done |= with_obj
        sc = _Scene(rng, keyword, h, w, with_obj, n)
        for i in range(n):
            f, c = sc.frame(i)
            frames.append(f)
            cover.append(c)
        t += n
        k += 1
    cover = np.array(cover, np.float32)
    if kind == "relevant":
        thumb = frames[int(np.argmax(cover))]
    elif kind == "relevant_bad_thumb":
        thumb = frames[int(np.flatnonzero(cover == 0)[len(np.flatnonzero(cover == 0)) // 2])]
    elif kind == "distractor":
        thumb = frames[len(frames) // 3]
    else:  # clickbait: a thumbnail showing the class, from a scene not in the video
        sc = _Scene(rng, keyword, h, w, True, 11)
        thumb = sc.frame(5)[0]
    return frames, cover, thumb


def render(
    root: str | os.PathLike, keywords: list[str], videos_per_keyword: int = 8, seconds: float = 12.0,
    fps: int = 12, width: int = 128, height: int = 72, gop_s: float = 2.0, seed: int = 0,
    relevant_fraction: float = 0.05, faults: bool = True,
) -> dict[str, Any]:
    """Render web videos for every keyword (a Cityscapes class name) under ``root``.

    Writes videos, thumbnails, ``catalogue.json`` and, last, ``truth.json`` (the marker).
    Returns the truth record.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    catalogue: dict[str, list] = {}
    truth: dict[str, Any] = {"fps": fps, "relevant_fraction": relevant_fraction, "gop_s": gop_s,
                             "size": [height, width], "videos": {}}
    for kw in keywords:
        cls_table.train_id(kw)  # unknown or void class names fail here, naming the class
        entries = catalogue.setdefault(default_keyword(kw), [])
        kinds = [KINDS[i % len(KINDS)] for i in range(videos_per_keyword)]
        for i, kind in enumerate(kinds + (list(FAULTS) if faults else [])):
            vid = f"{kw.replace('_', '-')}-{i:03d}"
            fault = kind if kind in FAULTS else None
            base_kind = "relevant" if fault else kind
            frames, cover, thumb = render_video(rng, kw, base_kind, seconds, fps, height, width)
            vpath, tpath = root / "videos" / f"{vid}.mp4", root / "thumbs" / f"{vid}.jpg"
            if fault != "missing":
                encode_mp4(vpath, frames, fps, gop=max(1, int(round(gop_s * fps))))
            if fault == "truncated":
                data = vpath.read_bytes()
                vpath.write_bytes(data[: len(data) // 2])
            if fault == "bad_thumb":
                tpath.parent.mkdir(parents=True, exist_ok=True)
                tpath.write_text("<html><body>404 thumbnail not found</body></html>\n")
            else:
                _write_jpeg(tpath, thumb)
            relevant_frames = cover >= relevant_fraction
            truth["videos"][vid] = {
                "keyword": kw, "class": kw, "kind": base_kind, "fault": fault,
                "relevant": bool(relevant_frames.any()),
                "thumb_relevant": base_kind in ("relevant", "clickbait"),
                "frames": len(frames), "coverage": np.round(cover, 4).tolist(),
            }
            entries.append({"id": vid, "title": f"{kw} video {i} ({base_kind})",
                            "duration": len(frames) / fps, "thumbnail": f"thumbs/{vid}.jpg",
                            "url": f"videos/{vid}.mp4"})
    write_json(root / "catalogue.json", {"keywords": catalogue})
    write_json(root / "truth.json", truth)
    log.info("rendered %d web videos for %d keywords under %s", len(truth["videos"]), len(keywords), root)
    return truth
