"""Class tables: what the label images of a dataset kind hold and which classes are evaluated.

A :class:`ClassTable` lists every label a kind's label images may hold (:class:`Label` rows:
name, label id, train id, category, thing or stuff, colour) and the ImageNet classes that
stand for its classes. *Label ids* are what the label images store; *train ids* 0..C-1 index
the C evaluation classes in the order of :attr:`ClassTable.names`; train id
:attr:`ClassTable.ignore` (255) marks pixels that are not evaluated (void, unsure).

Several labels may share a train id (CamVid's 32 colour classes grouped into 11): the first
of them in table order names the evaluation class and gives its colour.

``encoding`` says how a label image stores label ids: ``"ids"`` (single-channel PNG of label
ids, Cityscapes ``*_labelIds.png``; palette PNGs such as PASCAL VOC's read the same, their
palette indices being the ids) or ``"colors"`` (RGB PNG, each label by its colour, CamVid).

Each dataset kind provides its table (:mod:`tagseg.datasets.kinds`); a manifest records it
(``"class_table"``, :meth:`ClassTable.to_json`) and every stage reads it from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

IGNORE = 255
"""Train id of pixels that are not evaluated (void, unsure pseudo-labels), in every table."""

ENCODINGS = ("ids", "colors")


@dataclass(frozen=True)
class Label:
    """One label of a table (the fields of cityscapesScripts' ``labels.py``)."""

    name: str
    label_id: int  # value in the label image (id or palette index; "colors": its decoded id)
    train_id: int  # 0..C-1, or IGNORE when not evaluated
    category: str
    has_instances: bool  # a 'thing' (foreground) class
    ignore_in_eval: bool
    color: tuple[int, int, int]  # RGB


@dataclass(frozen=True)
class ClassTable:
    """The class table of a dataset kind; see the module docstring.

    ``imagenet``: (class name, ImageNet class indices) pairs — a class's ImageNet heatmap is
    the max over those classes (``heatmaps.imagenet.classes`` may override entries).
    """

    name: str
    labels: tuple[Label, ...]
    ignore: int = IGNORE
    encoding: str = "ids"
    imagenet: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def __post_init__(self) -> None:
        names = [lab.name for lab in self.labels]
        if len(set(names)) != len(names):
            raise ValueError(f"class table {self.name!r}: duplicate label names")
        ids = [lab.label_id for lab in self.labels]
        if len(set(ids)) != len(ids) or not all(0 <= i < 256 for i in ids):
            raise ValueError(f"class table {self.name!r}: label ids must be distinct, in 0..255")
        train = sorted({lab.train_id for lab in self.labels if lab.train_id != self.ignore})
        if train != list(range(len(train))):
            raise ValueError(f"class table {self.name!r}: train ids {train} are not 0..C-1")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"class table {self.name!r}: encoding {self.encoding!r} not in "
                             f"{ENCODINGS}")
        unknown = [c for c, _ in self.imagenet if c not in self.names]
        if unknown:
            raise ValueError(f"class table {self.name!r}: ImageNet mapping of unknown classes "
                             f"{unknown}")

    # ---------------------------------------------------------------- the evaluation classes

    @cached_property
    def train_labels(self) -> tuple[Label, ...]:
        """The C evaluation classes' labels, in train-id order: for a train id that several
        labels share, the first of them in table order."""
        first: dict[int, Label] = {}
        for lab in self.labels:
            if lab.train_id != self.ignore:
                first.setdefault(lab.train_id, lab)
        return tuple(first[t] for t in sorted(first))

    @property
    def names(self) -> tuple[str, ...]:
        """Evaluation class names in train-id order."""
        return tuple(lab.name for lab in self.train_labels)

    @property
    def num_classes(self) -> int:
        return len(self.train_labels)

    @property
    def colors(self) -> tuple[tuple[int, int, int], ...]:
        """RGB colour of each evaluation class, in train-id order."""
        return tuple(lab.color for lab in self.train_labels)

    @property
    def label_to_train(self) -> dict[int, int]:
        """Label id -> train id (``ignore`` for labels that are not evaluated)."""
        return {lab.label_id: lab.train_id for lab in self.labels}

    @property
    def foreground(self) -> frozenset[str]:
        """'Things' (classes with instances); the favoured group of the motion unary."""
        return frozenset(lab.name for lab in self.train_labels if lab.has_instances)

    @property
    def background(self) -> frozenset[str]:
        """'Stuff': every evaluation class that is not foreground."""
        return frozenset(self.names) - self.foreground

    @property
    def categories(self) -> dict[str, list[int]]:
        """Category -> train ids of its evaluation classes (first-seen order)."""
        out: dict[str, list[int]] = {}
        for lab in self.train_labels:
            out.setdefault(lab.category, []).append(lab.train_id)
        return out

    @property
    def imagenet_classes(self) -> dict[str, list[int]]:
        """Class name -> ImageNet class indices (classes without a mapping are absent)."""
        return {c: list(idx) for c, idx in self.imagenet}

    # ---------------------------------------------------------------- look-ups

    def label(self, name: str) -> Label:
        """The label called ``name``; unknown names raise ``KeyError`` naming the table."""
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(f"unknown class {name!r}; known {self.name} classes: "
                       f"{', '.join(self.names)}")

    def train_id(self, name: str) -> int:
        """Train id (0..C-1) of an evaluation class; unknown or void classes raise ``KeyError``."""
        lab = self.label(name)
        if lab.train_id == self.ignore:
            raise KeyError(f"class {name!r} is not one of the {self.num_classes} evaluation "
                           f"classes of {self.name}")
        return lab.train_id

    def known_label_ids(self) -> frozenset[int]:
        return frozenset(lab.label_id for lab in self.labels)

    def label_to_train_lut(self) -> np.ndarray:
        """(256,) uint8: label id -> train id (``ignore`` for void and unknown ids)."""
        lut = np.full(256, self.ignore, dtype=np.uint8)
        for lab in self.labels:
            lut[lab.label_id] = lab.train_id
        return lut

    def train_to_label_lut(self) -> np.ndarray:
        """(256,) uint8: train id -> label id (0 for ``ignore`` and unused ids)."""
        lut = np.zeros(256, dtype=np.uint8)
        for lab in self.train_labels:
            lut[lab.train_id] = lab.label_id
        return lut

    def train_palette(self) -> np.ndarray:
        """(256, 3) uint8 colours indexed by train id (black for unused ids and ``ignore``)."""
        pal = np.zeros((256, 3), dtype=np.uint8)
        for lab in self.train_labels:
            pal[lab.train_id] = lab.color
        return pal

    def label_palette(self) -> np.ndarray:
        """(256, 3) uint8 colours indexed by label id (black for ids not in the table)."""
        pal = np.zeros((256, 3), dtype=np.uint8)
        for lab in self.labels:
            pal[lab.label_id] = lab.color
        return pal

    def to_train_ids(self, label_ids: np.ndarray, source: str = "label image") -> np.ndarray:
        """(H, W) label ids -> uint8 train ids; ids outside the table raise ``ValueError``
        naming ``source``."""
        ids = np.asarray(label_ids)
        known = np.fromiter(self.known_label_ids(), dtype=np.int64)
        unknown = np.setdiff1d(np.unique(ids), known)
        if unknown.size:
            raise ValueError(f"{source}: unknown {self.name} label ids {unknown.tolist()}")
        return self.label_to_train_lut()[ids.astype(np.intp)]

    def decode(self, image: np.ndarray, source: str = "label image") -> np.ndarray:
        """A label image as read from disk -> (H, W) label ids: ``"ids"`` as is, ``"colors"``
        (H, W, 3) RGB by each label's colour (colours outside the table raise ``ValueError``)."""
        img = np.asarray(image)
        if self.encoding == "ids":
            return img
        key = (img[..., 0].astype(np.int64) << 16) | (img[..., 1].astype(np.int64) << 8) | img[..., 2]
        out = np.full(key.shape, -1, np.int64)
        for lab in self.labels:
            r, g, b = lab.color
            out[key == (r << 16 | g << 8 | b)] = lab.label_id
        if (out < 0).any():
            bad = sorted({tuple(int(v) for v in c) for c in img[out < 0][:1000]})[:5]
            raise ValueError(f"{source}: colours {bad} are not in the {self.name} table")
        return out.astype(np.uint8)

    # ---------------------------------------------------------------- JSON (the manifest's record)

    def to_json(self) -> dict[str, Any]:
        """Everything needed to rebuild the table exactly (:meth:`from_json`)."""
        return {
            "name": self.name, "ignore": self.ignore, "encoding": self.encoding,
            "labels": [[lab.name, lab.label_id, lab.train_id, lab.category, lab.has_instances,
                        lab.ignore_in_eval, list(lab.color)] for lab in self.labels],
            "imagenet": self.imagenet_classes,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ClassTable:
        labels = tuple(Label(str(n), int(i), int(t), str(c), bool(h), bool(e),
                             tuple(int(v) for v in col))  # type: ignore[arg-type]
                       for n, i, t, c, h, e, col in d["labels"])
        return cls(name=str(d["name"]), labels=labels, ignore=int(d.get("ignore", IGNORE)),
                   encoding=str(d.get("encoding", "ids")),
                   imagenet=imagenet_pairs(d.get("imagenet") or {}))


def imagenet_pairs(mapping: Mapping[str, Sequence[int]]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """{class: [ImageNet indices]} -> the hashable form :attr:`ClassTable.imagenet` holds."""
    return tuple((str(c), tuple(int(i) for i in idx)) for c, idx in mapping.items())
