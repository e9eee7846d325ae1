"""The manifest: one JSON format that describes every dataset to every stage.

A manifest lists snippets. A snippet is a short video around one annotated (or tagged)
frame: its ordered frame paths, the index of that frame, the ground-truth label image when
there is one, its video-level tags (class names), and the shard it belongs to. Stages run
one job per (split, shard) and read only their shard's snippets.

``results/{dataset}/manifest.json``::

    {"dataset": "synthcity", "kind": "synthcity", "root": "...",
     "size": [H, W],            # working frame size after `resize`, pixels
     "resize": 1.0,
     "classes": ["road", ...],  # classes in use (names, in the table's train-id order)
     "class_table": {ClassTable.to_json()},  # the kind's class table (tagseg.classtable)
     "iconic": "path/to/iconic",
     "shards": {"train": 2, "val": 1},
     "snippets": [ {Snippet}, ... ]}

Stages read the class table from the manifest (``manifest.class_table``), never from a
global. A manifest without ``class_table`` (written before it was recorded) gets its kind's
table (:mod:`.kinds`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..classtable import ClassTable
from ..errors import TagsegError
from ..h5io import write_json


class ManifestError(TagsegError, ValueError):
    """A manifest is missing, malformed, or asks for something it does not hold."""


@dataclass
class Snippet:
    """One video snippet.

    ``id`` is ``{city}_{seq:06d}_{frame:06d}`` of the annotated frame (the Cityscapes name).
    ``frames`` are ordered frame paths; ``annotated`` indexes the annotated frame in it.
    ``gt`` is the ``*_labelIds.png`` of that frame, or None. ``tags`` are class names.
    ``flow_gt`` is an HDF5 file of exact forward flows (synthcity only), or None.
    ``extra["missing_frames"]`` lists ``[offset, path]`` of the frames of the snippet's
    sequence (Cityscapes: the 20th of 30) that the dataset tree lacks; ``frames`` holds the
    contiguous run around the annotated frame up to them.
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

    def missing_frames(self, lo: int | None = None, hi: int | None = None) -> dict[int, str]:
        """Offset -> path of the frames of this snippet's sequence missing from the dataset tree
        (only offsets in ``lo..hi`` when given), in offset order."""
        return {int(o): str(p) for o, p in sorted(self.extra.get("missing_frames", ()))
                if (lo is None or int(o) >= lo) and (hi is None or int(o) <= hi)}

    def _missing_message(self, lo: int, hi: int, need: str) -> str | None:
        gone = self.missing_frames(lo, hi)
        if not gone:
            return None
        shown = ", ".join(f"{p} (offset {o:+d})" for o, p in list(gone.items())[:3])
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        return (f"snippet {self.id}: frame file {shown}{more} is missing from the dataset tree; "
                f"{need} frames {lo:+d}..{hi:+d} around the annotated frame "
                f"{self.frames[self.annotated]}: restore the file (the manifest is rebuilt by itself "
                "on the next run)")

    def window_error(self, lo: int, hi: int, need: str) -> str | None:
        """Why frames ``lo..hi`` (offsets from the annotated frame) are not all available, or None.

        ``need`` says who needs them (e.g. "the flow stacks need"). Frames missing from the tree
        inside the window are named, with what to do; otherwise the snippet is simply too short
        (its video starts or ends there) and the message says which frames it has.
        """
        first, last = -self.annotated, len(self.frames) - 1 - self.annotated
        if first <= lo and hi <= last:
            return None
        return self._missing_message(lo, hi, need) or (
            f"snippet {self.id}: {need} frames {lo:+d}..{hi:+d} around the annotated frame, but "
            f"its sequence has frames {first:+d}..{last:+d} only ({len(self.frames)} frames)")

    def frame_path(self, offset: int) -> str:
        """Path of the frame ``offset`` frames after the annotated one (negative: before)."""
        i = self.annotated + offset
        if not 0 <= i < len(self.frames):
            lo, hi = min(offset, 0), max(offset, 0)
            raise ManifestError(self._missing_message(lo, hi, f"offset {offset:+d} needs") or (
                f"snippet {self.id}: needs frame at offset {offset:+d} from the annotated frame, "
                f"but it has only {len(self.frames)} frames (annotated index {self.annotated})"))
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
    class_table: ClassTable | None = None  # None: the kind's table (tagseg.datasets.kinds)

    def __post_init__(self) -> None:
        if self.class_table is None:
            from .kinds import UnknownKindError, table

            try:
                self.class_table = table(self.kind)
            except UnknownKindError as e:
                raise ManifestError(f"dataset {self.dataset!r}: {e}, and the manifest records "
                                    "no class table") from None
        unknown = [c for c in self.classes if c not in self.class_table.names]
        if unknown:
            raise ManifestError(
                f"dataset {self.dataset!r}: classes {unknown} are not evaluation classes of its "
                f"class table {self.class_table.name!r} ({', '.join(self.class_table.names)})")

    @property
    def table(self) -> ClassTable:
        """The class table (never None after construction)."""
        assert self.class_table is not None
        return self.class_table

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
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("class_table", "snippets")}
        d.update(size=list(self.size), classes=list(self.classes), shards=dict(self.shards),
                 class_table=self.table.to_json(),
                 snippets=[asdict(s) for s in self.snippets])
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
        if d.get("class_table") is not None:
            d["class_table"] = ClassTable.from_json(d["class_table"])
        m = Manifest(snippets=snippets, **d)  # unknown class names fail here, naming the class
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ManifestError):
            raise ManifestError(f"{path}: {e}") from None
        raise ManifestError(f"{path}: malformed manifest: {e}") from None
    return m
