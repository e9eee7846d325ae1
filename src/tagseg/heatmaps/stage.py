"""The ``heatmaps`` rule: heatmaps of every needed frame of one shard's snippets."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..datasets.manifest import Manifest
from ..datasets.manifest import load as load_manifest
from ..h5io import write_artifact
from ..images import read_rgb
from ..plan import needed_offsets
from ..provenance import Expectations
from .model import load_model
from .multiscale import multiscale_heatmaps
from .storage import write_snippet

log = logging.getLogger("tagseg.heatmaps")



def heatmap_offsets(config: Mapping[str, Any]) -> list[int]:
    """Offsets the later stages need (see :func:`tagseg.plan.needed_offsets`)."""
    return needed_offsets(config)


def stored_size(size: tuple[int, int], store_scale: float) -> tuple[int, int]:
    return (max(1, int(round(size[0] * store_scale))), max(1, int(round(size[1] * store_scale))))


def run_heatmaps(
    manifest: Manifest | str | os.PathLike,
    model_path: str | os.PathLike,
    split: str,
    shard: int,
    cfg: Mapping[str, Any],
    offsets: Sequence[int],
    out_path: str | os.PathLike,
    device: torch.device,
    progress: bool = True,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``heatmaps/{split}/shard-{shard}.h5`` (layout in :mod:`.storage`).

    ``cfg`` is the ``heatmaps`` config section (less ``threads`` and ``mask_threshold``);
    ``offsets`` from :func:`heatmap_offsets`; ``provenance`` the rule's param
    (:func:`tagseg.provenance.rule_param`), recorded in the shard.
    Returns {"snippets", "frames", "seconds", "frames_per_s"}.
    """
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    made_from = Expectations.from_param(provenance, manifest).of("heatmaps") if provenance else None
    model = load_model(model_path, cfg, device)
    if model.class_names != list(manifest.classes):
        raise ValueError(f"{model_path}: classifier class table {model.class_names} differs from "
                         f"the manifest's {manifest.classes}; rerun the 'classifiers' rule")
    size = tuple(int(v) for v in manifest.size)
    out_size = stored_size(size, float(cfg["store_scale"]))
    scales = [float(s) for s in cfg["scales"]]
    batch = int(cfg["batch_frames"])
    mode = str(cfg["maps"])
    snippets = manifest.shard(split, shard)
    offsets = [int(o) for o in offsets]
    t0 = time.time()
    n_frames = 0
    attrs = {"classes": json.dumps(list(manifest.classes)), "heads": json.dumps(model.heads),
             "offsets": np.asarray(offsets, np.int32), "scales": np.asarray(scales, np.float32),
             "size": np.asarray(size, np.int32), "stored_size": np.asarray(out_size, np.int32),
             "split": split, "shard": shard}
    with write_artifact(out_path, "heatmaps", config=dict(cfg), attrs=attrs, provenance=made_from) as f:
        for s in tqdm(snippets, desc=f"heatmaps {split}/{shard}", disable=not progress):
            paths = [s.frame_path(o) for o in offsets]
            tagged = np.array([c in s.tags for c in manifest.classes], bool)
            maps, scores = [], []
            for i in range(0, len(paths), batch):
                frames = np.stack([read_rgb(p, size) for p in paths[i:i + batch]])
                m, sc = multiscale_heatmaps(model, frames, scales, out_size, device,
                                            str(cfg["precision"]), mode,
                                            tagged=np.broadcast_to(tagged, (len(frames), len(tagged))))
                maps.append(m)
                scores.append(sc)
            write_snippet(f, s.id, np.asarray(offsets), np.concatenate(maps),
                          np.concatenate(scores), size, mode)
            n_frames += len(paths)
    dt = time.time() - t0
    log.info("%s/%d: %d snippets, %d frames in %.1f s (%.2f frames/s)", split, shard,
             len(snippets), n_frames, dt, n_frames / max(dt, 1e-9))
    return {"snippets": len(snippets), "frames": n_frames, "seconds": dt,
            "frames_per_s": n_frames / max(dt, 1e-9)}
