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

from ..classtable import ClassTable, Label, imagenet_pairs
from ..config import section
from ..images import image_size, read_label
from .kinds import Kind
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

# name, id, trainId, category, hasInstances, ignoreInEval, color — as in cityscapesScripts.
LABELS: tuple[Label, ...] = tuple(
    Label(*row)
    for row in [
        ("unlabeled", 0, 255, "void", False, True, (0, 0, 0)),
        ("ego_vehicle", 1, 255, "void", False, True, (0, 0, 0)),
        ("rectification_border", 2, 255, "void", False, True, (0, 0, 0)),
        ("out_of_roi", 3, 255, "void", False, True, (0, 0, 0)),
        ("static", 4, 255, "void", False, True, (0, 0, 0)),
        ("dynamic", 5, 255, "void", False, True, (111, 74, 0)),
        ("ground", 6, 255, "void", False, True, (81, 0, 81)),
        ("road", 7, 0, "flat", False, False, (128, 64, 128)),
        ("sidewalk", 8, 1, "flat", False, False, (244, 35, 232)),
        ("parking", 9, 255, "flat", False, True, (250, 170, 160)),
        ("rail_track", 10, 255, "flat", False, True, (230, 150, 140)),
        ("building", 11, 2, "construction", False, False, (70, 70, 70)),
        ("wall", 12, 3, "construction", False, False, (102, 102, 156)),
        ("fence", 13, 4, "construction", False, False, (190, 153, 153)),
        ("guard_rail", 14, 255, "construction", False, True, (180, 165, 180)),
        ("bridge", 15, 255, "construction", False, True, (150, 100, 100)),
        ("tunnel", 16, 255, "construction", False, True, (150, 120, 90)),
        ("pole", 17, 5, "object", False, False, (153, 153, 153)),
        ("polegroup", 18, 255, "object", False, True, (153, 153, 153)),
        ("traffic_light", 19, 6, "object", False, False, (250, 170, 30)),
        ("traffic_sign", 20, 7, "object", False, False, (220, 220, 0)),
        ("vegetation", 21, 8, "nature", False, False, (107, 142, 35)),
        ("terrain", 22, 9, "nature", False, False, (152, 251, 152)),
        ("sky", 23, 10, "sky", False, False, (70, 130, 180)),
        ("person", 24, 11, "human", True, False, (220, 20, 60)),
        ("rider", 25, 12, "human", True, False, (255, 0, 0)),
        ("car", 26, 13, "vehicle", True, False, (0, 0, 142)),
        ("truck", 27, 14, "vehicle", True, False, (0, 0, 70)),
        ("bus", 28, 15, "vehicle", True, False, (0, 60, 100)),
        ("caravan", 29, 255, "vehicle", True, True, (0, 0, 90)),
        ("trailer", 30, 255, "vehicle", True, True, (0, 0, 110)),
        ("train", 31, 16, "vehicle", True, False, (0, 80, 100)),
        ("motorcycle", 32, 17, "vehicle", True, False, (0, 0, 230)),
        ("bicycle", 33, 18, "vehicle", True, False, (119, 11, 32)),
    ]
)

IMAGENET: dict[str, list[int]] = {
    "car": [436, 468, 511, 609, 627, 656, 661, 717, 751, 817],  # wagon, cab, convertible, jeep, limousine, minivan, Model T, pickup, racer, sports car
    "truck": [555, 569, 675, 734, 864, 867],  # fire engine, garbage truck, moving van, police van, tow truck, trailer truck
    "bus": [654, 779, 874],  # minibus, school bus, trolleybus
    "train": [466, 547, 565, 705, 820, 829],  # bullet train, electric locomotive, freight car, passenger car, steam locomotive, streetcar (tram)
    "motorcycle": [665, 670],  # moped, motor scooter
    "bicycle": [444, 671],  # tandem, mountain bike
    "traffic_light": [920],
    "traffic_sign": [919],  # street sign
}
"""Class -> ImageNet class indices (its ImageNet heatmap is the max over them); config
``heatmaps.imagenet.classes`` overrides entries."""

TABLE = ClassTable("cityscapes", LABELS, encoding="ids", imagenet=imagenet_pairs(IMAGENET))
"""The Cityscapes class table (19 evaluation classes, label ids 0..33; synthcity's too)."""


FRAMES_BEFORE = 19
"""Frames before the annotated one in a Cityscapes snippet (it is the 20th of 30)."""
FRAMES_AFTER = 10
GT_SUFFIX = "_gtFine_labelIds.png"
FRAME_SUFFIX = "_leftImg8bit.png"
_GT_RE = re.compile(r"^(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})_gtFine_labelIds\.png$")


def snippet_tags(label_ids: np.ndarray, min_fraction: float, source: str,
                 table: ClassTable = TABLE) -> list[str]:
    """Evaluation classes covering >= ``min_fraction`` of the image (and at least one pixel).

    ``label_ids``: (H, W) label ids of ``table``. Returns class names in train-id order.
    """
    train = table.to_train_ids(label_ids, source)
    counts = np.bincount(train.ravel(), minlength=256)[: table.num_classes]
    frac = counts / max(1, train.size)
    return [table.names[k] for k in range(table.num_classes)
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
    Keys left out of ``cfg`` take the schema's defaults (:func:`tagseg.config.section`).
    """
    cfg = section(f"datasets.{name}", cfg)
    root = Path(cfg["root"])
    kind = str(cfg["kind"])
    _check_root(name, kind, root)
    shards: dict[str, int] = dict(cfg["shards"])
    if "test" in shards:
        raise ManifestError(f"config key 'datasets.{name}.shards.test': Cityscapes' test labels "
                            "are not public (its gtFine/test masks are placeholders; only the "
                            "benchmark server scores the test split): give train and val only")
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
    native = _native_size(name, sizes, bool(cfg["resize_mismatched"]))
    size = (int(round(native[0] * cfg["resize"])), int(round(native[1] * cfg["resize"])))
    assign_shards(snippets, shards)
    for split, n in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < n:
            raise ManifestError(
                f"dataset {name!r}: split {split!r} has {count} snippets but "
                f"'datasets.{name}.shards.{split}' asks for {n} shards"
            )
    iconic = cfg["iconic"] or str(root / "iconic")
    log.info("dataset %s: %d snippets, working size %s", name, len(snippets), size)
    return Manifest(
        dataset=name, kind=cfg["kind"], root=str(root), size=size, resize=cfg["resize"],
        classes=list(TABLE.names), iconic=iconic, shards=shards, snippets=snippets,
        class_table=TABLE,
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


def evaluate(manifest: Manifest, split: str, pred_dir: str | os.PathLike) -> dict[str, Any]:
    """The kind's evaluation protocol: cityscapesScripts' pixel-level semantics
    (:func:`tagseg.metrics.evaluate_folder`) of the label-id PNGs under ``pred_dir`` against
    ``gtFine/{split}`` of the manifest's root, over its class table (Cityscapes: 19 classes,
    7 categories). Returns the scores (fractions) and the confusion matrix (pixels)."""
    from ..metrics import evaluate_folder

    return evaluate_folder(manifest.root, split, pred_dir, pred_ids="label",
                           table=manifest.class_table)


KINDS = {
    kind: Kind(kind, TABLE, build_manifest, evaluate) for kind in ("cityscapes", "synthcity")
}
"""The kinds whose data has the Cityscapes layout: real Cityscapes and the rendered synthcity."""

