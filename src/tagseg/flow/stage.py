"""The flow stage: TV-L1 forward flows of every pair a snippet's flow stacks need, per shard.

For stack centres c (config ``frames.train_offsets``; 0 = the annotated frame) and stack
length L (config ``flow.L``), a snippet needs pairs k in (c - L//2, c + L//2] (Saleh et al.
§3.2; :func:`tagseg.plan.needed_pairs`), i.e. frames c - L//2 + 1 .. c + L//2 + 1; the union
over centres is computed once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from .. import h5io
from ..datasets.manifest import Snippet, load
from ..errors import TagsegError
from ..images import ImageError, read_rgb
from ..plan import flow_L, needed_pairs
from ..provenance import Expectations, stage_config
from . import storage
from .params import TVL1Params

log = logging.getLogger("tagseg.flow")

Backend = Callable[[np.ndarray, np.ndarray], np.ndarray]


class FlowInputError(TagsegError, ValueError):
    """A snippet cannot give the frames its flow stacks need (too few, unreadable, mixed sizes)."""


def make_backend(cfg: Mapping[str, Any], device: str = "auto", threads: int | None = None) -> Backend:
    """The configured flow backend: ``cfg`` is the validated ``flow`` config section
    (:func:`tagseg.config.validate`; :func:`tagseg.config.section` fills a partial one).

    Returns a callable (B, H, W) uint8 gray0, gray1 -> (B, 2, H, W) float32 pixels.
    """
    params = TVL1Params.from_config(cfg["tvl1"])
    name = cfg["backend"]
    if name == "opencv":
        from .opencv_tvl1 import OpenCVTVL1

        return OpenCVTVL1(params, threads=threads)
    if name == "torch":
        import torch

        from ..device import resolve
        from .torch_tvl1 import TorchTVL1

        if threads:
            torch.set_num_threads(int(threads))
        return TorchTVL1(params, device=resolve(device), batch_size=int(cfg["batch_size"]))
    raise ValueError(f"config key 'flow.backend' must be 'opencv' or 'torch', got {name!r}")


def read_gray_frames(snippet: Snippet, offsets: Sequence[int], size: tuple[int, int]) -> dict[int, np.ndarray]:
    """Frames of ``snippet`` at ``offsets`` as (H, W) uint8 gray at working ``size``.

    Raises :class:`FlowInputError` naming snippet and frame when the snippet is too short,
    a frame is unreadable, or its frames differ in size.
    """
    lo, hi = min(offsets), max(offsets)
    why = snippet.window_error(lo, hi, "the flow stacks (config flow.L, frames.train_offsets) need")
    if why is not None:
        if not snippet.missing_frames(lo, hi):  # too short by itself: only a smaller window helps
            why += "; lower config 'flow.L' or change 'frames.train_offsets'"
        raise FlowInputError(why)
    out: dict[int, np.ndarray] = {}
    native: tuple[int, int] | None = None
    ref = ""
    for off in offsets:
        path = snippet.frame_path(off)
        try:
            rgb = read_rgb(path)
        except ImageError as e:
            raise FlowInputError(f"snippet {snippet.id}, frame {off:+d}: {e}") from None
        if native is None:
            native, ref = rgb.shape[:2], path
        elif rgb.shape[:2] != native:
            raise FlowInputError(
                f"snippet {snippet.id}, frame {off:+d} ({path}): size {rgb.shape[1]}x{rgb.shape[0]} "
                f"differs from {native[1]}x{native[0]} of {ref}"
            )
        if rgb.shape[:2] != tuple(size):
            rgb = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        out[off] = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return out


def snippet_flows(snippet: Snippet, pairs: Sequence[int], size: tuple[int, int], backend: Backend) -> np.ndarray:
    """(P, 2, H, W) float32 pixels: forward flow of each pair k (frame k -> k+1) of ``snippet``."""
    frames = read_gray_frames(snippet, sorted({k for k in pairs} | {k + 1 for k in pairs}), size)
    g0 = np.stack([frames[k] for k in pairs])
    g1 = np.stack([frames[k + 1] for k in pairs])
    return backend(g0, g1)


def provenance_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the ``flow`` section that determines the flows (not ``threads``): hashed into shards
    (:func:`tagseg.provenance.stage_config`)."""
    return stage_config({"flow": cfg}, "flow")


def run_shard(
    manifest_path: str | os.PathLike,
    split: str,
    shard: int,
    out_path: str | os.PathLike,
    cfg: Mapping[str, Any],
    centers: Sequence[int] = (0,),
    device: str = "auto",
    threads: int | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Compute and write one flow shard; returns stats (pairs, seconds, stored bytes per pair).

    ``cfg`` is the validated ``flow`` config section; ``centers`` are the stack centres (config
    ``frames.train_offsets``; 0 is always added, inference uses it); ``provenance`` the rule's
    param (:func:`tagseg.provenance.rule_param`), recorded in the shard. The shard appears at
    ``out_path`` only when every snippet succeeded.
    """
    manifest = load(manifest_path)
    made_from = Expectations.from_param(provenance, manifest).of("flow") if provenance else None
    snippets = manifest.shard(split, int(shard))
    L = flow_L({"flow": cfg})
    centers = sorted({0, *(int(c) for c in centers)})  # 0: the annotated frame, always predicted
    pairs = needed_pairs(centers, L)
    frames_needed = sorted(set(pairs) | {k + 1 for k in pairs})
    # fail fast on snippets too short, before any flow is computed
    for s in snippets:
        first, last = -s.annotated, len(s.frames) - 1 - s.annotated
        if frames_needed[0] < first or frames_needed[-1] > last:
            read_gray_frames(s, frames_needed, manifest.size)  # raises FlowInputError naming it
    backend = make_backend(cfg, device=device, threads=threads)
    h, w = manifest.size
    attrs = {
        "L": L,
        "centers": np.asarray(list(centers), np.int32),
        "pair_offsets": np.asarray(pairs, np.int32),
        "backend": cfg["backend"],
        "size": np.asarray([h, w], np.int32),
        "split": split,
        "shard": int(shard),
        "dataset": manifest.dataset,
    }
    total_bytes, n_pairs, t0 = 0, 0, time.perf_counter()
    with h5io.write_artifact(out_path, "flow", config=provenance_config(cfg), attrs=attrs,
                             provenance=made_from) as f:
        for i, s in enumerate(snippets):
            t = time.perf_counter()
            flow = snippet_flows(s, pairs, (h, w), backend)
            total_bytes += storage.write_pairs(f, s.id, np.asarray(pairs), flow, cfg["storage"])
            n_pairs += len(pairs)
            log.info("snippet %s (%d/%d): %d pairs in %.2f s", s.id, i + 1, len(snippets), len(pairs), time.perf_counter() - t)
        f.attrs["stored_bytes"] = total_bytes
        f.attrs["bytes_per_pair"] = total_bytes / max(1, n_pairs)
    secs = time.perf_counter() - t0
    stats = {
        "snippets": len(snippets),
        "pairs": n_pairs,
        "seconds": secs,
        "stored_bytes": total_bytes,
        "bytes_per_pair": total_bytes / max(1, n_pairs),
    }
    log.info("flow shard %s: %s", out_path, stats)
    return stats
