"""``tagseg frames``: decode the CamVid videos into the frames around each labelled still.

The flow stacks need the 30 Hz frames around each labelled still (Saleh et al. §4.1), which
neither CamVid release holds. :func:`decode` reads each sequence's video with PyAV
(https://pyav.org, ``container.decode(video=0)``) and writes, for every still of the tree at
``root`` (either release, :mod:`tagseg.datasets.camvid`), the frames ``-before..+after``
around it as ``{out}/{stem}.png``, named like the stills (``0001TP_006689.png``) and at the
stills' size. Still number = decoded frame index + offset (:data:`OFFSETS`, sources in
:mod:`tagseg.datasets.camvid`).

Alignment check: the decoded frame at each still's number is compared with the still
(PSNR, skimage.metrics.peak_signal_noise_ratio, after resizing to the still's size, dB);
the mean and worst PSNR per sequence are reported. A sequence whose worst still is below
``min_psnr`` fails (:class:`FramesError`, one line) naming the still, its PSNR and the offset
within ``+-search`` that matches best; its frames are removed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .datasets.camvid import SPLITS, Still, detect_release, find_stills, frame_stem
from .datasets.manifest import ManifestError
from .errors import TagsegError
from .images import read_rgb, write_png

log = logging.getLogger(__name__)

VIDEOS: dict[str, str] = {"0001TP": "01TP_extract.avi", "Seq05VD": "0005VD.MXF",
                          "0006R0": "0006R0.MXF", "0016E5": "0016E5.MXF"}
"""Sequence -> its video's name on the CamVid download page."""
OFFSETS: dict[str, int] = {"0001TP": 6660, "0006R0": 0, "0016E5": 0, "Seq05VD": 0}
"""Sequence -> still number of decoded frame 0."""
PSNR_CAP = 99.0
"""PSNR reported for identical images (dB)."""


class FramesError(TagsegError, ValueError):
    """A video is missing or unreadable, or its frames do not match the labelled stills."""


def find_video(videos: Path, sequence: str) -> Path:
    """The video of ``sequence`` in ``videos``: its download name, else ``{sequence}.*``."""
    p = videos / VIDEOS[sequence]
    if p.is_file():
        return p
    others = sorted(q for q in videos.glob(f"{sequence}.*") if q.is_file()) if videos.is_dir() else []
    if others:
        return others[0]
    raise FramesError(f"{p}: video of sequence {sequence} not found (nor {videos}/{sequence}.*); "
                      "download it from http://vis.cs.ucl.ac.uk/Download/G.Brostow/CamVid/ "
                      "(0016E5: join 0016E5.zip.001 and .002, unzip)")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two uint8 images in dB (:data:`PSNR_CAP` when identical)."""
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(a, b):
        return PSNR_CAP
    return min(PSNR_CAP, float(peak_signal_noise_ratio(a, b, data_range=255)))


def _fit(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if frame.shape[:2] == hw:
        return frame
    return cv2.resize(frame, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def _sequence(video: Path, stills: list[Still], offset: int, out: Path, before: int, after: int,
              search: int) -> tuple[dict[int, dict[int, float]], list[Path], int]:
    """Decode ``video``: write the wanted frames, compare the frames within ``+-search`` of each
    still's number. Returns ({still number: {shift: PSNR}}, written files, frames decoded)."""
    import av

    by_num = {s.number: s for s in stills}
    wanted = {s.number + d for s in stills for d in range(-before, after + 1) if s.number + d >= 0}
    last = max(max(wanted), max(by_num) + search)
    hw = read_rgb(stills[0].image).shape[:2]
    cache: dict[int, np.ndarray] = {}
    table: dict[int, dict[int, float]] = {n: {} for n in by_num}
    written: list[Path] = []
    n = 0
    try:
        with av.open(str(video)) as c:
            for i, frame in enumerate(c.decode(video=0)):
                n = i + 1
                number = i + offset
                if number > last:
                    break
                near = [s for s in range(number - search, number + search + 1) if s in by_num]
                if number not in wanted and not near:
                    continue
                rgb = _fit(frame.to_ndarray(format="rgb24"), hw)
                if number in wanted:
                    p = out / f"{frame_stem(stills[0].sequence, number)}.png"
                    write_png(p, rgb)
                    written.append(p)
                for s in near:
                    if s not in cache:
                        cache[s] = read_rgb(by_num[s].image)
                    table[s][number - s] = psnr(rgb, cache[s])
                    if number - s == search:
                        cache.pop(s, None)
    except (av.error.FFmpegError, OSError) as e:
        raise FramesError(f"{video}: not a readable video ({e})") from None
    return table, written, n


def decode(root: Path, videos: Path, out: Path, offsets: Mapping[str, int] | None = None,
           min_psnr: float = 30.0, before: int = 19, after: int = 10, release: str = "auto",
           search: int = 3) -> dict[str, Any]:
    """Decode the frames around every still of ``root`` into ``out``; see the module docstring.

    Returns ``{"release", "out", "sequences": {seq: {video, offset, stills, frames_written,
    psnr_mean, psnr_min, worst_still}}}`` (PSNR in dB)."""
    try:
        have = [s for s in SPLITS if (root / s).is_dir()] or ["train", "val"]
        rel = detect_release("", root, release, tuple(have))
        stills = find_stills("", root, rel, have if rel == "segnet" else list(SPLITS))
    except ManifestError as e:
        raise FramesError(str(e)) from None
    if not stills:
        raise FramesError(f"{root}: no labelled stills found (release {rel})")
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[Still]] = {}
    for s in stills:
        groups.setdefault(s.sequence, []).append(s)
    report: dict[str, Any] = {"release": rel, "out": str(out), "min_psnr_db": min_psnr,
                              "sequences": {}}
    for seq in sorted(groups):
        group = sorted(groups[seq], key=lambda s: s.number)
        video = find_video(videos, seq)
        offset = int((offsets or {}).get(seq, OFFSETS[seq]))
        table, written, n = _sequence(video, group, offset, out, before, after, search)
        short = [s for s in group if 0 not in table[s.number]]
        if short:
            _remove(written)
            raise FramesError(
                f"{video}: has {n} frames, but still {short[0].image} is frame "
                f"{short[0].number - offset} with offset {offset} ({len(short)} stills beyond the "
                f"end); check --offset {seq}=N")
        aligned = {s.number: table[s.number][0] for s in group}
        worst = min(group, key=lambda s: aligned[s.number])
        rec = {"video": str(video), "offset": offset, "stills": len(group),
               "frames_written": len(written),
               "psnr_mean": round(float(np.mean(list(aligned.values()))), 2),
               "psnr_min": round(aligned[worst.number], 2), "worst_still": worst.stem}
        log.info("%s: %d stills, PSNR mean %.2f dB, min %.2f dB (%s)", seq, len(group),
                 rec["psnr_mean"], rec["psnr_min"], worst.stem)
        if aligned[worst.number] < min_psnr:
            _remove(written)
            shifts = sorted({d for t in table.values() for d in t})
            mean = {d: float(np.mean([t[d] for t in table.values() if d in t])) for d in shifts}
            best = max(mean, key=lambda d: mean[d])
            raise FramesError(
                f"{video}: decoded frame {worst.number - offset} does not match still "
                f"{worst.image}: PSNR {aligned[worst.number]:.1f} dB < --min-psnr {min_psnr:g} "
                f"(offset {offset}); best offset within +-{search}: {offset - best} (mean PSNR "
                f"{mean[best]:.1f} dB): rerun with --offset {seq}={offset - best}")
        report["sequences"][seq] = rec
    return report


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)
