"""Back-compat view of the Cityscapes class table (:data:`tagseg.datasets.cityscapes.TABLE`).

Stages read the class table from the manifest (``manifest.table``); this module is for the
renderers of Cityscapes-format data (synthcity, the synthetic web videos), whose output *is*
Cityscapes label ids. Ids follow cityscapesScripts' ``labels.py``: ``label_id`` is what
``*_gtFine_labelIds.png`` stores, ``train_id`` in 0..18 indexes the 19 evaluation classes,
255 means "ignore".
"""

from __future__ import annotations

import numpy as np

from .classtable import IGNORE, Label
from .datasets.cityscapes import LABELS, TABLE

__all__ = ["IGNORE", "Label", "LABELS", "TABLE", "TRAIN_LABELS", "NUM_CLASSES", "CLASS_NAMES",
           "CATEGORIES", "FOREGROUND", "MOVING", "label", "train_id", "label_id_to_train_id_lut",
           "train_id_to_label_id_lut", "train_id_palette", "label_id_palette", "known_label_ids",
           "to_train_ids"]

TRAIN_LABELS: tuple[Label, ...] = TABLE.train_labels
"""The 19 evaluation classes, ordered by train id."""

NUM_CLASSES = TABLE.num_classes  # 19
CLASS_NAMES: tuple[str, ...] = TABLE.names
CATEGORIES: tuple[str, ...] = tuple(TABLE.categories)
"""The 7 evaluation categories: flat, construction, object, nature, sky, human, vehicle."""

FOREGROUND: frozenset[str] = TABLE.foreground
"""'Things' (person … bicycle); every other evaluation class is background ('stuff')."""

MOVING: frozenset[str] = FOREGROUND
"""Classes that may move independently of the camera (favoured by the motion unary)."""

label = TABLE.label
train_id = TABLE.train_id
label_id_to_train_id_lut = TABLE.label_to_train_lut
train_id_to_label_id_lut = TABLE.train_to_label_lut
train_id_palette = TABLE.train_palette
label_id_palette = TABLE.label_palette
known_label_ids = TABLE.known_label_ids


def to_train_ids(label_ids: np.ndarray, source: str = "label image") -> np.ndarray:
    """Map a (H, W) label-id image to train ids; ids outside the Cityscapes table raise ``ValueError``."""
    return TABLE.to_train_ids(label_ids, source)
