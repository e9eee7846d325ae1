"""Retrieved web clips as a dataset of kind ``webvideos`` (Hong et al. 2017 §3.2, §4).

Config ``datasets.{name}``: ``{kind: webvideos, source: synthcity, root: ..., resize: 1.0,
stride: null, shards: {train: N}}``. Its input is ``results/{source}/retrieval/clips/{class}.h5``
(:func:`tagseg.plan.clip_paths`) for every class of ``retrieval.classes`` (written by the
``retrieval_clips`` rule; one group per relevant run, layout in :mod:`tagseg.clipfile`).

Each clip is cut into snippets: windows of the frames the later stages need (``lo..hi`` =
min(needed offsets) .. max(needed offsets) + 1, :func:`tagseg.plan.frame_span` of
:func:`tagseg.plan.needed_offsets`: -4..6 with L = 10), one every ``stride`` frames
(default: the window length, so windows do not overlap). A clip shorter than one window is
skipped (logged). The frames are written as PNGs in the Cityscapes layout::

    {root}/leftImg8bit_sequence/train/{city}/{city}_{seq:06d}_{k:06d}_leftImg8bit.png

(``city = web{class}``, ``seq`` = clip number in its class file, ``k`` = frame index in the
clip), so flow / heatmaps / pseudolabels read them like any other frames. A snippet's id is
``{city}_{seq:06d}_{a:06d}`` with ``a`` its annotated frame's index in the clip, its ``tags``
are ``[class]`` (the keyword's class: the only label a web video has), ``gt`` is None
(webvideos are never scored; ``split`` is ``train`` only) and ``extra`` keeps the source video
id, URL, clip times (s) and relevance scores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..plan import frame_span
from ..classtable import ClassTable
from ..config import section
from .kinds import Kind
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

KIND = "webvideos"
SPLIT = "train"


def is_webvideos(dataset_cfg: Mapping[str, Any]) -> bool:
    return dataset_cfg["kind"] == KIND


def window_starts(n_frames: int, lo: int, hi: int, stride: int | None = None) -> list[int]:
    """Annotated indices ``a`` of a clip of ``n_frames`` with frames ``a+lo .. a+hi`` all present.

    ``lo <= 0 <= hi`` are frame offsets from the annotated frame; ``stride`` defaults to the
    window length ``hi - lo + 1`` (non-overlapping windows).
    """
    if lo > 0 or hi < 0:
        raise ValueError(f"window offsets must satisfy lo <= 0 <= hi, got lo={lo}, hi={hi}")
    step = int(stride) if stride else hi - lo + 1
    if step < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return list(range(-lo, n_frames - hi, step))


def _frame_png(root: Path, city: str, seq: str, k: int) -> Path:
    return root / "leftImg8bit_sequence" / SPLIT / city / f"{city}_{seq}_{k:06d}_leftImg8bit.png"


def build_manifest(
    name: str,
    cfg: Mapping[str, Any],
    clip_h5s: Sequence[str | os.PathLike],
    class_names: Sequence[str],
    offsets: Sequence[int],
    table: ClassTable | None = None,
) -> Manifest:
    """Write the clips' frames under ``cfg['root']`` and return the ``webvideos`` manifest.

    ``cfg``: config ``datasets.{name}`` (keys left out: the schema's defaults); ``clip_h5s``: the source's ``clips/{class}.h5``;
    ``class_names`` and ``table``: the classes and class table of the source manifest (None:
    this kind's default, the Cityscapes table); ``offsets``: frame offsets the
    later stages need (:func:`tagseg.plan.needed_offsets`). Frames are written at the clip
    size x ``cfg['resize']`` (the working size), stale frames of earlier runs are removed.
    """
    from ..clipfile import STAGE
    from ..h5io import open_artifact
    from ..images import write_png

    cfg = section(f"datasets.{name}", cfg)
    root = Path(cfg["root"])
    resize = float(cfg["resize"])
    lo, hi = frame_span(offsets)
    snippets: list[Snippet] = []
    size: tuple[int, int] | None = None
    written: set[Path] = set()
    skipped = 0
    for path in clip_h5s:
        with open_artifact(path, STAGE) as f:
            h, w = (int(v) for v in f.attrs["size"])
            wsize = (int(round(h * resize)), int(round(w * resize)))
            if size is not None and size != wsize:
                raise ManifestError(
                    f"{path}: clip size {h}x{w} differs from the other clip files' (working size "
                    f"{size[0]}x{size[1]}); rerun the retrieval_clips rules with one retrieval.clip_size")
            size = wsize
            for cid in sorted(f.keys()):
                g = f[cid]
                cname = str(g.attrs["class"])
                if cname not in class_names:
                    raise ManifestError(f"{path}: clip {cid} has class {cname!r}, not in the class table {list(class_names)}")
                frames = g["frames"]
                n = int(frames.shape[0])
                starts = window_starts(n, lo, hi, cfg["stride"])
                if not starts:
                    skipped += 1
                    log.info("%s: clip %s has %d frames, fewer than one window (%d..%d): skipped",
                             path, cid, n, lo, hi)
                    continue
                city, seq, _ = cid.rsplit("_", 2)
                times, scores = g["times"][()], g["scores"][()]
                need = sorted({a + o for a in starts for o in range(lo, hi + 1)})
                for k in need:
                    img = np.asarray(frames[k])
                    if img.shape[:2] != wsize:
                        img = cv2.resize(img, (wsize[1], wsize[0]), interpolation=cv2.INTER_AREA)
                    p = _frame_png(root, city, seq, k)
                    write_png(p, img)
                    written.add(p)
                for a in starts:
                    ks = range(a + lo, a + hi + 1)
                    snippets.append(Snippet(
                        id=f"{city}_{seq}_{a:06d}", split=SPLIT, city=city,
                        frames=[str(_frame_png(root, city, seq, k)) for k in ks], annotated=-lo,
                        tags=[cname], gt=None, flow_gt=None,
                        extra={"source": KIND, "tags_complete": False, "clip": cid, "video_id": str(g.attrs["video_id"]),
                               "url": str(g.attrs["url"]),
                               "times_s": [round(float(times[k]), 4) for k in ks],
                               "relevance": [round(float(scores[k]), 4) for k in ks]}))
    _remove_stale(root, written)
    shards = {SPLIT: int(cfg["shards"][SPLIT])}
    if len(snippets) < shards[SPLIT]:
        raise ManifestError(
            f"dataset {name!r}: {len(snippets)} snippets from {len(clip_h5s)} clip files "
            f"({skipped} clips shorter than the {hi - lo + 1}-frame window) but "
            f"'datasets.{name}.shards.train' asks for {shards[SPLIT]} shards; retrieve more "
            "(retrieval.search_results, thresholds) or lower the shard count")
    assign_shards(snippets, shards)
    log.info("dataset %s: %d snippets from %d clip files (%d clips too short), working size %s",
             name, len(snippets), len(clip_h5s), skipped, size)
    assert size is not None
    return Manifest(dataset=name, kind=KIND, root=str(root), size=size, resize=resize,
                    classes=list(class_names), iconic=None, shards=shards, snippets=snippets,
                    class_table=table)


def _remove_stale(root: Path, keep: set[Path]) -> None:
    """Delete frame PNGs of earlier runs under ``root`` (web* cities only) not in ``keep``."""
    base = root / "leftImg8bit_sequence" / SPLIT
    if not base.is_dir():
        return
    for p in base.glob("web*/*_leftImg8bit.png"):
        if p not in keep:
            p.unlink()


def run_manifest(name: str, cfg: Mapping[str, Any], clip_h5s: Sequence[str], source_manifest: str,
                 offsets: Sequence[int], out: str) -> Manifest:
    """Rule ``webvideos_manifest``: class table from the source's manifest; write ``out``."""
    from .manifest import load

    src = load(source_manifest)
    m = build_manifest(name, cfg, clip_h5s, src.classes, offsets, src.table)
    m.save(out)
    return m


def share_classifier(model: str, accuracy: str, out_model: str, out_accuracy: str) -> None:
    """Rule ``webvideos_classifiers``: the source's classifier serves the web clips (Hong et al.
    score web videos with the classifier trained on the target's images); copied atomically."""
    import shutil

    from ..h5io import atomic_path

    for src, dst in ((model, out_model), (accuracy, out_accuracy)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    log.info("classifier %s shared as %s", model, out_model)


def _default_table() -> ClassTable:
    from .cityscapes import TABLE

    return TABLE


KINDS = {KIND: Kind(KIND, _default_table(), build_manifest, None)}
"""Web clips: the class table is the source dataset's (recorded from its manifest; default the
Cityscapes table); no ground truth, hence no evaluation protocol."""

