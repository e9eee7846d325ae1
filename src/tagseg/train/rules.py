"""Config accessors and input functions for the train / predict / evaluate rules.

Kept in the library (not in the .smk files) so the rule files hold rules only and these
functions are testable; each takes the Snakemake ``config`` dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STAGE_OF_INPUT = {"flow": "flow", "heatmaps": "heatmaps", "pseudo": "pseudolabels"}


def variant(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Config section ``train.variants.{name}``; an unknown name fails naming the key."""
    try:
        return dict(config["train"]["variants"][name])
    except KeyError:
        raise ValueError(
            f"unknown variant {name!r}: add it under config key 'train.variants' "
            f"(known: {', '.join(config['train']['variants'])})"
        ) from None


def default_variant(config: Mapping[str, Any]) -> str:
    """``train.variant``, checked to exist."""
    v = config["train"]["variant"]
    variant(config, v)
    return v


def ablation_variants(config: Mapping[str, Any]) -> list[str]:
    """``train.ablation``, each checked to exist."""
    for v in config["train"]["ablation"]:
        variant(config, v)
    return list(config["train"]["ablation"])


def run_config(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """What training ``name`` depends on: the shared ``train`` keys and its own variant section
    (so editing another variant, ``variant`` or ``ablation`` does not rerun it);
    ``model.flow_L: null`` resolved to ``flow.L``."""
    cfg = {k: v for k, v in config["train"].items() if k not in ("variants", "variant", "ablation")}
    cfg["variants"] = {name: variant(config, name)}
    model = dict(cfg["model"])
    if model.get("flow_L") is None:
        model["flow_L"] = int(config.get("flow", {}).get("L", 10))
    cfg["model"] = model
    return cfg


def shard_paths(config: Mapping[str, Any], stage: str, dataset: str, split: str) -> list[str]:
    n = config["datasets"][dataset]["shards"][split]
    return [f"results/{dataset}/{stage}/{split}/shard-{i}.h5" for i in range(n)]


def train_inputs(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Named inputs of rule ``train``: manifest, and the shards the variant reads."""
    v = variant(config, name)
    d: dict[str, Any] = {"manifest": f"results/{dataset}/manifest.json"}
    if v["two_stream"]:
        d["flow"] = shard_paths(config, "flow", dataset, "train")
    if "heatmap" in v["losses"]:
        d["heatmaps"] = shard_paths(config, "heatmaps", dataset, "train")
    if "pseudo" in v["losses"]:
        d["pseudo"] = shard_paths(config, "pseudolabels", dataset, "train")
    if config["train"]["model"].get("init") == "classifiers":
        d["init"] = f"results/{dataset}/classifiers/model.pt"
    return d


def predict_inputs(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Named inputs of rule ``predict``: manifest, model, and flow shards of the scored split."""
    d: dict[str, Any] = {"manifest": f"results/{dataset}/manifest.json",
                         "model": f"results/{dataset}/train/{name}/model.pt"}
    if variant(config, name)["two_stream"]:
        d["flow"] = shard_paths(config, "flow", dataset, config["predict"]["split"])
    return d


def train_provenance(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Rule ``train``'s ``provenance`` param: config hashes of the stages whose shards it reads."""
    from ..provenance import rule_param

    inputs = train_inputs(config, dataset, name)
    return rule_param(config, dataset, *(s for k, s in STAGE_OF_INPUT.items() if k in inputs))


def predict_provenance(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Rule ``predict``'s ``provenance`` param: the flow stage's config hash for a two-stream variant."""
    from ..provenance import rule_param

    return rule_param(config, dataset, *(("flow",) if variant(config, name)["two_stream"] else ()))


def gpu(config: Mapping[str, Any]) -> int:
    """``resources: gpu`` of the torch rules: 0 on ``device: cpu``, else 1."""
    return 0 if config["device"] == "cpu" else 1
