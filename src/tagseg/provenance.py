"""What the current config says each stage's HDF5 artifacts must be made from.

Every stage's artifact records its dataset, the manifest it was made from and a *chain*
{stage: config hash} of its own stage and every stage before it (:mod:`tagseg.h5io`). The
hashed section of each stage is :func:`stage_config`, which is also the rule's ``cfg`` param,
so changing any hashed key makes Snakemake rerun that stage (and what follows) before a
reader compares hashes.

A rule passes :func:`rule_param` (``params: provenance=...``) to its script; the script turns
it into :class:`Expectations`, which writers record and readers check (one line naming the
file and the ``--forcerun`` rule on a mismatch). Torch-free: imported when the Snakefile is
parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .h5io import Provenance, config_hash, manifest_digest
from .plan import heatmaps_config

UPSTREAM: dict[str, tuple[str, ...]] = {
    "flow": (),
    "heatmaps": (),
    "pseudolabels": ("flow", "heatmaps"),
}
"""HDF5 stages (the rules are named after them) and the HDF5 stages each is made from."""

# Keys of a stage's section that do not change its artifacts (threads; a quality threshold).
_NOT_HASHED = {"flow": ("threads",), "heatmaps": ("threads", "mask_threshold"), "pseudolabels": ()}


def stage_config(config: Mapping[str, Any], stage: str, dataset: str | None = None) -> dict[str, Any]:
    """The part of ``config[stage]`` that determines the stage's artifacts (the rule's ``cfg``);
    with ``dataset``, its own ``heatmaps`` keys laid over the section
    (:func:`tagseg.plan.heatmaps_config`)."""
    if stage not in UPSTREAM:
        raise ValueError(f"no provenance for stage {stage!r} (known: {', '.join(UPSTREAM)})")
    section = heatmaps_config(config, dataset) if stage == "heatmaps" else config[stage]
    return {k: v for k, v in section.items() if k not in _NOT_HASHED[stage]}


def chain(config: Mapping[str, Any], stage: str, dataset: str | None = None) -> dict[str, str]:
    """{stage: config hash} of ``stage`` and the stages it is made from, upstream first."""
    return {s: config_hash(stage_config(config, s, dataset)) for s in (*UPSTREAM[stage], stage)}


def rule_param(config: Mapping[str, Any], dataset: str, *stages: str,
               others: Sequence[str] = ()) -> dict[str, Any]:
    """A rule's ``provenance`` param: the dataset and the config hashes of ``stages`` (the ones
    the rule writes or reads) and of every stage they are made from; ``others``: datasets whose
    shards the rule also reads (``train.extra_datasets``), whose hashes may differ (a dataset's
    own ``heatmaps`` keys), under ``"others"``."""
    def hashes_of(name: str) -> dict[str, str]:
        hashes: dict[str, str] = {}
        for stage in stages:
            hashes.update(chain(config, stage, name))
        return hashes

    param: dict[str, Any] = {"dataset": dataset, "hashes": hashes_of(dataset)}
    if others:
        param["others"] = {d: hashes_of(d) for d in others if d != dataset}
    return param


@dataclass(frozen=True)
class Expectations:
    """A rule's ``provenance`` param at job time, with the manifest the job reads."""

    dataset: str
    hashes: Mapping[str, str]
    manifest: str | None = None
    others: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_param(cls, param: Mapping[str, Any],
                   manifest: Any = None) -> Expectations:
        """From :func:`rule_param`'s value; ``manifest`` (a Manifest or its path) is the one the
        job reads (None: the manifest is not checked)."""
        digest = manifest_digest(manifest) if manifest is not None else None
        return cls(str(param["dataset"]), dict(param["hashes"]), digest,
                   {d: dict(h) for d, h in (param.get("others") or {}).items()})

    def of(self, stage: str, dataset: str | None = None) -> Provenance:
        """What an artifact of ``stage`` must record; ``dataset`` (another dataset's shards, e.g.
        ``train.extra_datasets``) skips the manifest check."""
        own = dataset is None or dataset == self.dataset
        hashes = self.hashes if own else self.others.get(str(dataset), self.hashes)
        missing = [s for s in (*UPSTREAM[stage], stage) if s not in hashes]
        if missing:
            raise ValueError(f"the rule's provenance param has no config hash of {missing}")
        return Provenance(self.dataset if dataset is None else dataset,
                          {s: hashes[s] for s in (*UPSTREAM[stage], stage)},
                          self.manifest if own else None)

