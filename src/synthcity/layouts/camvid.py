"""The CamVid layout (original release) of the synthcity street world: ``synth --layout camvid``.

Layout under ``root``, as the real release and ``tagseg frames`` leave it (names and formats
in :mod:`tagseg.datasets.camvid`)::

    701_StillsRaw_full/{stem}.png        labelled stills (the annotated frame), RGB
    LabeledApproved_full/{stem}_L.png    colour-coded labels, CamVid's 32 colours, Void (0,0,0)
    label_colors.txt                     "R G B\\tName", the release's colour table
    train.txt, val.txt                   split lists, one still stem per line
    frames/{sequence}_{number}.png       the 30 frames -19..+10 around each still, named like
                                         the stills (the decoded-frames folder)
    iconic/{class}/{i:04d}.png           iconic images of the 11 evaluation classes
    synthcity.json, .tagseg-synthcity    summary (written last) and render marker

Snippet ``k`` of the Cityscapes-layout render becomes a still of a real CamVid sequence:
train snippets cycle 0001TP (from frame 6690), 0006R0 (from 930), 0016E5 (from 390); val
snippets are 0016E5 from frame 7980 (CamVid's val is 0016E5 too); stills of a sequence are
30 frames apart (1 Hz), so the 30-frame stretches do not overlap. The street world's
Cityscapes labels map to CamVid classes by :data:`FROM_CITYSCAPES` (then to the 11 classes by
the kind's grouping); iconic images of each evaluation class come from the Cityscapes classes
of :data:`ICONIC_FROM`, in equal shares.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tagseg import classes
from tagseg.datasets.camvid import CLASSES, COLORS, frame_stem
from tagseg.fsutil import apply_umask

from ..dataset import MARKER, check_root, publish
from ..dataset import render as render_cityscapes

FROM_CITYSCAPES: dict[str, str] = {
    "road": "Road", "sidewalk": "Sidewalk", "parking": "ParkingBlock", "building": "Building",
    "wall": "Wall", "fence": "Fence", "guard_rail": "Fence", "bridge": "Bridge",
    "tunnel": "Tunnel", "pole": "Column_Pole", "polegroup": "Column_Pole",
    "traffic_light": "TrafficLight", "traffic_sign": "SignSymbol", "vegetation": "Tree",
    "terrain": "VegetationMisc", "sky": "Sky", "person": "Pedestrian", "rider": "Bicyclist",
    "car": "Car", "truck": "Truck_Bus", "bus": "Truck_Bus", "caravan": "OtherMoving",
    "trailer": "OtherMoving", "train": "Train", "motorcycle": "MotorcycleScooter",
    "bicycle": "Bicyclist",
}
"""Cityscapes label -> CamVid class; every other Cityscapes label (unlabeled, ego vehicle,
static, dynamic, ground, rail track, ...) is Void."""

ICONIC_FROM: dict[str, tuple[str, ...]] = {
    "sky": ("sky",), "building": ("building",), "pole": ("pole",), "road": ("road",),
    "sidewalk": ("sidewalk",), "tree": ("vegetation",), "sign_symbol": ("traffic_sign", "traffic_light"),
    "fence": ("fence",), "car": ("car", "truck", "bus"), "pedestrian": ("person",),
    "bicyclist": ("rider", "bicycle"),
}
"""CamVid evaluation class -> the Cityscapes classes whose iconic images stand for it."""

TRAIN_SEQUENCES = (("0001TP", 6690), ("0006R0", 930), ("0016E5", 390))
VAL_SEQUENCE = ("0016E5", 7980)
SPACING = 30
"""Frames between stills of one sequence (1 Hz at 30 Hz)."""


def color_lut() -> np.ndarray:
    """(256, 3) uint8: Cityscapes label id -> CamVid colour (Void black for unmapped ids)."""
    rgb = {name: c for name, c, _ in COLORS}
    lut = np.zeros((256, 3), np.uint8)
    for lab in classes.LABELS:
        if lab.name in FROM_CITYSCAPES:
            lut[lab.label_id] = rgb[FROM_CITYSCAPES[lab.name]]
    return lut


def still_name(split: str, k: int) -> tuple[str, int]:
    """(sequence, frame number) of snippet ``k`` of ``split``."""
    if split == "val":
        seq, base = VAL_SEQUENCE
        return seq, base + SPACING * k
    seq, base = TRAIN_SEQUENCES[k % len(TRAIN_SEQUENCES)]
    return seq, base + SPACING * (k // len(TRAIN_SEQUENCES))


def _imwrite(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write PNG")


def _imread(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise OSError(f"{path}: unreadable PNG")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 else img


def convert(src: Path, dst: Path, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Write the CamVid tree into ``dst`` from the Cityscapes-layout render ``src`` (its
    summary ``info``); returns one record per still."""
    lut = color_lut()
    frames, annotated = info["params"]["frames"], info["params"]["annotated"]
    if annotated < 19 or frames - annotated - 1 < 10:
        raise ValueError("synthcity camvid layout: needs frames -19..+10 around the still")
    counters = {"train": 0, "val": 0}
    records = []
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for s in info["snippets"]:
        split, k = s["split"], counters[s["split"]]
        counters[split] += 1
        seq, number = still_name(split, k)
        stem = frame_stem(seq, number)
        city, cs_seq = s["city"], s["seq"]
        for f in range(frames):
            cs = src / "leftImg8bit_sequence" / split / city / f"{city}_{cs_seq:06d}_{f:06d}_leftImg8bit.png"
            shutil.copyfile(cs, _mk(dst / "frames" / f"{frame_stem(seq, number + f - annotated)}.png"))
        shutil.copyfile(dst / "frames" / f"{stem}.png", _mk(dst / "701_StillsRaw_full" / f"{stem}.png"))
        ids = _imread(src / "gtFine" / split / city / f"{s['id']}_gtFine_labelIds.png")
        _imwrite(dst / "LabeledApproved_full" / f"{stem}_L.png", lut[ids])
        lists[split].append(stem)
        records.append({"stem": stem, "split": split, "from": s["id"]})
    for split, stems in lists.items():
        (dst / f"{split}.txt").write_text("".join(f"{x}\n" for x in stems))
    (dst / "label_colors.txt").write_text(
        "".join(f"{r} {g} {b}\t{name}\n" for name, (r, g, b), _ in COLORS))
    n_ic = info["params"]["iconic_per_class"]
    for cls in CLASSES:
        sources = ICONIC_FROM[cls]
        out = dst / "iconic" / cls
        out.mkdir(parents=True, exist_ok=True)
        for j in range(n_ic):  # round robin over the source classes: equal shares
            name = sources[j % len(sources)]
            shutil.copyfile(src / "iconic" / name / f"{j // len(sources):04d}.png", out / f"{j:04d}.png")
    return records


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def render(root: str | os.PathLike, *, overwrite: bool = False, **params: Any) -> dict[str, Any]:
    """Render the street world (parameters of :func:`synthcity.dataset.render`) and write it in
    the CamVid layout into ``root``, atomically (a hidden folder beside ``root`` renamed into
    place); ``root`` is replaced only when new, empty or an earlier render (or ``overwrite``).
    Returns the summary written to ``root/synthcity.json``."""
    root = Path(root)
    check_root(root, overwrite)
    n_train = int(params.get("train_snippets", 48))
    if n_train > len(TRAIN_SEQUENCES) * 250:
        raise ValueError(f"synthcity camvid layout: at most {len(TRAIN_SEQUENCES) * 250} train "
                         "snippets (0016E5's train frames end below its val frames)")
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.camvid-", dir=root.parent))
    try:
        info = render_cityscapes(work / "cityscapes", **params)
        tree = work / "camvid"
        tree.mkdir()
        apply_umask(tree, folder=True)
        records = convert(work / "cityscapes", tree, info)
        summary = {**{k: v for k, v in info.items() if k != "snippets"}, "layout": "camvid",
                   "stills": records,
                   "labels": {"from_cityscapes": FROM_CITYSCAPES, "iconic_from": ICONIC_FROM}}
        publish(tree, root, summary)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert (root / MARKER).is_file()
    return summary
