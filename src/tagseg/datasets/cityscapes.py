"""Adapter for the Cityscapes layout (real Cityscapes and the embedded synthcity alike).

Expects under ``root``::

    leftImg8bit_sequence/{split}/{city}/{city}_{seq:06d}_{frame:06d}_leftImg8bit.png  (30 per snippet)
    gtFine/{split}/{city}/{city}_{seq:06d}_{frame:06d}_gtFine_labelIds.png            (annotated frame)
    flowGt/{split}/{city}/{city}_{seq:06d}_{frame:06d}_flowGt.h5                      (synthcity only)

A snippet is the 30-frame sequence around each annotated frame: frames ``frame-19 .. frame+10``
(the annotated frame is the 20th, as in Cityscapes). Tags are the evaluation classes covering at
least ``min_tag_fraction`` of the annotated frame's ground truth, as Saleh et al. did.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import classes
from ..images import read_label, read_rgb
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

FRAMES_BEFORE = 19
"""Frames before the annotated one in a Cityscapes snippet (it is the 20th of 30)."""
FRAMES_AFTER = 10
_GT_RE = re.compile(r"^(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})_gtFine_labelIds\.png$")


def snippet_tags(label_ids: np.ndarray, min_fraction: float, source: str) -> list[str]:
    """Evaluation classes covering >= ``min_fraction`` of the image (and at least one pixel).

    ``label_ids``: (H, W) Cityscapes label ids. Returns class names in train-id order.
    """
    train = classes.to_train_ids(label_ids, source)
    counts = np.bincount(train.ravel(), minlength=256)[: classes.NUM_CLASSES]
    frac = counts / max(1, train.size)
    return [classes.CLASS_NAMES[k] for k in range(classes.NUM_CLASSES)
            if counts[k] > 0 and frac[k] >= min_fraction]


def _check_root(name: str, root: Path) -> None:
    expected = (
        "expected leftImg8bit_sequence/{train,val}/{city}/{city}_{seq:06d}_{frame:06d}"
        "_leftImg8bit.png and gtFine/{train,val}/{city}/…_gtFine_labelIds.png under it"
    )
    if not root.is_dir():
        raise ManifestError(
            f"dataset {name!r}: root {str(root)!r} does not exist; set config key "
            f"'datasets.{name}.root' to the dataset folder ({expected})"
        )
    for sub in ("leftImg8bit_sequence", "gtFine"):
        if not (root / sub).is_dir():
            raise ManifestError(
                f"dataset {name!r}: {root / sub} is missing; config key 'datasets.{name}.root' "
                f"must point at an unpacked Cityscapes tree ({expected})"
            )


def build_manifest(name: str, cfg: dict[str, Any]) -> Manifest:
    """Scan a Cityscapes-layout tree and return its manifest (config section ``datasets.{name}``)."""
    root = Path(cfg["root"])
    _check_root(name, root)
    shards: dict[str, int] = dict(cfg["shards"])
    snippets: list[Snippet] = []
    size: tuple[int, int] | None = None
    for split in shards:
        gt_files = sorted((root / "gtFine" / split).glob("*/*_gtFine_labelIds.png"))
        if not gt_files:
            raise ManifestError(
                f"dataset {name!r}: no ground truth under {root / 'gtFine' / split} "
                f"(config key 'datasets.{name}.root'); expected {{city}}/*_gtFine_labelIds.png"
            )
        for gt in gt_files:
            m = _GT_RE.match(gt.name)
            if m is None:
                raise ManifestError(f"{gt}: name does not follow {{city}}_{{seq}}_{{frame}}_gtFine_labelIds.png")
            city, seq, frame = m["city"], int(m["seq"]), int(m["frame"])
            seq_dir = root / "leftImg8bit_sequence" / split / gt.parent.name
            frames = []
            annotated = None
            for f in range(max(0, frame - FRAMES_BEFORE), frame + FRAMES_AFTER + 1):
                p = seq_dir / f"{city}_{seq:06d}_{f:06d}_leftImg8bit.png"
                if p.is_file():
                    if f == frame:
                        annotated = len(frames)
                    frames.append(str(p))
                elif f < frame:
                    frames.clear()  # keep only the contiguous run that reaches the annotated frame
                else:
                    break
            if annotated is None:
                raise ManifestError(
                    f"{gt}: its annotated frame {seq_dir / f'{city}_{seq:06d}_{frame:06d}_leftImg8bit.png'} "
                    "is missing from leftImg8bit_sequence"
                )
            if size is None:
                h, w = read_rgb(frames[annotated]).shape[:2]
                size = (int(round(h * cfg["resize"])), int(round(w * cfg["resize"])))
            sid = f"{city}_{seq:06d}_{frame:06d}"
            flow_gt = root / "flowGt" / split / gt.parent.name / f"{sid}_flowGt.h5"
            snippets.append(Snippet(
                id=sid, split=split, city=city, frames=frames, annotated=annotated,
                tags=snippet_tags(read_label(gt), cfg["min_tag_fraction"], str(gt)),
                gt=str(gt), flow_gt=str(flow_gt) if flow_gt.is_file() else None,
            ))
    assign_shards(snippets, shards)
    for split, n in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < n:
            raise ManifestError(
                f"dataset {name!r}: split {split!r} has {count} snippets but "
                f"'datasets.{name}.shards.{split}' asks for {n} shards"
            )
    iconic = cfg.get("iconic") or str(root / "iconic")
    assert size is not None
    log.info("dataset %s: %d snippets, working size %s", name, len(snippets), size)
    return Manifest(
        dataset=name, kind=cfg["kind"], root=str(root), size=size, resize=cfg["resize"],
        classes=list(classes.CLASS_NAMES), iconic=iconic, shards=shards, snippets=snippets,
    )
