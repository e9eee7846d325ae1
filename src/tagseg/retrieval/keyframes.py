"""Stage 4, ``keyframes``: decode only key frames (PyAV ``skip_frame = "NONKEY"``), score them.

Hong et al. §4 (footnote 2): the reference frames used to compress a video serve as key
frames, so informative intervals are found without decompressing the whole video. The
decoder still reads every packet but decodes only key (intra) frames.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..h5io import write_json
from .scoring import Scorer

log = logging.getLogger("tagseg.retrieval")


class NoKeyframes(ValueError):
    pass


def iter_keyframes(path: str | Path, max_side: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time s, (H, W, 3) uint8 RGB)`` for each key frame of ``path``'s first video stream.

    ``max_side`` downscales frames whose longer side exceeds it (pixels), in the converter.
    Raises ``av.error.FFmpegError`` / :class:`NoKeyframes` (no video stream) naming nothing;
    callers add the file name.
    """
    with av.open(str(path)) as c:
        if not c.streams.video:
            raise NoKeyframes("no video stream")
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONKEY"
        for frame in c.decode(s):
            t = frame.time if frame.time is not None else (frame.pts or 0) * float(s.time_base or 0)
            kw = {}
            if max_side and max(frame.width, frame.height) > max_side:
                k = max_side / max(frame.width, frame.height)
                kw = {"width": max(2, int(frame.width * k)), "height": max(2, int(frame.height * k))}
            yield float(t), frame.to_ndarray(format="rgb24", **kw)


def count_frames(path: str | Path, keyframes_only: bool) -> int:
    """Decode ``path`` (all frames or key frames only) and count decoded frames; for benchmarks."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if keyframes_only:
            s.codec_context.skip_frame = "NONKEY"
        return sum(1 for _ in c.decode(s))


def score_keyframes(
    path: str | Path, class_index: int, scorer: Scorer, batch: int = 32, max_side: int | None = 480,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """-> (times (K,) s, scores (K,) for ``class_index``, error or None).

    A decode error part-way (truncated file) returns the key frames decoded so far and the error.
    """
    times, scores, buf, err = [], [], [], None

    def flush():
        if buf:
            scores.extend(scorer(np.stack(buf))[:, class_index].tolist())
            buf.clear()

    try:
        for t, img in iter_keyframes(path, max_side):
            if buf and buf[0].shape != img.shape:
                flush()
            times.append(t)
            buf.append(img)
            if len(buf) >= batch:
                flush()
    except (av.error.FFmpegError, NoKeyframes, OSError) as e:
        err = f"{type(e).__name__}: {e}"
    flush()
    return np.asarray(times, np.float64), np.asarray(scores, np.float32), err


def select(times: np.ndarray, scores: np.ndarray, threshold: float, k: int) -> np.ndarray:
    """Indices of the up to ``k`` best-scoring key frames with score >= ``threshold``, in time order."""
    ok = np.flatnonzero(scores >= threshold)
    best = ok[np.argsort(-scores[ok], kind="stable")][:k]
    return np.sort(best)


def keyframes(
    download_record: dict[str, Any], class_index: int, scorer: Scorer, threshold: float = 0.8,
    per_video: int = 15, max_side: int | None = 480,
) -> dict[str, Any]:
    """Score every downloaded video's key frames; keep up to ``per_video`` >= ``threshold``.

    Returns ``{"class", "threshold", "per_video", "videos": [{id, path, fps, times, scores,
    kept (times), decode_error}], "errors": [{id, reason, detail}]}``. A video that cannot be
    opened or has no key frames is an error entry; videos with no kept key frame are listed
    with ``kept: []``.
    """
    videos, errors = [], []
    for v in download_record["downloaded"]:
        try:
            times, scores, err = score_keyframes(v["path"], class_index, scorer, max_side=max_side)
        except Exception as e:  # unexpected: record it, never crash the stage
            errors.append({"id": v["id"], "reason": "decode_error", "detail": f"{v['path']}: {e}"})
            continue
        if len(times) == 0:
            reason = "no_keyframes" if err is None or "no video stream" in err else "decode_error"
            errors.append({"id": v["id"], "reason": reason,
                           "detail": f"{v['path']}: " + (err or "no key frame decoded")})
            log.warning("video %s skipped: %s", v["id"], errors[-1]["detail"])
            continue
        if err:
            log.warning("video %s: decode stopped after %d key frames: %s", v["id"], len(times), err)
        keep = select(times, scores, threshold, per_video)
        videos.append({"id": v["id"], "path": v["path"], "fps": v.get("fps"), "url": v.get("url"),
                       "times": times.round(4).tolist(), "scores": scores.round(4).tolist(),
                       "kept": times[keep].round(4).tolist(), "decode_error": err})
    n_kept = sum(len(v["kept"]) for v in videos)
    log.info("class %s: %d key frames kept from %d videos (%d errors)",
             download_record["class"], n_kept, len(videos), len(errors))
    return {"class": download_record["class"], "threshold": threshold, "per_video": per_video,
            "videos": videos, "errors": errors}


def run(download_json: str, out_json: str, class_index: int, scorer: Scorer, **kw) -> dict[str, Any]:
    rec = keyframes(json.loads(Path(download_json).read_text()), class_index, scorer, **kw)
    write_json(out_json, rec)
    return rec
