"""Adapter for the Cityscapes layout (real Cityscapes and the embedded synthcity alike).

Expects under ``root``::

    leftImg8bit_sequence/{split}/{city}/{city}_{seq:06d}_{frame:06d}_leftImg8bit.png  (30 per snippet)
    gtFine/{split}/{city}/{city}_{seq:06d}_{frame:06d}_gtFine_labelIds.png            (annotated frame)
    flowGt/{split}/{city}/{city}_{seq:06d}_{frame:06d}_flowGt.h5                      (synthcity only)

A snippet is the 30-frame sequence around each annotated frame: frames ``frame-19 .. frame+10``
(the annotated frame is the 20th, as in Cityscapes). Tags are the evaluation classes covering at
least ``min_tag_fraction`` of the annotated frame's ground truth, as Saleh et al. did.

Checks, each a :class:`ManifestError` of one line naming the file or config key and what to do
(docs/datasets.md): no data (which zips, from where, unpacked where); a ground-truth or frame
name that differs from the pattern only in case; an annotated frame whose size (image header)
differs from the others', unless ``resize_mismatched``; a ground truth of another size than its
frame. Frames missing inside a snippet's sequence are recorded (``extra["missing_frames"]``) and
named by the stages that need them.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import classes
from ..images import image_size, read_label
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

FRAMES_BEFORE = 19
"""Frames before the annotated one in a Cityscapes snippet (it is the 20th of 30)."""
FRAMES_AFTER = 10
GT_SUFFIX = "_gtFine_labelIds.png"
FRAME_SUFFIX = "_leftImg8bit.png"
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


CITYSCAPES_DOWNLOADS = "https://www.cityscapes-dataset.com/downloads/"
CITYSCAPES_ZIPS = {
    "leftImg8bit_sequence": "leftImg8bit_sequence_trainvaltest.zip (the 30-frame snippets, 324 GB)",
    "gtFine": "gtFine_trainvaltest.zip (241 MB)",
}
"""Subfolder of the dataset root -> the official zip that holds it (each zip holds its folder)."""


def get_data_hint(name: str, kind: str, root: Path, folders: list[str] | None = None) -> str:
    """What to do to get the data of dataset ``name`` (one sentence, no newline).

    ``folders``: the subfolders of ``root`` that are missing (default: all of them).
    """
    key = f"config key 'datasets.{name}.root'"
    if kind == "synthcity":
        return (f"synthcity is rendered by the rule 'synthesize' into {root}: rerun with "
                f"--forcerun=synthesize (or check {key})")
    folders = folders or list(CITYSCAPES_ZIPS)
    zips = " and ".join(CITYSCAPES_ZIPS[f] for f in folders)
    layout = " and ".join(f"{root / f}/{{train,val}}/{{city}}/" for f in folders)
    return (f"download {zips} from {CITYSCAPES_DOWNLOADS} (free account) and unzip "
            f"{'them' if len(folders) > 1 else 'it'} in {root}, giving {layout}; or set {key} to "
            "the folder that holds them")


def _check_root(name: str, kind: str, root: Path) -> None:
    if not root.is_dir():
        raise ManifestError(f"dataset {name!r}: no data at {root} (config key "
                            f"'datasets.{name}.root'): {get_data_hint(name, kind, root)}")
    missing = [sub for sub in CITYSCAPES_ZIPS if not (root / sub).is_dir()]
    if missing:
        raise ManifestError(
            f"dataset {name!r}: {', '.join(str(root / m) for m in missing)} missing (config key "
            f"'datasets.{name}.root'): {get_data_hint(name, kind, root, missing)}")


class _Dirs:
    """Cached directory listings: exact names, and lower-case name -> names (case checks)."""

    def __init__(self) -> None:
        self._names: dict[Path, set[str]] = {}
        self._lower: dict[Path, dict[str, list[str]]] = {}

    def names(self, d: Path) -> set[str]:
        if d not in self._names:
            try:
                self._names[d] = set(os.listdir(d))
            except (FileNotFoundError, NotADirectoryError):
                self._names[d] = set()
        return self._names[d]

    def case_variants(self, d: Path, name: str) -> list[str]:
        """Names in ``d`` equal to ``name`` except in case (``name`` itself excluded)."""
        if d not in self._lower:
            lower: dict[str, list[str]] = {}
            for n in sorted(self.names(d)):
                lower.setdefault(n.lower(), []).append(n)
            self._lower[d] = lower
        return [n for n in self._lower[d].get(name.lower(), []) if n != name]


def ground_truth_files(name: str, root: Path, split: str) -> list[Path]:
    """Sorted ``gtFine/{split}/{city}/*_gtFine_labelIds.png`` of the tree.

    A file whose name matches the pattern only when case is ignored (``_labelids.png``) is an
    error naming it and the expected name: it would otherwise be skipped silently.
    """
    base = root / "gtFine" / split
    out: list[Path] = []
    for city in sorted(os.listdir(base)) if base.is_dir() else []:
        if not (base / city).is_dir():
            continue
        for fname in sorted(os.listdir(base / city)):
            if fname.endswith(GT_SUFFIX):
                if _GT_RE.match(fname) is None:
                    raise ManifestError(f"{base / city / fname}: name does not follow "
                                        f"{{city}}_{{seq:06d}}_{{frame:06d}}{GT_SUFFIX}")
                out.append(base / city / fname)
            elif fname.lower().endswith(GT_SUFFIX.lower()):
                expected = fname[: -len(GT_SUFFIX)] + GT_SUFFIX
                raise ManifestError(
                    f"{base / city / fname}: ground-truth file name differs from the pattern only in "
                    f"case; rename it to {expected} (dataset {name!r} reads *{GT_SUFFIX} only)")
    return out


def _sequence(dirs: _Dirs, seq_dir: Path, city: str, seq: int, frame: int,
              ) -> tuple[list[str], int | None, list[list[Any]]]:
    """(frames, annotated index, missing [[offset, path], ...]) of the sequence around ``frame``.

    ``frames`` is the contiguous run of existing frames that reaches the annotated frame within
    ``frame - FRAMES_BEFORE .. frame + FRAMES_AFTER``; frames of that range (from frame 0 of
    the video on) that the tree lacks are listed as missing. A frame present only with another
    case in its name is an error naming it.
    """
    names = dirs.names(seq_dir)
    frames: list[str] = []
    missing: list[list[Any]] = []
    annotated: int | None = None
    broken = False
    for f in range(max(0, frame - FRAMES_BEFORE), frame + FRAMES_AFTER + 1):
        fname = f"{city}_{seq:06d}_{f:06d}{FRAME_SUFFIX}"
        if fname in names:
            if broken:
                continue
            if f == frame:
                annotated = len(frames)
            frames.append(str(seq_dir / fname))
            continue
        if variants := dirs.case_variants(seq_dir, fname):
            raise ManifestError(f"{seq_dir / variants[0]}: frame file name differs from the "
                                f"pattern only in case; rename it to {fname}")
        missing.append([f - frame, str(seq_dir / fname)])
        if f < frame:
            frames.clear()  # keep only the contiguous run that reaches the annotated frame
        else:
            broken = True
    return frames, annotated, missing


def build_manifest(name: str, cfg: dict[str, Any]) -> Manifest:
    """Scan a Cityscapes-layout tree and return its manifest (config section ``datasets.{name}``).

    Every annotated frame must have one size (read from the image headers), the working size
    times ``resize``; a frame of another size is an error naming it unless
    ``resize_mismatched`` is true, when it is resized like the rest (sizes: the most common).
    """
    root = Path(cfg["root"])
    kind = str(cfg.get("kind", "cityscapes"))
    _check_root(name, kind, root)
    shards: dict[str, int] = dict(cfg["shards"])
    snippets: list[Snippet] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    dirs = _Dirs()
    for split in shards:
        gt_files = ground_truth_files(name, root, split)
        if not gt_files:
            raise ManifestError(
                f"dataset {name!r}: no ground truth (*{GT_SUFFIX}) under {root / 'gtFine' / split} "
                f"(config key 'datasets.{name}.root'): "
                + (get_data_hint(name, kind, root, ["gtFine"]) if kind != "synthcity"
                   else get_data_hint(name, kind, root)))
        for gt in gt_files:
            m = _GT_RE.match(gt.name)
            assert m is not None
            city, seq, frame = m["city"], int(m["seq"]), int(m["frame"])
            seq_dir = root / "leftImg8bit_sequence" / split / gt.parent.name
            frames, annotated, missing = _sequence(dirs, seq_dir, city, seq, frame)
            if annotated is None:
                where = "leftImg8bit_sequence" + (
                    f" ({CITYSCAPES_ZIPS['leftImg8bit_sequence']})" if kind != "synthcity" else "")
                raise ManifestError(
                    f"{gt}: its annotated frame {seq_dir / f'{city}_{seq:06d}_{frame:06d}{FRAME_SUFFIX}'} "
                    f"is missing from {where}")
            sid = f"{city}_{seq:06d}_{frame:06d}"
            if missing:
                log.warning("snippet %s: %d of its frames are missing from the tree (first: %s); "
                            "stages that need them will fail naming them", sid, len(missing),
                            missing[0][1])
            label = read_label(gt)
            hw = image_size(frames[annotated])
            if label.shape[:2] != hw:
                raise ManifestError(
                    f"{gt}: ground truth is {label.shape[1]}x{label.shape[0]} (WxH) but its frame "
                    f"{frames[annotated]} is {hw[1]}x{hw[0]}; they must be equal")
            sizes.setdefault(hw, []).append(frames[annotated])
            flow_gt = root / "flowGt" / split / gt.parent.name / f"{sid}_flowGt.h5"
            snippets.append(Snippet(
                id=sid, split=split, city=city, frames=frames, annotated=annotated,
                tags=snippet_tags(label, cfg["min_tag_fraction"], str(gt)),
                gt=str(gt), flow_gt=str(flow_gt) if flow_gt.is_file() else None,
                extra={"missing_frames": missing} if missing else {},
            ))
    native = _native_size(name, sizes, bool(cfg.get("resize_mismatched", False)))
    size = (int(round(native[0] * cfg["resize"])), int(round(native[1] * cfg["resize"])))
    assign_shards(snippets, shards)
    for split, n in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < n:
            raise ManifestError(
                f"dataset {name!r}: split {split!r} has {count} snippets but "
                f"'datasets.{name}.shards.{split}' asks for {n} shards"
            )
    iconic = cfg.get("iconic") or str(root / "iconic")
    log.info("dataset %s: %d snippets, working size %s", name, len(snippets), size)
    return Manifest(
        dataset=name, kind=cfg["kind"], root=str(root), size=size, resize=cfg["resize"],
        classes=list(classes.CLASS_NAMES), iconic=iconic, shards=shards, snippets=snippets,
    )


def _native_size(name: str, sizes: dict[tuple[int, int], list[str]], resize_mismatched: bool,
                 ) -> tuple[int, int]:
    """(H, W) of most annotated frames (ties: the first seen); other sizes are an error naming
    the frames unless ``resize_mismatched``, when they are logged and resized by the stages."""
    native = max(sizes, key=lambda hw: len(sizes[hw]))
    odd = [(hw, p) for hw, paths in sizes.items() if hw != native for p in paths]
    if odd:
        shown = ", ".join(f"{p} ({hw[1]}x{hw[0]})" for hw, p in odd[:3])
        more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
        what = (f"dataset {name!r}: annotated frame {shown}{more} differs in size from the other "
                f"{len(sizes[native])} ({native[1]}x{native[0]}, WxH)")
        if not resize_mismatched:
            raise ManifestError(f"{what}: fix or remove it, or set config key "
                                f"'datasets.{name}.resize_mismatched: true' to resize it")
        log.warning("%s: resized to the working size (datasets.%s.resize_mismatched)", what, name)
    return native
