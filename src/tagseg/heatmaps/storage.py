"""Per-shard HDF5 layout of the heatmaps and its reader.

``results/{dataset}/heatmaps/{split}/shard-{k}.h5``::

    @classes  JSON list (manifest class table), @heads JSON {class: head},
    @offsets  frame offsets computed, @scales, @size [H, W] working size,
    @stored_size [h, w]
    /{snippet_id}/offsets  (F,) int32, offsets from the annotated frame
    /{snippet_id}/maps     (F, C, h, w) float16 in [0, 1]: per-class per-frame max-normalised
                           CAMs (heatmaps.maps: cam) or per-pixel class probabilities (softmax);
                           @units says which
    /{snippet_id}/scores   (F, C) float32 class probabilities ("relevance" y·f_enc(v))

Maps may be stored below working size (``heatmaps.store_scale``); :func:`read_heatmaps`
returns them bilinearly resized to the working size.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..h5io import ArtifactError


UNITS = {"cam": "fraction of the per-class per-frame maximum", "softmax": "probability"}
"""``maps`` units by heatmap mode."""


def write_snippet(
    f: h5py.File, snippet_id: str, offsets: np.ndarray, maps: np.ndarray, scores: np.ndarray,
    size: tuple[int, int], mode: str = "cam",
) -> None:
    """Store one snippet: offsets (F,), maps (F, C, h, w) in [0, 1], scores (F, C)."""
    g = f.create_group(snippet_id)
    g.attrs["size"] = np.asarray(size, dtype=np.int32)
    g.create_dataset("offsets", data=np.asarray(offsets, np.int32))
    d = g.create_dataset("maps", data=np.asarray(maps, np.float16), compression="gzip",
                         compression_opts=4, shuffle=True,
                         chunks=(1, *np.asarray(maps).shape[1:]))
    d.attrs["units"] = UNITS[mode]
    s = g.create_dataset("scores", data=np.asarray(scores, np.float32))
    s.attrs["units"] = "probability"


def _group(f: h5py.File, snippet_id: str) -> h5py.Group:
    if snippet_id not in f:
        raise ArtifactError(f"{f.filename}: no heatmaps for snippet {snippet_id!r}")
    return f[snippet_id]


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(F, C, h, w) -> (F, C, H, W) float32, bilinear, clipped to [0, 1]."""
    m = np.asarray(maps, dtype=np.float32)
    if tuple(m.shape[-2:]) == tuple(size):
        return m
    # torch only here: readers of maps stored at working size (the pseudo-label and quality
    # jobs) do not pay for importing it
    import torch
    import torch.nn.functional as F

    t = F.interpolate(torch.from_numpy(m), size=tuple(int(v) for v in size), mode="bilinear",
                      align_corners=False)
    return t.clamp_(0, 1).numpy()


def read_heatmaps(f: h5py.File, snippet_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """offsets (F,) int, maps (F, C, H, W) float32 in [0, 1] at working size, scores (F, C)
    float32; C = the manifest class table (``json.loads(f.attrs['classes'])``)."""
    g = _group(f, snippet_id)
    size = tuple(int(v) for v in g.attrs["size"])
    return g["offsets"][()].astype(np.int64), upsample(g["maps"][()], size), g["scores"][()]


def read_heatmap(f: h5py.File, snippet_id: str, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame: maps (C, H, W) float32 in [0, 1] and scores (C,) float32."""
    g = _group(f, snippet_id)
    offsets = list(g["offsets"][()])
    if offset not in offsets:
        raise ArtifactError(f"{f.filename}: snippet {snippet_id!r} has no heatmap at offset "
                            f"{offset:+d} (has {offsets})")
    i = offsets.index(offset)
    size = tuple(int(v) for v in g.attrs["size"])
    return upsample(g["maps"][i:i + 1], size)[0], g["scores"][i]


def class_names(f: h5py.File) -> list[str]:
    """The class table the maps' C axis follows."""
    return list(json.loads(f.attrs["classes"]))
