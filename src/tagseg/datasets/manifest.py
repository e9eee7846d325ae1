"""The manifest: one JSON format that describes every dataset to every stage.

A manifest lists snippets. A snippet is a short video around one annotated (or tagged)
frame: its ordered frame paths, the index of that frame, the ground-truth label image when
there is one, its video-level tags (class names), and the shard it belongs to. Stages run
one job per (split, shard) and read only their shard's snippets.

``results/{dataset}/manifest.json``::

    {"dataset": "synthcity", "kind": "synthcity", "root": "...",
     "size": [H, W],            # working frame size after `resize`, pixels
     "resize": 1.0,
     "classes": ["road", ...],  # class table (names; Cityscapes-19 order = train ids)
     "iconic": "path/to/iconic",
     "shards": {"train": 2, "val": 1},
     "snippets": [ {Snippet}, ... ]}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import classes
from ..h5io import write_json


class ManifestError(ValueError):
    """A manifest is missing, malformed, or asks for something it does not hold."""


@dataclass
class Snippet:
    """One video snippet.

    ``id`` is ``{city}_{seq:06d}_{frame:06d}`` of the annotated frame (the Cityscapes name).
    ``frames`` are ordered frame paths; ``annotated`` indexes the annotated frame in it.
    ``gt`` is the ``*_labelIds.png`` of that frame, or None. ``tags`` are class names.
    ``flow_gt`` is an HDF5 file of exact forward flows (synthcity only), or None.
    """

    id: str
    split: str
    city: str
    frames: list[str]
    annotated: int
    tags: list[str]
    gt: str | None = None
    flow_gt: str | None = None
    shard: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tags_complete(self) -> bool:
        """True when ``tags`` list every class in the snippet (a dataset's ground-truth tags);
        False for a web video tagged only with its search keyword (``extra['tags_complete']``):
        then a class outside the tags may still be present."""
        return bool(self.extra.get("tags_complete", True))

    def frame_path(self, offset: int) -> str:
        """Path of the frame ``offset`` frames after the annotated one (negative: before)."""
        i = self.annotated + offset
        if not 0 <= i < len(self.frames):
            raise ManifestError(
                f"snippet {self.id}: needs frame at offset {offset:+d} from the annotated frame, "
                f"but it has only {len(self.frames)} frames (annotated index {self.annotated})"
            )
        return self.frames[i]


@dataclass
class Manifest:
    dataset: str
    kind: str
    root: str
    size: tuple[int, int]
    resize: float
    classes: list[str]
    iconic: str | None
    shards: dict[str, int]
    snippets: list[Snippet]

    def split(self, split: str) -> list[Snippet]:
        """Snippets of ``split`` in manifest order."""
        if split not in self.shards:
            raise ManifestError(f"dataset {self.dataset!r} has no split {split!r}")
        return [s for s in self.snippets if s.split == split]

    def shard(self, split: str, shard: int) -> list[Snippet]:
        """Snippets of one shard of one split."""
        n = self.shards.get(split)
        if n is None or not 0 <= shard < n:
            raise ManifestError(
                f"dataset {self.dataset!r}: no shard {shard} in split {split!r} "
                f"(it has {n or 0} shards)"
            )
        return [s for s in self.snippets if s.split == split and s.shard == shard]

    def snippet(self, snippet_id: str) -> Snippet:
        for s in self.snippets:
            if s.id == snippet_id:
                return s
        raise ManifestError(f"dataset {self.dataset!r} has no snippet {snippet_id!r}")

    def class_index(self, name: str) -> int:
        """Index of class ``name`` in this manifest's class table."""
        try:
            return self.classes.index(name)
        except ValueError:
            raise ManifestError(
                f"class {name!r} is not in dataset {self.dataset!r}'s class table {self.classes}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = list(self.size)
        return d

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_json())


def assign_shards(snippets: list[Snippet], shards: dict[str, int]) -> None:
    """Assign shards round-robin within each split, in snippet order (deterministic)."""
    counters: dict[str, int] = {}
    for s in snippets:
        n = shards[s.split]
        i = counters.get(s.split, 0)
        s.shard = i % n
        counters[s.split] = i + 1


def load(path: str | os.PathLike) -> Manifest:
    """Read a manifest JSON; a missing or malformed file raises :class:`ManifestError`."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found (run the 'manifest' rule)") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not valid JSON: {e}") from None
    try:
        snippets = [Snippet(**s) for s in d.pop("snippets")]
        d["size"] = tuple(d["size"])
        m = Manifest(snippets=snippets, **d)
    except (KeyError, TypeError) as e:
        raise ManifestError(f"{path}: malformed manifest: {e}") from None
    for name in m.classes:
        classes.label(name)  # unknown class names fail here, naming the class
    return m
