"""Stage 5, ``clips``: frames within ±``half_window_s`` of each kept key frame, then relevant runs.

Hong et al. §4: "we extract frames within two seconds around each of selected key-frames";
§3.2: frames whose class-relevance ``y · f_enc(v)`` exceeds a threshold are chosen, and
``min_run`` (5) or more consecutive chosen frames form one relevant video (a clip).

Overlapping windows of one video are merged. Frames are sampled at a fixed ``fps`` (nearest
decoded frame to each sample time) and brought to a fixed ``size`` (H, W) by a centre crop to
that aspect ratio and a resize.

``clips/{class}.h5`` (stage ``retrieval_clips``), one group per clip: layout, stage name and
reader in :mod:`tagseg.clipfile`.

``clips/{class}.json`` records every window (times, scores, selected mask) and errors.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..clipfile import STAGE, city_name
from ..h5io import write_artifact, write_json
from .scoring import Scorer

log = logging.getLogger("tagseg.retrieval")


def merge_windows(times, half: float, duration: float | None = None) -> list[tuple[float, float]]:
    """Union of ``[t - half, t + half]`` (clipped to [0, duration]) as sorted disjoint intervals, seconds."""
    out: list[list[float]] = []
    for t in sorted(times):
        a, b = max(0.0, t - half), t + half
        if duration is not None:
            b = min(b, duration)
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _fit(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    """Frame -> (H, W, 3) RGB: scale to cover ``size``, centre-crop."""
    h, w = size
    k = max(w / frame.width, h / frame.height)
    sw, sh = max(w, math.ceil(frame.width * k)), max(h, math.ceil(frame.height * k))
    img = frame.to_ndarray(format="rgb24", width=sw, height=sh)
    y0, x0 = (sh - h) // 2, (sw - w) // 2
    return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])


def decode_window(
    path: str | Path, start: float, end: float, fps: float, size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of ``path`` sampled at ``fps`` in [start, end] s -> (times (T,), frames (T, H, W, 3) uint8).

    Seeks to the key frame before ``start`` and decodes only up to ``end``; each sample time
    takes the nearest decoded frame. Sample times after the last frame are dropped.
    """
    targets = np.arange(start, end + 1e-6, 1.0 / fps)
    dec_t: list[float] = []
    dec_f: list[np.ndarray] = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if start > 0:
            c.seek(int(start / float(s.time_base)), stream=s, backward=True, any_frame=False)
        src_dt = 1.0 / float(s.average_rate or s.guessed_rate or fps)
        for frame in c.decode(s):
            t = float(frame.time)
            if t < start - src_dt:
                continue
            if t > end + src_dt:
                break
            dec_t.append(t)
            dec_f.append(_fit(frame, size))
    if not dec_t:
        return np.zeros(0), np.zeros((0, *size, 3), np.uint8)
    dt = np.asarray(dec_t)
    targets = targets[targets <= dt[-1] + src_dt / 2]
    idx = np.abs(dt[None, :] - targets[:, None]).argmin(1)
    return targets, np.stack([dec_f[i] for i in idx])


def relevant_runs(relevance: np.ndarray, threshold: float, min_run: int) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b)`` of consecutive entries >= ``threshold`` with length >= ``min_run``."""
    ok = np.concatenate([[False], np.asarray(relevance) >= threshold, [False]])
    d = np.diff(ok.astype(np.int8))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a >= min_run]


def clips(
    keyframes_record: dict[str, Any], out_h5: str | Path, class_index: int, scorer: Scorer,
    half_window_s: float = 2.0, fps: float = 10.0, size: tuple[int, int] = (128, 256),
    threshold: float = 0.8, min_run: int = 5, config: Any = None,
) -> dict[str, Any]:
    """Extract windows around kept key frames, score frames, write relevant runs to ``out_h5``.

    Returns the JSON record (windows, clips, errors). The HDF5 file is written atomically
    (and written even with no clip, so the stage is complete).
    """
    cname = keyframes_record["class"]
    city = city_name(cname)
    windows, clip_list, errors = [], [], []
    size = (int(size[0]), int(size[1]))
    with write_artifact(out_h5, STAGE, config=config, attrs={
        "class": cname, "fps": fps, "size": list(size), "threshold": threshold,
        "min_run": min_run, "half_window_s": half_window_s,
    }) as h5:
        for v in keyframes_record["videos"]:
            if not v["kept"]:
                continue
            for a, b in merge_windows(v["kept"], half_window_s):
                try:
                    times, frames = decode_window(v["path"], a, b, fps, size)
                except (av.error.FFmpegError, OSError, ValueError) as e:
                    errors.append({"id": v["id"], "window": [a, b], "reason": "decode_error",
                                   "detail": f"{v['path']}: {type(e).__name__}: {e}"})
                    log.warning("video %s window %.1f-%.1f s skipped: %s", v["id"], a, b, e)
                    continue
                if len(times) == 0:
                    errors.append({"id": v["id"], "window": [a, b], "reason": "no_frames",
                                   "detail": f"{v['path']}: no frame decoded in the window"})
                    continue
                rel = scorer(frames)[:, class_index].astype(np.float32)
                runs = relevant_runs(rel, threshold, min_run)
                selected = np.zeros(len(times), bool)
                for ra, rb in runs:
                    selected[ra:rb] = True
                    seq = len(clip_list)
                    T = rb - ra
                    ann = T // 2
                    cid = f"{city}_{seq:06d}_{ann:06d}"
                    g = h5.create_group(cid)
                    g.create_dataset("frames", data=frames[ra:rb], compression="gzip",
                                     compression_opts=4, chunks=(1, *size, 3))
                    g.create_dataset("times", data=times[ra:rb]).attrs["units"] = "s"
                    g.create_dataset("scores", data=rel[ra:rb])
                    g.create_dataset("offsets", data=np.arange(T) - ann)
                    g.attrs.update({"video_id": v["id"], "class": cname, "url": v.get("url") or "",
                                    "annotated": ann, "fps": fps})
                    clip_list.append({"id": cid, "video": v["id"], "start": float(times[ra]),
                                      "end": float(times[rb - 1]), "frames": T})
                windows.append({"video": v["id"], "start": a, "end": b,
                                "times": times.round(4).tolist(), "scores": rel.round(4).tolist(),
                                "selected": selected.tolist()})
        h5.attrs["clips"] = len(clip_list)
    log.info("class %s: %d clips (%d frames) from %d windows, %d errors", cname, len(clip_list),
             sum(c["frames"] for c in clip_list), len(windows), len(errors))
    return {"class": cname, "fps": fps, "size": list(size), "threshold": threshold,
            "min_run": min_run, "half_window_s": half_window_s, "windows": windows,
            "clips": clip_list, "errors": errors}


def run(keyframes_json: str, out_h5: str, out_json: str, class_index: int, scorer: Scorer,
        **kw) -> dict[str, Any]:
    rec = clips(json.loads(Path(keyframes_json).read_text()), out_h5, class_index, scorer, **kw)
    write_json(out_json, rec)
    return rec
