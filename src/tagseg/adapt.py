"""Domain adaptation on still images (Hong et al. 2017 §5.2.1, Table 1 "DA"): label the
target's own training images with a model trained on web videos, to fine-tune it on them.

"We apply the model to generate segmentation annotations of images in I, and fine-tune the
network using the generated annotations as strong supervision." The image-level tags of
each training image are known, so its annotation is the model's per-pixel argmax over the
image's tagged classes only (background is a tag of every VOC image).

Rule ``adapt_labels`` writes ``results/{dataset}/adapt/{source}/labels/train/shard-{k}.h5``
(:func:`tagseg.plan.adapt_paths`) in the pseudo-label layout (:mod:`tagseg.pseudolabels.storage`,
stage ``pseudolabels``, so the training stage reads it as its ``pseudo`` input); the variant
with ``adapt_from: {source}`` then starts from the source's weights (:mod:`tagseg.train.loop`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from . import h5io
from .datasets.manifest import load
from .images import read_rgb
from .predict import predict_probs
from .provenance import Expectations
from .pseudolabels.storage import write_labels
from .train.checkpoint import load_model

log = logging.getLogger("tagseg.adapt")


def tag_restricted_labels(probs: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels (H, W) uint8 class index, confidence (H, W) float32) of the argmax of ``probs``
    (C, H, W) over the classes where ``allowed`` (C,) bool is true, renormalised over them."""
    p = np.where(allowed[:, None, None], probs, 0.0)
    p = p / np.maximum(p.sum(0, keepdims=True), 1e-12)
    return p.argmax(0).astype(np.uint8), p.max(0).astype(np.float32)


def run_shard(manifest_path: str | os.PathLike, model_path: str | os.PathLike, source: str,
              shard: int, out_path: str | os.PathLike, cfg: Mapping[str, Any],
              provenance: Mapping[str, Any] | None = None,
              device: torch.device | str = "cpu") -> dict[str, Any]:
    """Label the train images of one shard with ``model_path`` (variant ``source``).

    ``cfg``: the ``pseudolabels`` section (its hash goes in the artifact, as for pseudo-labels);
    ``provenance``: the rule's param. Labels are class indices = train ids (the manifest's
    classes are its table's evaluation classes in train-id order). Returns a summary.
    """
    device = torch.device(device)
    manifest = load(manifest_path)
    net, meta = load_model(model_path, source, list(manifest.classes))
    if net.cfg.two_stream:
        raise ValueError(f"{model_path}: variant {source!r} is two-stream; adaptation labels still "
                         "images (single-stream variants only)")
    net.to(device).eval()
    expect = Expectations.from_param(provenance, manifest).of("pseudolabels") if provenance else None
    snippets = manifest.shard("train", int(shard))
    size = tuple(int(v) for v in manifest.size)
    names = list(manifest.classes)
    attrs = {"split": "train", "shard": int(shard), "source": "adapt", "model": str(model_path),
             "variant": source, "n_snippets": len(snippets)}
    with h5io.write_artifact(out_path, "pseudolabels", config=dict(cfg), attrs=attrs,
                             provenance=expect) as out:
        for s in snippets:
            probs = predict_probs(net, read_rgb(s.frame_path(0), size), None,
                                  float(meta.get("flow_scale", 10.0)), device).numpy()
            allowed = np.array([c in s.tags for c in names], bool)
            if not allowed.any():
                allowed[:] = True
            lab, conf = tag_restricted_labels(probs, allowed)
            write_labels(out, s.id, [0], lab[None], conf[None], s.tags)
    log.info("adapt %s: %d train images of shard %d labelled by %s", manifest.dataset,
             len(snippets), shard, model_path)
    return {"snippets": len(snippets)}
