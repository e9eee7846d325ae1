"""Pseudo-label quality on annotated frames: mIoU of the graph-cut pseudo-labels side by side
with the heatmap argmax of the previous stage and with each unary subset (ablation).

Evaluated at the working size (``manifest.size``): ground truth is resized with
nearest-neighbour interpolation. Unsure pixels (255) count as misses of their true class.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from .. import h5io
from ..classtable import ClassTable
from ..datasets.manifest import load
from ..images import read_ground_truth
from ..metrics import confusion_matrix, label_ids_to_train_ids, scores
from ..provenance import Expectations
from .storage import read_ablations, read_labels

log = logging.getLogger("tagseg.pseudolabels")

ORDER = ("heatmap_argmax_all", "heatmap_argmax_tagged", "attention_no_pairwise", "attention",
         "attention+appearance", "attention+motion", "full", "pseudolabels")
DESCRIPTION = {
    "heatmap_argmax_all": "previous stage: per-pixel argmax of the heatmaps over all classes",
    "heatmap_argmax_tagged": "previous stage: per-pixel argmax of the heatmaps over the tagged classes",
    "attention_no_pairwise": "superpixel argmax of attention A (no graph cut)",
    "attention": "graph cut, unary A only",
    "attention+appearance": "graph cut, unaries A + C",
    "attention+motion": "graph cut, unaries A + M",
    "full": "graph cut, unaries A + C + M (Hong eq. 3-5)",
    "pseudolabels": "stored pseudo-labels (full, with unsure pixels as 255)",
}


def ground_truth(path: str, size: tuple[int, int], table: ClassTable) -> np.ndarray:
    """(H, W) uint8 train ids of ``table`` of a ground-truth PNG (its encoding) at working ``size`` (nearest
    neighbour)."""
    gt = label_ids_to_train_ids(read_ground_truth(path, table), path, table)
    if gt.shape != tuple(size):
        gt = cv2.resize(gt, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    return gt


def evaluate(
    manifest_path: str | os.PathLike,
    pseudo_paths: Sequence[str | os.PathLike],
    heatmap_paths: Sequence[str | os.PathLike] | None = None,
    split: str = "val",
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Quality of the pseudo-label shards of ``split`` against the manifest's ground truth.

    ``pseudo_paths`` / ``heatmap_paths`` are the split's shards in shard order; ``provenance``
    the rule's param (:func:`tagseg.provenance.rule_param`), checked on every shard. Returns a
    dict with ``variants`` {name: {miou, global_accuracy, coverage, class_iou, description}},
    ``gain_over_heatmap_argmax`` (mIoU points, full minus the better heatmap argmax) and
    ``seconds_per_snippet``.
    """
    from ..heatmaps.storage import read_heatmaps

    m = load(manifest_path)
    expect = Expectations.from_param(provenance, m) if provenance else None
    size = tuple(m.size)
    conf: dict[str, np.ndarray] = {}
    covered: dict[str, list[int]] = {}
    secs: list[float] = []
    n = 0

    def add(name: str, gt: np.ndarray, pred: np.ndarray) -> None:
        c = conf.setdefault(name, np.zeros((m.table.num_classes, m.table.num_classes + 1), np.int64))
        confusion_matrix(gt, pred, n=m.table.num_classes, out=c)
        cov = covered.setdefault(name, [0, 0])
        cov[0] += int((pred != 255).sum())
        cov[1] += pred.size

    for k, path in enumerate(pseudo_paths):
        snippets = [s for s in m.shard(split, k) if s.gt]
        hf = h5io.open_artifact(heatmap_paths[k], "heatmaps", expect=expect and expect.of("heatmaps")) \
            if heatmap_paths else None
        try:
            with h5io.open_artifact(path, "pseudolabels", expect=expect and expect.of("pseudolabels")) as pf:
                for s in snippets:
                    gt = ground_truth(s.gt, size, m.table)
                    offs, labels, _ = read_labels(pf, s.id)
                    a0 = list(offs).index(0)
                    add("pseudolabels", gt, labels[a0])
                    for name, lab in read_ablations(pf, s.id).items():
                        add(name, gt, lab)
                    secs.append(float(pf[s.id].attrs.get("seconds", np.nan)))
                    if hf is not None:
                        h_off, maps, _ = read_heatmaps(hf, s.id)
                        hm = maps[list(h_off).index(0)]
                        train = np.array([m.table.train_id(c) for c in m.classes], np.uint8)
                        add("heatmap_argmax_all", gt, train[hm.argmax(0)])
                        idx = [m.class_index(t) for t in dict.fromkeys(s.tags)]
                        add("heatmap_argmax_tagged", gt, train[np.asarray(idx)][hm[idx].argmax(0)])
                    n += 1
        finally:
            if hf is not None:
                hf.close()
    variants = {}
    for name in [*ORDER, *sorted(set(conf) - set(ORDER))]:
        if name not in conf:
            continue
        sc = scores(conf[name], table=m.table)
        variants[name] = {
            "description": DESCRIPTION.get(name, name),
            "miou": sc["miou"],
            "global_accuracy": sc["global_accuracy"],
            "coverage": covered[name][0] / max(covered[name][1], 1),
            "class_iou": sc["class_iou"],
        }
    out: dict[str, Any] = {"split": split, "n_snippets": n, "size": list(size),
                           "evaluated_at": "annotated frames, working size", "variants": variants}
    base = [variants[b]["miou"] for b in ("heatmap_argmax_all", "heatmap_argmax_tagged") if b in variants]
    if "full" in variants and base:
        out["gain_over_heatmap_argmax"] = {
            "full_miou": variants["full"]["miou"], "best_heatmap_argmax_miou": max(base),
            "points": 100.0 * (variants["full"]["miou"] - max(base))}
    out["seconds_per_snippet"] = float(np.nanmean(secs)) if secs else None
    return out


def write_quality(out_path: str | os.PathLike, manifest_path: str | os.PathLike,
                  pseudo_paths: Sequence[str | os.PathLike],
                  heatmap_paths: Sequence[str | os.PathLike] | None = None, *, split: str = "val",
                  provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`evaluate` and write the result as JSON to ``out_path``."""
    q = evaluate(manifest_path, pseudo_paths, heatmap_paths, split, provenance)
    h5io.write_json(out_path, q)
    for name, v in q["variants"].items():
        log.info("%-24s mIoU %.4f coverage %.3f", name, v["miou"] or float("nan"), v["coverage"])
    return q
