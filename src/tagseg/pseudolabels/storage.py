"""Per-shard HDF5 layout of pseudo-labels, and the reader the training stage uses.

``results/{dataset}/pseudolabels/{split}/shard-{k}.h5`` (written via :mod:`tagseg.h5io`)::

    /{snippet_id}/offsets      (F,) int32      frame offsets from the annotated frame (0)
    /{snippet_id}/labels       (F, H, W) uint8 Cityscapes train ids, 255 = unsure
    /{snippet_id}/confidence   (F, H, W) float16 in [0, 1] (@units "probability")
    /{snippet_id}/ablations/{name}  (H, W) uint8 train ids of the annotated frame for each
                               unary subset (``attention``, ``attention+appearance``, ...),
                               only when config ``pseudolabels.ablations`` is true
    @tags                      tagged class names; @seconds: wall time of the snippet
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import h5py
import numpy as np


class PseudoLabelStorageError(KeyError):
    """A snippet is missing from a pseudo-label shard."""


def write_labels(
    f: h5py.File,
    snippet_id: str,
    offsets: Sequence[int],
    labels: np.ndarray,
    confidence: np.ndarray,
    tags: Sequence[str] = (),
    ablations: Mapping[str, np.ndarray] | None = None,
    seconds: float | None = None,
) -> None:
    """Write one snippet: ``labels`` (F, H, W) uint8 train ids, ``confidence`` (F, H, W) float."""
    offsets = np.asarray(offsets, np.int32)
    labels = np.asarray(labels)
    if labels.dtype != np.uint8 or labels.ndim != 3 or labels.shape[0] != len(offsets):
        raise ValueError(f"snippet {snippet_id}: labels must be (F={len(offsets)}, H, W) uint8, "
                         f"got {labels.shape} {labels.dtype}")
    if confidence.shape != labels.shape:
        raise ValueError(f"snippet {snippet_id}: confidence {confidence.shape} != labels {labels.shape}")
    kw = dict(compression="gzip", compression_opts=4, shuffle=True, chunks=(1,) + labels.shape[1:])
    g = f.create_group(snippet_id)
    g.create_dataset("offsets", data=offsets)
    d = g.create_dataset("labels", data=labels, **kw)
    d.attrs["units"] = "train id (255 = unsure)"
    c = g.create_dataset("confidence", data=np.asarray(confidence, np.float16), **kw)
    c.attrs["units"] = "probability"
    g.attrs["offsets"] = offsets
    g.attrs["tags"] = list(tags)
    if seconds is not None:
        g.attrs["seconds"] = float(seconds)
    if ablations:
        a = g.create_group("ablations")
        for name, lab in ablations.items():
            a.create_dataset(name, data=np.asarray(lab, np.uint8), compression="gzip", compression_opts=4)


def _group(f: h5py.File, snippet_id: str) -> h5py.Group:
    if snippet_id not in f:
        raise PseudoLabelStorageError(f"{f.filename}: no pseudo-labels for snippet {snippet_id!r}")
    return f[snippet_id]


def read_labels(f: h5py.File, snippet_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets (F,) int, labels (F, H, W) uint8 train ids with 255 unsure, confidence (F, H, W) float32)."""
    g = _group(f, snippet_id)
    return (g["offsets"][()].astype(np.int64), g["labels"][()],
            g["confidence"][()].astype(np.float32))


def read_ablations(f: h5py.File, snippet_id: str) -> dict[str, np.ndarray]:
    """Annotated-frame (H, W) uint8 train-id maps of each ablation variant ({} when not stored)."""
    g = _group(f, snippet_id)
    if "ablations" not in g:
        return {}
    return {name: ds[()] for name, ds in g["ablations"].items()}
