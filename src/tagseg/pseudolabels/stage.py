"""The pseudolabels stage: one job per (split, shard) reads frames, flows and heatmaps of its
snippets and writes graph-cut pseudo-labels over each snippet's flow window.

Window: frame offsets in (-L//2, L//2] around the annotated frame (L = config ``flow.L``;
:func:`tagseg.plan.flow_window`),
restricted to the frames the heatmap shard holds (they must include 0 and be consecutive).
Flow pair t (frame t -> t+1) joins consecutive frames; the inside-outside map of frame t uses
pair t, or pair t-1 for a last frame whose forward pair was not computed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import h5io
from ..classtable import IGNORE
from ..datasets.manifest import Manifest, Snippet, load
from ..images import read_rgb
from ..plan import check_flow_L, flow_window
from ..provenance import Expectations
from .pipeline import label_window
from .storage import write_labels

log = logging.getLogger("tagseg.pseudolabels")


class PseudoLabelInputError(ValueError):
    """Inputs of the pseudolabels stage disagree (frames, sizes) or a snippet has no tags."""


def tag_table(manifest: Manifest, snippet: Snippet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tagged classes of ``snippet``: (manifest class indices (K,), train ids (K,) uint8 of the
    manifest's class table, moving (K,) bool: its foreground classes)."""
    if not snippet.tags:
        raise PseudoLabelInputError(
            f"snippet {snippet.id} ({manifest.dataset}, split {snippet.split}) has no tagged classes: "
            "nothing to pseudo-label (check the manifest's tags / 'min_tag_fraction')")
    names = list(dict.fromkeys(snippet.tags))
    idx = np.array([manifest.class_index(n) for n in names], np.int64)
    tid = np.array([manifest.table.train_id(n) for n in names], np.uint8)
    mov = np.array([n in manifest.table.foreground for n in names], bool)
    return idx, tid, mov


BACKGROUND = "background"
"""Name of a class table's single background class (PASCAL VOC), when it has one."""


def background_train_id(manifest: Manifest) -> int:
    """Train id of the table's class named :data:`BACKGROUND`, else 255 (Cityscapes: many
    background classes, none of which a web video's keyword rules out)."""
    return manifest.table.train_id(BACKGROUND) if BACKGROUND in manifest.table.names else IGNORE


def select_inputs(
    snippet_id: str,
    window: list[int],
    heat_offsets: np.ndarray,
    heat_shape: tuple[int, ...],
    flow_offsets: np.ndarray,
    flow_shape: tuple[int, ...],
    size: tuple[int, int],
    heat_path: str,
    flow_path: str,
) -> tuple[list[int], list[int], list[int]]:
    """Check that heatmaps and flows agree and pick what to use.

    Returns (frame offsets, indices of those frames in the heatmaps, flow row for the motion
    map of each frame; edges use rows of frames[:-1]). Raises :class:`PseudoLabelInputError`
    naming both files on any mismatch.
    """
    both = f"heatmaps {heat_path} and flow {flow_path}"
    hs, fs = tuple(heat_shape[-2:]), tuple(flow_shape[-2:])
    if hs != fs or hs != tuple(size):
        raise PseudoLabelInputError(
            f"snippet {snippet_id}: frame sizes differ: heatmaps {hs[0]}x{hs[1]} in {heat_path}, "
            f"flow {fs[0]}x{fs[1]} in {flow_path}, manifest size {size[0]}x{size[1]} (HxW)")
    ho = [int(o) for o in heat_offsets]
    frames = [o for o in window if o in ho]
    if 0 not in frames or frames != list(range(frames[0], frames[-1] + 1)):
        raise PseudoLabelInputError(
            f"snippet {snippet_id}: {both} do not match: the window needs consecutive frames "
            f"{window[0]:+d}..{window[-1]:+d} including 0, heatmaps hold {ho}")
    fo = [int(o) for o in flow_offsets]
    missing = [o for o in frames[:-1] if o not in fo]
    if missing:
        raise PseudoLabelInputError(
            f"snippet {snippet_id}: {both} do not match: heatmap frames {frames[0]:+d}..{frames[-1]:+d} "
            f"need flow pairs {missing} (frame k -> k+1), the flow file holds pairs {fo}")
    motion_rows = []
    for o in frames:
        if o in fo:
            motion_rows.append(fo.index(o))
        elif o - 1 in fo:
            motion_rows.append(fo.index(o - 1))
        else:
            raise PseudoLabelInputError(
                f"snippet {snippet_id}: {both} do not match: no flow pair at {o:+d} or {o - 1:+d} "
                f"for frame {o:+d}; flow pairs {fo}")
    return frames, [ho.index(o) for o in frames], motion_rows


