"""Extra training data (config ``train.extra_datasets``): a target's training manifest.

A target dataset trains on its own train snippets plus the train snippets of every dataset in
``train.extra_datasets`` (e.g. ``synthcity_web``, kind ``webvideos``). The rule ``train`` then
reads ``results/{dataset}/train/{variant}/manifest.json`` (rule ``training_manifest``): the
target's manifest with the extra snippets appended, each renumbered to shard
``offset + its own shard``, where ``offset`` is the number of train shards listed before its
dataset. The train rule's shard lists are concatenated in the same order (target first, then
the extras in config order, :func:`tagseg.plan.train_inputs`), so ``snippet.shard`` indexes
them as for any manifest.

Extra snippets keep their own artifacts' size; ``extra["size"]`` records it and
:class:`tagseg.train.data.FrameDataset` resizes their frames, flow stacks (vectors scaled),
heatmaps and pseudo-labels to the target's working size. ``extra["dataset"]`` names the source.

A variant with the ``gt`` loss (``oracle``) cannot use a dataset without ground truth
(``webvideos``): such datasets are skipped for it, and the skip is logged by
``training_manifest`` (which datasets a variant uses: :func:`tagseg.plan.extra_datasets`).

Torch-free: imported when the Snakefile is parsed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .manifest import Manifest, ManifestError

log = logging.getLogger(__name__)

NO_GROUND_TRUTH = ("webvideos",)
"""Dataset kinds whose snippets have no ground-truth labels."""


def has_ground_truth(dataset_cfg: Mapping[str, Any]) -> bool:
    return dataset_cfg["kind"] not in NO_GROUND_TRUTH


def combine(target: Manifest, extras: Sequence[Manifest], own: bool = True) -> Manifest:
    """``target`` with the train snippets of ``extras`` appended (see the module docstring).

    The class tables must be equal; snippet ids must not collide. ``shards['train']`` becomes
    the total number of train shards. ``own=False`` (a variant with ``train_on: [extra]``,
    e.g. Hong et al.'s videos-only model): the target's train snippets are left out and the
    extras' shards are numbered from 0; its other splits stay.
    """
    snippets = list(target.snippets) if own else [s for s in target.snippets if s.split != "train"]
    ids = {s.id for s in snippets}
    offset = int(target.shards["train"]) if own else 0
    for m in extras:
        if list(m.classes) != list(target.classes) or m.table != target.table:
            raise ManifestError(f"extra dataset {m.dataset!r} has class table {m.table.name} "
                                f"{m.classes}, the target {target.dataset!r} has "
                                f"{target.table.name} {target.classes}; they must be equal")
        n = int(m.shards.get("train", 0))
        for s in m.split("train"):
            if s.id in ids:
                raise ManifestError(f"extra dataset {m.dataset!r}: snippet id {s.id} is also in "
                                    f"{target.dataset!r} or an earlier extra dataset")
            ids.add(s.id)
            snippets.append(replace(s, shard=offset + s.shard, extra={
                **s.extra, "dataset": m.dataset, "size": list(m.size), "shard": s.shard}))
        offset += n
    shards = {**target.shards, "train": offset}
    return replace(target, shards=shards, snippets=snippets)


def run_training_manifest(target: str, extras: Sequence[str], skipped: Mapping[str, str],
                          out: str, own: bool = True) -> Manifest:
    """Rule ``training_manifest``: combine the manifests, log skipped datasets, write ``out``
    (``own``: with the target's train snippets)."""
    from .manifest import load

    for name, reason in skipped.items():
        log.warning("skipping extra dataset %s: %s", name, reason)
    mine = load(target)
    m = combine(mine, [load(p) for p in extras], own)
    if not m.split("train"):
        raise ManifestError(f"training manifest of {mine.dataset!r}: no train snippets (the "
                            "variant trains on extra datasets only and none is set: config key "
                            f"datasets.{mine.dataset}.extra_datasets)")
    n0 = len(mine.split("train")) if own else 0
    log.info("training manifest of %s: %d own + %d extra train snippets (%s)", m.dataset, n0,
             len(m.split("train")) - n0, ", ".join(extras) or "no extra datasets")
    m.save(out)
    return m
