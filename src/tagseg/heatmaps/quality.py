"""``heatmaps/quality.json``: how well the heatmaps alone segment the annotated frames.

On every snippet of the split with ground truth, at the annotated frame (offset 0):

- ``miou`` / ``class_iou``: the per-pixel arg-max of the heatmaps over the snippet's tagged
  classes, scored like Cityscapes (:func:`tagseg.metrics.scores`);
- ``masks``: per class, precision and recall of Saleh's binary masks B_k (heatmap >= 20 % of
  its max), pooled over the frames tagged with the class (ignored ground truth left out);
- ``tag_ap``: per class, average precision of the frame scores against the tags (how well
  the relevance score y·f_enc(v) ranks frames that contain the class).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from sklearn.metrics import average_precision_score

from ..classtable import IGNORE, ClassTable
from ..datasets.manifest import Manifest
from ..datasets.manifest import load as load_manifest
from ..h5io import open_artifact, write_json
from ..images import read_ground_truth
from ..metrics import confusion_matrix, label_ids_to_train_ids, scores
from ..provenance import Expectations
from .storage import read_heatmap

log = logging.getLogger("tagseg.heatmaps")


def _gt_indices(path: str, size: tuple[int, int], table: Sequence[str],
                class_table: ClassTable) -> np.ndarray:
    """(H, W) int64 indices into ``table`` (255 = ignore) of a labelIds image of
    ``class_table`` at working size."""
    train = label_ids_to_train_ids(read_ground_truth(path, class_table), source=path,
                                   table=class_table)
    if train.shape != tuple(size):
        train = cv2.resize(train, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    lut = np.full(256, IGNORE, np.int64)
    for t, name in enumerate(class_table.names):
        if name in table:
            lut[t] = list(table).index(name)
    return lut[train]


def heatmap_quality(
    manifest: Manifest | str | os.PathLike,
    shard_paths: Sequence[str | os.PathLike],
    split: str = "val",
    threshold: float = 0.2,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Quality of the heatmaps of ``split`` (see module docstring); NaN where undefined.

    ``provenance``: the rule's param (:func:`tagseg.provenance.rule_param`), checked on each shard.
    """
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    expect = Expectations.from_param(provenance, manifest).of("heatmaps") if provenance else None
    table = list(manifest.classes)
    n = len(table)
    size = tuple(int(v) for v in manifest.size)
    conf = np.zeros((n, n + 1), np.int64)
    tp = np.zeros(n, np.int64)
    fp = np.zeros(n, np.int64)
    fn = np.zeros(n, np.int64)
    mask_frames = np.zeros(n, np.int64)
    all_scores: list[np.ndarray] = []
    all_tags: list[np.ndarray] = []
    frames = 0
    for path in shard_paths:
        with open_artifact(path, stage="heatmaps", expect=expect) as f:
            for s in manifest.snippets:
                if s.split != split or s.gt is None or s.id not in f:
                    continue
                maps, sc = read_heatmap(f, s.id, 0)
                gt = _gt_indices(s.gt, size, table, manifest.table)
                tags = sorted({manifest.class_index(t) for t in s.tags})
                y = np.zeros(n, bool)
                y[tags] = True
                all_scores.append(sc)
                all_tags.append(y)
                frames += 1
                if not tags:
                    continue
                pred = np.asarray(tags)[np.argmax(maps[tags], axis=0)]
                confusion_matrix(gt, pred, n=n, out=conf)
                valid = gt != IGNORE
                for k in tags:
                    peak = maps[k].max()
                    b = (maps[k] >= threshold * peak) & (peak > 0) & valid
                    g = (gt == k) & valid
                    tp[k] += int((b & g).sum())
                    fp[k] += int((b & ~g).sum())
                    fn[k] += int((~b & g).sum())
                    mask_frames[k] += 1
    if frames == 0:
        raise ValueError(f"no {split} snippet with ground truth in the heatmap shards "
                         f"{[str(p) for p in shard_paths]}")
    sc = scores(conf, class_names=table, categories={} if n != manifest.table.num_classes else None,
                table=manifest.table)
    masks = {}
    for k, name in enumerate(table):
        if mask_frames[k] == 0:
            continue
        prec = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else float("nan")
        rec = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else float("nan")
        masks[name] = {"precision": float(prec), "recall": float(rec),
                       "frames": int(mask_frames[k])}
    S = np.stack(all_scores)
    Y = np.stack(all_tags)
    tag_ap = {}
    for k, name in enumerate(table):
        if Y[:, k].any() and not Y[:, k].all():
            tag_ap[name] = float(average_precision_score(Y[:, k], S[:, k]))
    precs = [v["precision"] for v in masks.values() if not math.isnan(v["precision"])]
    recs = [v["recall"] for v in masks.values() if not math.isnan(v["recall"])]
    return {
        "split": split,
        "frames": frames,
        "threshold": threshold,
        "miou": sc["miou"],
        "global_accuracy": sc["global_accuracy"],
        "category_miou": sc.get("category_miou"),
        "class_iou": dict(sc["class_iou"]),
        "mask_precision_mean": float(np.mean(precs)) if precs else None,
        "mask_recall_mean": float(np.mean(recs)) if recs else None,
        "masks": masks,
        "tag_map": float(np.mean(list(tag_ap.values()))) if tag_ap else None,
        "tag_ap": tag_ap,
    }


def write_quality(out_path: str | os.PathLike, manifest: Manifest | str | os.PathLike,
                  shard_paths: Sequence[str | os.PathLike], *, split: str = "val",
                  provenance: Mapping[str, Any] | None = None, threshold: float = 0.2) -> dict[str, Any]:
    """Compute :func:`heatmap_quality` and write it as JSON to ``out_path``."""
    q = heatmap_quality(manifest, shard_paths, split, threshold, provenance)
    write_json(out_path, q)
    log.info("heatmaps %s: mIoU %.3f over %d frames; masks P %.3f R %.3f; tag mAP %s", split,
             q["miou"] or float("nan"), q["frames"], q["mask_precision_mean"] or float("nan"),
             q["mask_recall_mean"] or float("nan"), q["tag_map"])
    return q
