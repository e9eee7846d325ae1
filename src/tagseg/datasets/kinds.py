"""Dataset kinds as plug-ins: config ``datasets.{name}.kind`` -> the module that provides it.

A kind's module defines ``KINDS: dict[str, Kind]`` with, for each kind it provides, its
manifest builder, its class table (:class:`tagseg.classtable.ClassTable`) and its evaluation
protocol. Adding a kind (CamVid, YouTube-Objects, PASCAL VOC) is one module plus one line in
:data:`MODULES`; stages never import a kind's table: they read the manifest's
(``manifest.class_table``), which the builder records.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..classtable import ClassTable

if TYPE_CHECKING:
    from .manifest import Manifest

Protocol = Callable[["Manifest", str, Any], dict[str, Any]]
"""``evaluate(manifest, split, pred_dir) -> scores``: a kind's evaluation protocol."""


@dataclass(frozen=True)
class Kind:
    """One dataset kind.

    ``build_manifest``: the kind's manifest builder (its signature is the kind's own);
    ``table``: the class table its manifests record (a kind whose table comes from another
    dataset, e.g. ``webvideos`` from its source's manifest, gives the default here);
    ``evaluate``: its protocol (:data:`Protocol`), None when its data has no ground truth.
    """

    name: str
    table: ClassTable
    build_manifest: Callable[..., Manifest]
    evaluate: Protocol | None


MODULES: dict[str, str] = {
    "synthcity": "tagseg.datasets.cityscapes",
    "cityscapes": "tagseg.datasets.cityscapes",
    "webvideos": "tagseg.datasets.webvideos",
    "youtube_objects": "tagseg.datasets.youtube_objects",
    "camvid": "tagseg.datasets.camvid",
    "voc": "tagseg.datasets.voc",
}
"""Kind -> module defining it (imported on first use)."""


class UnknownKindError(KeyError):
    """A dataset kind no module provides."""

    def __str__(self) -> str:
        return str(self.args[0])


def get(kind: str) -> Kind:
    """The :class:`Kind` called ``kind``; an unknown kind raises :class:`UnknownKindError`."""
    if kind not in MODULES:
        raise UnknownKindError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[kind]).KINDS[kind]


def table(kind: str) -> ClassTable:
    """The class table of ``kind`` (what its manifests record)."""
    return get(kind).table


def takes_offsets(kind: str) -> bool:
    """Whether the manifest builder of ``kind`` takes ``offsets`` (the frame offsets the stages
    need around each annotated frame, :func:`tagseg.plan.needed_offsets`): kinds that cut their
    snippets out of longer shots (youtube_objects)."""
    import inspect

    return "offsets" in inspect.signature(get(kind).build_manifest).parameters


def build_manifest(name: str, cfg: Any) -> Manifest:
    """The manifest of dataset ``name`` by its kind's builder. ``cfg``: the config section
    ``datasets.{name}``; the rule ``manifest`` adds ``offsets`` to it for builders that take
    them (:func:`takes_offsets`), which get them as their argument."""
    cfg = dict(cfg)
    offsets = cfg.pop("offsets", None)
    kind = str(cfg["kind"])
    if offsets is not None and takes_offsets(kind):
        return get(kind).build_manifest(name, cfg, offsets=list(offsets))
    return get(kind).build_manifest(name, cfg)


def protocol(kind: str) -> Protocol:
    """The evaluation protocol of ``kind``; a kind without ground truth raises ``ValueError``."""
    p = get(kind).evaluate
    if p is None:
        raise ValueError(f"dataset kind {kind!r} has no ground truth: nothing to evaluate")
    return p