def label_snippet(
    manifest: Manifest,
    snippet: Snippet,
    flow_file: Any,
    heat_file: Any,
    cfg: Mapping[str, Any],
    L: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Pseudo-label one snippet from open flow and heatmap shards.

    Returns dict with ``offsets`` (F,), ``labels`` (F, H, W) uint8 train ids (255 unsure),
    ``confidence`` (F, H, W) float32, ``ablations`` {name: (H, W) uint8} for the annotated
    frame, ``tags``, ``seconds`` and ``timings``.
    """
    from ..flow.storage import read_pairs
    from ..heatmaps.storage import read_heatmaps

    t0 = time.perf_counter()
    idx, tid, mov = tag_table(manifest, snippet)
    h_off, maps, _ = read_heatmaps(heat_file, snippet.id)
    if flow_file is None:  # a still image: its annotated frame alone, no flow (motion uniform)
        if 0 not in [int(o) for o in h_off] or tuple(maps.shape[-2:]) != tuple(manifest.size):
            raise PseudoLabelInputError(
                f"snippet {snippet.id}: {heat_file.filename} must hold the annotated frame (offset "
                f"0) at the working size {manifest.size}; it holds offsets {list(h_off)}, maps "
                f"{tuple(maps.shape[-2:])}")
        f_off, flow, frames_off = [], None, [0]
        h_rows, m_rows = [[int(o) for o in h_off].index(0)], None
    else:
        f_off, flow = read_pairs(flow_file, snippet.id)
        frames_off, h_rows, m_rows = select_inputs(
            snippet.id, flow_window(check_flow_L(L)), h_off, maps.shape, f_off, flow.shape,
            tuple(manifest.size), str(heat_file.filename), str(flow_file.filename))
    if maps.shape[1] != len(manifest.classes):
        raise PseudoLabelInputError(
            f"snippet {snippet.id}: {heat_file.filename} has {maps.shape[1]} heatmap channels, "
            f"the manifest has {len(manifest.classes)} classes")
    fo = [int(o) for o in f_off]
    frames = np.stack([read_rgb(snippet.frame_path(o), tuple(manifest.size)) for o in frames_off])
    heat = maps[h_rows][:, idx].astype(np.float32)
    extra_labels = [IGNORE]  # index -1 (unsure) -> 255
    if not snippet.tags_complete:
        # Partial tags (a web video's keyword): Hong et al.'s binary problem, the tagged
        # classes against a background whose attention is 1 - their heatmap; background -> 255,
        # or the table's one background class when it has one (PASCAL VOC's `background`).
        heat = np.concatenate([heat, 1.0 - heat.max(axis=1, keepdims=True)], axis=1)
        mov = np.append(mov, False)
        extra_labels = [background_train_id(manifest), IGNORE]
    edge_flows = flow[[fo.index(o) for o in frames_off[:-1]]] if len(frames_off) > 1 else None
    res = label_window(frames, edge_flows, heat, mov, dict(cfg),
                       motion_flows=None if flow is None else flow[m_rows], seed=seed)
    lut = np.concatenate([tid, np.array(extra_labels, np.uint8)])
    a0 = frames_off.index(0)
    return {
        "offsets": frames_off,
        "labels": lut[res.labels],
        "confidence": res.confidence,
        "ablations": {k: lut[v[a0]] for k, v in res.ablations.items()},
        "tags": [manifest.table.names[t] for t in tid],
        "seconds": time.perf_counter() - t0,
        "timings": res.timings,
    }


def run_shard(
    manifest_path: str | os.PathLike,
    flow_path: str | os.PathLike | None,
    heatmap_path: str | os.PathLike,
    out_path: str | os.PathLike,
    split: str,
    shard: int,
    cfg: Mapping[str, Any],
    L: int,
    seed: int = 0,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Pseudo-label every snippet of one shard and write ``out_path`` atomically.

    ``cfg`` is the validated ``pseudolabels`` config section; ``L`` is ``flow.L``; ``provenance`` the
    rule's param (:func:`tagseg.provenance.rule_param`): the flow and heatmap shards must match
    it, and the output records it. ``flow_path`` None: still images (each labelled alone,
    without motion). Returns a summary (snippets, mean seconds per snippet).
    """
    import contextlib

    manifest = load(manifest_path)
    expect = Expectations.from_param(provenance, manifest) if provenance else None
    snippets = manifest.shard(split, int(shard))
    attrs = {"split": split, "shard": int(shard), "L": int(L), "flow": str(flow_path),
             "heatmaps": str(heatmap_path), "n_snippets": len(snippets)}
    secs = []
    flow_ctx = (contextlib.nullcontext(None) if flow_path is None else
                h5io.open_artifact(flow_path, "flow", expect=expect and expect.of("flow")))
    with flow_ctx as ff, \
            h5io.open_artifact(heatmap_path, "heatmaps", expect=expect and expect.of("heatmaps")) as hf, \
            h5io.write_artifact(out_path, "pseudolabels", config=dict(cfg), attrs=attrs,
                                provenance=expect and expect.of("pseudolabels")) as out:
        for s in snippets:
            r = label_snippet(manifest, s, ff, hf, cfg, L, seed)
            write_labels(out, s.id, r["offsets"], r["labels"], r["confidence"], r["tags"],
                         r["ablations"], r["seconds"])
            secs.append(r["seconds"])
            log.info("%s: %d frames, %d tags, %.2f s (%s)", s.id, len(r["offsets"]), len(r["tags"]),
                     r["seconds"], ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items()))
        out.attrs["mean_seconds_per_snippet"] = float(np.mean(secs)) if secs else 0.0
    return {"snippets": len(snippets), "mean_seconds": float(np.mean(secs)) if secs else 0.0,
            "out": str(Path(out_path))}
