"""Synthetic web videos per keyword, with recorded truth, for testing and measuring retrieval.

For each keyword class it renders mp4 videos (H.264 via PyAV, key frames every ``gop_s``
seconds and at scene cuts), a JPEG thumbnail per video and a catalogue for the ``index``
backend. A video is a sequence of 2–5 s shots (scenes). Two styles:

- ``street`` (default): each shot is a random synthcity street world
  (:mod:`synthcity.shots`): a hand-held tracking shot of an instance or a
  drive. Shots with the keyword's class are about it (one more instance, higher density);
  shots without it are about another class or a plain drive, in a world without the keyword's
  class (possible for the classes of ``street.DENSITY_KEYS``; for others, such as road, the
  truth records whatever the shot shows). Street worlds use the train cities' styles.
  The keyword's coverage of each frame comes from the renderer's exact labels.
- ``bands``: label-coloured scenes (Cityscapes palette bands with texture, panning), the
  keyword's class a textured blob of its colour in some scenes only. Fast; the ``palette``
  scorer is exact on them (tests of the retrieval mechanics).

Video kinds (cycled per keyword, truth in ``truth.json``):

- ``relevant``: the class appears in some scenes; thumbnail = the frame where it is largest;
- ``relevant_bad_thumb``: relevant, but the thumbnail is a frame without the class (misleading);
- ``distractor``: the class never appears; thumbnail honest;
- ``clickbait``: the class never appears, but the thumbnail shows it (misleading);
- with ``faults=True`` also, per keyword: ``truncated`` (mp4 cut in half), ``bad_thumb`` (the
  thumbnail is text, not an image) and ``missing`` (the video URL 404s / does not exist).

A frame is *relevant* when the class covers >= ``relevant_fraction`` of it; a thumbnail too
(``thumb_relevant``, from its coverage ``thumb_coverage``).

Layout under ``root``::

    catalogue.json        {"keywords": {kw: [{id, title, duration, thumbnail, url}]}}
                          (kw = the class name with '_' -> ' ')
    truth.json            {"fps", "relevant_fraction", "style", "videos": {id: {keyword, class,
                           kind, relevant, thumb_relevant, thumb_coverage, fault,
                           coverage: [per frame]}}}
    videos/{id}.mp4, thumbs/{id}.jpg
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from tagseg import classes as cls_table
from tagseg.h5io import atomic_path, write_json
from tagseg.retrieval.search import default_keyword

from .dataset import CITIES
from .shots import SUBJECTS, render_shot
from .textures import make_atlas

log = logging.getLogger("tagseg.retrieval")

KINDS = ("relevant", "clickbait", "distractor", "relevant_bad_thumb", "relevant", "relevant",
         "distractor", "relevant")
FAULTS = ("truncated", "bad_thumb", "missing")
STYLES = ("street", "bands")
RENDERED_AS: dict[str, str] = {"motorbike": "motorcycle"}
"""Keyword class names of other class tables (PASCAL VOC, YouTube-Objects) -> the Cityscapes
class the renderer draws for them; every other keyword is a Cityscapes class name."""


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


def _scene_plan(rng, kind: str, T: int, fps: int) -> list[tuple[int, bool]]:
    """Shots of a video of ``T`` frames: (frames, shows the keyword's class), 2–5 s each.
    Relevant kinds show it in every second shot (and in the last if no other did)."""
    want_object = kind.startswith("relevant")
    plan, t, k, done = [], 0, 0, False
    while t < T:
        n = min(T - t, int(rng.uniform(2.0, 5.0) * fps))
        with_obj = want_object and (k % 2 == 1 or (not done and T - t - n <= 0))
        done |= with_obj
        plan.append((n, with_obj))
        t += n
        k += 1
    return plan


def _thumbnail(frames: list[np.ndarray], cover: np.ndarray, kind: str):
    """Thumbnail of a non-clickbait video -> (frame, its coverage): the frame where the class
    is largest (relevant), one where it is smallest (relevant_bad_thumb: misleading), or a
    frame a third of the way in (distractor)."""
    if kind == "relevant":
        i = int(np.argmax(cover))
    elif kind == "relevant_bad_thumb":
        none = np.flatnonzero(cover == cover.min())
        i = int(none[len(none) // 2])
    else:
        i = len(frames) // 3
    return frames[i], float(cover[i])


def render_video(rng, keyword: str, kind: str, seconds: float, fps: int, h: int, w: int):
    """Bands style -> (frames list, coverage (T,), thumbnail frame, thumbnail coverage)."""
    frames, cover = [], []
    for n, with_obj in _scene_plan(rng, kind, int(round(seconds * fps)), fps):
        sc = _Scene(rng, keyword, h, w, with_obj, n)
        for i in range(n):
            f, c = sc.frame(i)
            frames.append(f)
            cover.append(c)
    cover = np.array(cover, np.float32)
    if kind == "clickbait":  # a thumbnail showing the class, from a scene not in the video
        thumb, tc = _Scene(rng, keyword, h, w, True, 11).frame(5)
        return frames, cover, thumb, tc
    return (frames, cover, *_thumbnail(frames, cover, kind))


def render_street_video(rng, seed_key: list[int], keyword: str, kind: str, seconds: float,
                        fps: int, h: int, w: int, atlas: np.ndarray, city: str):
    """Street style -> (frames list, coverage (T,), thumbnail frame, thumbnail coverage).

    Shot ``k`` is drawn from ``[*seed_key, k]``; ``rng`` draws the plan and the other shots'
    subjects (another class, or none: a plain drive, one time in four)."""
    lid = cls_table.label(keyword).label_id
    others = [c for c in SUBJECTS if c != keyword]
    frames, cover = [], []
    for k, (n, with_obj) in enumerate(_scene_plan(rng, kind, int(round(seconds * fps)), fps)):
        if with_obj:
            subject, absent = keyword, None
        else:
            subject = None if rng.random() < 0.25 else str(rng.choice(others))
            absent = keyword
        shot = render_shot([*seed_key, k], n, w, h, atlas, city, subject, absent)
        frames.extend(shot.frames)
        cover.extend((shot.labels == lid).mean((1, 2)))
    cover = np.array(cover, np.float32)
    if kind == "clickbait":  # a tracking shot of the class, from a world not in the video
        shot = render_shot([*seed_key, 999], 1, w, h, atlas, city, keyword, tracking=True)
        return frames, cover, shot.frames[0], float((shot.labels[0] == lid).mean())
    return (frames, cover, *_thumbnail(frames, cover, kind))


def render(
    root: str | os.PathLike, keywords: list[str], videos_per_keyword: int = 8, seconds: float = 12.0,
    fps: int = 12, width: int = 256, height: int = 144, gop_s: float = 2.0, seed: int = 0,
    relevant_fraction: float = 0.05, faults: bool = True, style: str = "street",
) -> dict[str, Any]:
    """Render web videos for every keyword under ``root``: a Cityscapes class name, or a class
    name of :data:`RENDERED_AS` (e.g. PASCAL VOC's ``motorbike``). ``truth.json`` and the
    catalogue name the keyword, so the truth is in the dataset's own class names.

    ``width`` x ``height`` pixels; ``style``: ``street`` or ``bands`` (module docstring).
    Writes videos, thumbnails, ``catalogue.json`` and, last, ``truth.json`` (the marker).
    Returns the truth record.
    """
    if style not in STYLES:
        raise ValueError(f"config key retrieval.web.style: unknown style {style!r} ({' | '.join(STYLES)})")
    root = Path(root)
    rng = np.random.default_rng(seed)
    atlas = make_atlas(seed) if style == "street" else None
    catalogue: dict[str, list] = {}
    truth: dict[str, Any] = {"fps": fps, "relevant_fraction": relevant_fraction, "gop_s": gop_s,
                             "size": [height, width], "style": style, "videos": {}}
    for ki, kw in enumerate(keywords):
        drawn = RENDERED_AS.get(kw, kw)
        cls_table.train_id(drawn)  # unknown or void class names fail here, naming the class
        entries = catalogue.setdefault(default_keyword(kw), [])
        kinds = [KINDS[i % len(KINDS)] for i in range(videos_per_keyword)]
        for i, kind in enumerate(kinds + (list(FAULTS) if faults else [])):
            vid = f"{kw.replace('_', '-')}-{i:03d}"
            fault = kind if kind in FAULTS else None
            base_kind = "relevant" if fault else kind
            if style == "street":
                city = CITIES["train"][i % len(CITIES["train"])]
                frames, cover, thumb, thumb_cover = render_street_video(
                    rng, [seed, 77, ki, i], drawn, base_kind, seconds, fps, height, width, atlas, city)
            else:
                frames, cover, thumb, thumb_cover = render_video(rng, drawn, base_kind, seconds, fps,
                                                                 height, width)
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
                "thumb_relevant": thumb_cover >= relevant_fraction,
                "thumb_coverage": round(thumb_cover, 4),
                "frames": len(frames), "coverage": np.round(cover, 4).tolist(),
            }
            entries.append({"id": vid, "title": f"{kw} video {i} ({base_kind})",
                            "duration": len(frames) / fps, "thumbnail": f"thumbs/{vid}.jpg",
                            "url": f"videos/{vid}.mp4"})
    write_json(root / "catalogue.json", {"keywords": catalogue})
    write_json(root / "truth.json", truth)
    log.info("rendered %d web videos for %d keywords under %s", len(truth["videos"]), len(keywords), root)
    return truth


def render_config(cfg: Mapping[str, Any], root: str | os.PathLike) -> dict[str, Any]:
    """Rule ``retrieval_webvideos``: render ``{root}/web/`` for ``retrieval.classes`` with the
    ``retrieval.web`` knobs (config section ``retrieval`` as ``cfg``); returns the truth record."""
    w = dict(cfg.get("web") or {})
    return render(
        Path(root) / "web", list(cfg["classes"]), videos_per_keyword=int(w.get("videos_per_class", 8)),
        seconds=float(w.get("seconds", 12)), fps=int(w.get("fps", 12)), width=int(w.get("width", 256)),
        height=int(w.get("height", 144)), gop_s=float(w.get("gop_s", 2.0)), seed=int(w.get("seed", 0)),
        faults=bool(w.get("faults", True)), style=str(w.get("style", "street")))
