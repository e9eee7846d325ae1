"""Shared wildcards, config accessors and input functions for every stage."""

from pathlib import Path


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    split="train|val",
    shard="[0-9]+",


def dataset_cfg(dataset):
    """Config section of ``dataset``; an unknown name fails naming the key to add."""
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r} in the target path: add it under config key "
            f"'datasets' (known: {', '.join(config['datasets'])})"
        )


def n_shards(dataset, split):
    return dataset_cfg(dataset)["shards"][split]


def shard_paths(stage, dataset, split):
    """All per-shard artifacts of ``stage`` for one split of ``dataset``."""
    return [
        f"results/{dataset}/{stage}/{split}/shard-{i}.h5"
        for i in range(n_shards(dataset, split))
    ]


def synth_marker(dataset):
    """The file the `synthesize` rule writes last (synthcity datasets only)."""
    return str(Path(dataset_cfg(dataset)["root"]) / "synthcity.json")


def dataset_inputs(wildcards):
    """Inputs of the `manifest` rule: the rendered dataset for synthcity, nothing otherwise."""
    cfg = dataset_cfg(wildcards.dataset)
    return [synth_marker(wildcards.dataset)] if cfg["kind"] == "synthcity" else []


def manifest_path(wildcards):
    return f"results/{wildcards.dataset}/manifest.json"
