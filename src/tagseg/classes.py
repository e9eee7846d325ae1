"""Cityscapes class table: the one place that knows label ids, train ids, names and colours.

Ids follow cityscapesScripts' ``labels.py``: ``label_id`` is what ``*_gtFine_labelIds.png``
stores, ``train_id`` in 0..18 indexes the 19 evaluation classes, 255 means "ignore".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = 255
"""Train id of pixels that are not evaluated (void, unsure pseudo-labels)."""


@dataclass(frozen=True)
class Label:
    name: str
    label_id: int
    train_id: int  # 0..18, or 255 when not evaluated
    category: str
    has_instances: bool
    ignore_in_eval: bool
    color: tuple[int, int, int]


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

TRAIN_LABELS: tuple[Label, ...] = tuple(
    sorted((lab for lab in LABELS if lab.train_id != IGNORE), key=lambda lab: lab.train_id)
)
"""The 19 evaluation classes, ordered by train id."""

NUM_CLASSES = len(TRAIN_LABELS)  # 19
CLASS_NAMES: tuple[str, ...] = tuple(lab.name for lab in TRAIN_LABELS)
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(lab.category for lab in TRAIN_LABELS))
"""The 7 evaluation categories: flat, construction, object, nature, sky, human, vehicle."""

FOREGROUND: frozenset[str] = frozenset(lab.name for lab in TRAIN_LABELS if lab.has_instances)
"""'Things' (person … bicycle); every other evaluation class is background ('stuff')."""

MOVING: frozenset[str] = frozenset(FOREGROUND)
"""Classes that may move independently of the camera (favoured by the motion unary)."""

_BY_NAME = {lab.name: lab for lab in LABELS}
_BY_ID = {lab.label_id: lab for lab in LABELS}


def label(name: str) -> Label:
    """Return the label called ``name`` (e.g. ``"traffic_light"``); unknown names raise ``KeyError``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unknown class {name!r}; known Cityscapes classes: {', '.join(CLASS_NAMES)}"
        ) from None


def train_id(name: str) -> int:
    """Train id (0..18) of an evaluation class; raises ``KeyError`` for unknown or void classes."""
    lab = label(name)
    if lab.train_id == IGNORE:
        raise KeyError(f"class {name!r} is not one of the 19 evaluation classes")
    return lab.train_id


def label_id_to_train_id_lut() -> np.ndarray:
    """(256,) uint8 lookup table: label id -> train id (255 for void and unknown ids)."""
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for lab in LABELS:
        lut[lab.label_id] = lab.train_id
    return lut


def train_id_to_label_id_lut() -> np.ndarray:
    """(256,) uint8 lookup table: train id -> label id (255 -> 0, unlabeled)."""
    lut = np.zeros(256, dtype=np.uint8)
    for lab in TRAIN_LABELS:
        lut[lab.train_id] = lab.label_id
    return lut


def train_id_palette() -> np.ndarray:
    """(256, 3) uint8 colours indexed by train id (black for 255)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for lab in TRAIN_LABELS:
        pal[lab.train_id] = lab.color
    return pal


def label_id_palette() -> np.ndarray:
    """(256, 3) uint8 colours indexed by label id (black for ids not in the table)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for lab in LABELS:
        if 0 <= lab.label_id < 256:
            pal[lab.label_id] = lab.color
    return pal


def known_label_ids() -> frozenset[int]:
    """Label ids that may appear in a Cityscapes ``labelIds`` image (0..33; -1 is never stored)."""
    return frozenset(_BY_ID)


def to_train_ids(label_ids: np.ndarray, source: str = "label image") -> np.ndarray:
    """Map a (H, W) label-id image to train ids; ids outside the Cityscapes table raise ``ValueError``.

    ``source`` names the file in the error message.
    """
    ids = np.asarray(label_ids)
    unknown = np.setdiff1d(np.unique(ids), np.fromiter(known_label_ids(), dtype=np.int64))
    if unknown.size:
        raise ValueError(f"{source}: unknown Cityscapes label ids {unknown.tolist()}")
    return label_id_to_train_id_lut()[ids.astype(np.intp)]
