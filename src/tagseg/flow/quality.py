"""Flow quality against ground truth (synthcity): mean end-point error, overall / moving / static.

Ground truth per snippet (``Snippet.flow_gt``): HDF5 with ``flow`` (P, 2, H, W) float32 pixels,
attribute ``offsets`` (P,) (pair k = frame k -> k+1), ``moving`` (P, H, W) bool (independently
moving objects) and optionally ``valid`` (P, H, W) bool. Ground truth at another size than the
working size is resized (bilinear, vectors rescaled; masks nearest).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import h5py
import numpy as np

from .. import h5io
from ..datasets.manifest import load
from ..provenance import Expectations
from . import storage
from .stage import provenance_config

log = logging.getLogger("tagseg.flow")


def read_gt(path: str | os.PathLike, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(offsets (P,), flow (P, 2, H, W) float32 px, moving (P, H, W) bool, valid (P, H, W) bool) at ``size``."""
    with h5py.File(path, "r") as f:
        if "flow" not in f:
            raise KeyError(f"{path}: flow ground truth has no 'flow' dataset")
        flow = f["flow"][()].astype(np.float32)
        if "offsets" in f["flow"].attrs:
            offsets = np.asarray(f["flow"].attrs["offsets"], np.int64)
        elif "offsets" in f.attrs:
            offsets = np.asarray(f.attrs["offsets"], np.int64)
        elif "offsets" in f:
            offsets = f["offsets"][()].astype(np.int64)
        else:
            raise KeyError(f"{path}: flow ground truth has no 'offsets' attribute")
        moving = f["moving"][()].astype(bool) if "moving" in f else np.zeros((flow.shape[0],) + flow.shape[2:], bool)
        valid = f["valid"][()].astype(bool) if "valid" in f else np.ones_like(moving)
    h, w = size
    gh, gw = flow.shape[2:]
    if (gh, gw) != (h, w):
        flow = np.stack([
            np.stack([cv2.resize(p[c], (w, h), interpolation=cv2.INTER_LINEAR) for c in range(2)])
            for p in flow
        ]) * np.array([w / gw, h / gh], np.float32).reshape(1, 2, 1, 1)
        moving = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) for m in moving]).astype(bool)
        valid = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) for m in valid]).astype(bool)
    return offsets, flow, moving, valid


class EPEAccumulator:
    """Pooled per-pixel end-point error sums over all / moving / static valid pixels."""

    def __init__(self) -> None:
        self.sums = {"all": 0.0, "moving": 0.0, "static": 0.0}
        self.counts = {"all": 0, "moving": 0, "static": 0}
        self.pairs = 0

    def add(self, flow: np.ndarray, gt: np.ndarray, moving: np.ndarray, valid: np.ndarray) -> None:
        """flow, gt: (P, 2, H, W) pixels; moving, valid: (P, H, W) bool."""
        e = np.sqrt(((flow.astype(np.float64) - gt) ** 2).sum(axis=1))
        for key, m in (("all", valid), ("moving", valid & moving), ("static", valid & ~moving)):
            self.sums[key] += float(e[m].sum())
            self.counts[key] += int(m.sum())
        self.pairs += flow.shape[0]

    def result(self) -> dict[str, Any]:
        return {
            "epe": {k: (self.sums[k] / self.counts[k] if self.counts[k] else None) for k in self.sums},
            "pixels": dict(self.counts),
            "pairs": self.pairs,
        }


def evaluate(
    manifest_path: str | os.PathLike,
    shard_paths: Sequence[str | os.PathLike],
    cfg: Mapping[str, Any] | None = None,
    split: str = "val",
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """EPE of the stored flows of ``split`` against ground truth, on pairs both hold.

    ``provenance`` (the rule's param, :func:`tagseg.provenance.rule_param`): the shards must have
    been made for this dataset and manifest with the current ``flow`` section, else
    :class:`tagseg.h5io.ArtifactError` names the shard and the rule to rerun.

    Returns a JSON-able dict: ``{"dataset", "split", "backend", "tvl1", "storage",
    "epe": {"all", "moving", "static"} (pixels, None where no pixel), "pixels", "pairs",
    "snippets"}``; ``epe`` is None (with a ``note``) when the dataset has no flow ground truth.
    """
    manifest = load(manifest_path)
    expect = Expectations.from_param(provenance, manifest).of("flow") if provenance else None
    by_id = {s.id: s for s in manifest.split(split)}
    acc = EPEAccumulator()
    n_snip, backend = 0, None
    for path in shard_paths:
        with h5io.open_artifact(path, "flow", config=provenance_config(cfg) if cfg is not None else None,
                                expect=expect) as f:
            backend = f.attrs.get("backend", backend)
            for sid in f.keys():
                s = by_id.get(sid)
                if s is None or not s.flow_gt:
                    continue
                offs, flow = storage.read_pairs(f, sid)
                g_offs, g_flow, moving, valid = read_gt(s.flow_gt, manifest.size)
                common = [k for k in offs.tolist() if k in g_offs.tolist()]
                if not common:
                    continue
                i = [offs.tolist().index(k) for k in common]
                j = [g_offs.tolist().index(k) for k in common]
                acc.add(flow[i], g_flow[j], moving[j], valid[j])
                n_snip += 1
    res = {
        "dataset": manifest.dataset,
        "split": split,
        "backend": backend.decode() if isinstance(backend, bytes) else backend,
        "tvl1": dict(cfg["tvl1"]) if cfg is not None else {},
        "storage": dict(cfg["storage"]) if cfg is not None else {},
        "snippets": n_snip,
        **acc.result(),
    }
    if n_snip == 0:
        res["epe"] = None
        res["note"] = f"no flow ground truth in split {split!r} of dataset {manifest.dataset!r}"
    log.info("flow quality: %s", res)
    return res


def write_quality(out_path: str | os.PathLike, manifest_path: str | os.PathLike,
                  shard_paths: Sequence[str | os.PathLike], *, split: str = "val",
                  provenance: Mapping[str, Any] | None = None,
                  cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`evaluate` and write the result as JSON to ``out_path``, atomically.

    The order of every stage's ``write_quality``: output, manifest, input shards, then keywords."""
    res = evaluate(manifest_path, shard_paths, cfg, split, provenance)
    h5io.write_json(out_path, res)
    return res
