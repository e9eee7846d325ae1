"""Compact storage of flow pairs in per-shard HDF5 artifacts, and the readers other stages use.

Layout of ``results/{dataset}/flow/{split}/shard-{k}.h5`` (written via :mod:`tagseg.h5io`)::

    /{snippet_id}/offsets   (P,) int32      pair k = frame k -> k+1, k relative to the annotated frame
    /{snippet_id}/flow      (P, 2, H, W)    x then y, encoded per ``encoding``:
        @units    "pixels"
        @encoding "int16"  : value = stored * scale[p]   (scale: (P,) float32, pixels per unit)
                  "float16" / "float32": value = stored
        @scale    (P,) float32 (int16 only)
    chunks of one pair (1, 2, H, W), shuffle + gzip/lzf.

int16 uses a fixed quantum (``flow.storage.quantum`` pixels, max error quantum / 2), widened
per pair only when that pair's largest |flow| would not fit (then quantum = max|flow| / 32767).
"""

from __future__ import annotations

from typing import Any, Mapping

import h5py
import numpy as np

from ..plan import flow_window

ENCODINGS = ("int16", "float16", "float32")
_I16 = 32767


class FlowStorageError(KeyError):
    """A snippet or a flow pair is missing from a flow shard."""


def encode(flow: np.ndarray, encoding: str = "int16", quantum: float = 0.01) -> tuple[np.ndarray, np.ndarray | None]:
    """(P, 2, H, W) float32 pixels -> (stored array, per-pair scale (P,) or None)."""
    flow = np.asarray(flow, np.float32)
    if encoding == "float32":
        return flow, None
    if encoding == "float16":
        return flow.astype(np.float16), None
    if encoding != "int16":
        raise ValueError(f"config key 'flow.storage.encoding' must be one of {ENCODINGS}, got {encoding!r}")
    peak = np.abs(flow).reshape(flow.shape[0], -1).max(axis=1) if flow.size else np.zeros(0)
    scale = np.maximum(np.float32(quantum), (peak / _I16).astype(np.float32)).astype(np.float32)
    q = np.rint(flow / scale[:, None, None, None])
    return np.clip(q, -_I16, _I16).astype(np.int16), scale


def decode(stored: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """Inverse of :func:`encode`: float32 pixels."""
    out = np.asarray(stored).astype(np.float32)
    if scale is not None:
        out *= np.asarray(scale, np.float32).reshape(-1, 1, 1, 1)
    return out


def write_pairs(
    f: h5py.File, snippet_id: str, offsets: np.ndarray, flow: np.ndarray, storage: Mapping[str, Any]
) -> int:
    """Write one snippet's pairs under ``/{snippet_id}``; returns stored bytes of the flow dataset.

    ``flow``: (P, 2, H, W) float32 pixels; ``offsets``: (P,) pair offsets;
    ``storage``: the validated ``flow.storage`` config section (encoding, quantum, compression,
    compression_level).
    """
    offsets = np.asarray(offsets, np.int32)
    if flow.ndim != 4 or flow.shape[1] != 2 or flow.shape[0] != len(offsets):
        raise ValueError(f"snippet {snippet_id}: flow must be (P, 2, H, W) with P = {len(offsets)}, got {flow.shape}")
    encoding = storage["encoding"]
    stored, scale = encode(flow, encoding, float(storage["quantum"]))
    comp = storage["compression"]
    kw: dict[str, Any] = {}
    if comp == "gzip":
        kw = dict(compression="gzip", compression_opts=int(storage["compression_level"]), shuffle=True)
    elif comp == "lzf":
        kw = dict(compression="lzf", shuffle=True)
    elif comp not in (None, "none"):
        raise ValueError(f"config key 'flow.storage.compression' must be gzip, lzf or none, got {comp!r}")
    g = f.create_group(snippet_id)
    g.create_dataset("offsets", data=offsets)
    chunks = (1,) + stored.shape[1:] if len(stored) else None
    ds = g.create_dataset("flow", data=stored, chunks=chunks, **kw)
    ds.attrs["units"] = "pixels"
    ds.attrs["encoding"] = encoding
    if scale is not None:
        ds.attrs["scale"] = scale
    g.attrs["offsets"] = offsets
    return int(ds.id.get_storage_size())


def read_pairs(f: h5py.File, snippet_id: str) -> tuple[np.ndarray, np.ndarray]:
    """All stored pairs of a snippet: (offsets (P,) int, flow (P, 2, H, W) float32 pixels)."""
    if snippet_id not in f:
        raise FlowStorageError(f"{f.filename}: no flow for snippet {snippet_id!r}")
    g = f[snippet_id]
    ds = g["flow"]
    return g["offsets"][()].astype(np.int64), decode(ds[()], ds.attrs.get("scale"))


def read_stack(f: h5py.File, snippet_id: str, center: int, L: int) -> np.ndarray:
    """Saleh et al. §3.2 flow stack: (2L, H, W) float32 pixels, channels [x_k, y_k, ...] in k order.

    Reads only the pairs needed (one chunk each): :func:`tagseg.plan.flow_window`;
    a missing pair raises :class:`FlowStorageError` naming snippet and offset.
    """
    if snippet_id not in f:
        raise FlowStorageError(f"{f.filename}: no flow for snippet {snippet_id!r}")
    g = f[snippet_id]
    stored = [int(k) for k in g["offsets"][()]]
    ds = g["flow"]
    scale = ds.attrs.get("scale")
    want = flow_window(L, center)
    rows = []
    for k in want:
        if k not in stored:
            raise FlowStorageError(
                f"{f.filename}: snippet {snippet_id!r} has no flow pair at offset {k:+d} "
                f"(stored {stored[0] if stored else None}..{stored[-1] if stored else None}); "
                f"stack centre {center:+d} with L={L} needs {want[0]:+d}..{want[-1]:+d}: "
                "add the centre to config 'frames.train_offsets' or lower 'flow.L'"
            )
        rows.append(stored.index(k))
    out = np.empty((len(want), 2) + ds.shape[2:], np.float32)
    for j, i in enumerate(rows):
        out[j] = decode(ds[i : i + 1], None if scale is None else scale[i : i + 1])[0]
    return out.reshape((2 * len(want),) + ds.shape[2:])
