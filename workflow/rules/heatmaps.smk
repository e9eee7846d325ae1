"""Classifier heatmaps (Saleh et al. §3.1, Hong et al. §3.1-3.2): train the CAM classifier on
iconic images, heatmaps of every needed frame per shard, quality on the val split."""

from tagseg import plan
from tagseg import provenance as prov


rule classifiers:
    input:
        manifest=manifest_path,
    output:
        model="results/{dataset}/classifiers/model.pt",
        accuracy="results/{dataset}/classifiers/accuracy.json",
    params:
        cfg=lambda w: {k: plan.heatmaps_config(config, w.dataset)[k] for k in ("heads", "imagenet", "cam")},
        seed=config["seed"],
        device=config["device"],
    log:
        "results/{dataset}/logs/classifiers/train.log",
    benchmark:
        "results/{dataset}/benchmarks/classifiers/train.tsv"
    threads: config["heatmaps"]["threads"]
    resources:
        mem_mb=4000,
        runtime=12 * 60,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/classifiers.py"


rule heatmaps:
    input:
        manifest=manifest_path,
        model="results/{dataset}/classifiers/model.pt",
    output:
        "results/{dataset}/heatmaps/{split}/shard-{shard}.h5",
    params:
        # every key that changes the maps (not threads, not the quality threshold)
        cfg=lambda w: prov.stage_config(config, "heatmaps", w.dataset),
        provenance=lambda w: prov.rule_param(config, w.dataset, "heatmaps"),
        offsets=lambda w: plan.dataset_offsets(config, w.dataset),
        device=config["device"],
    log:
        "results/{dataset}/logs/heatmaps/{split}-{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/heatmaps/{split}-{shard}.tsv"
    threads: config["heatmaps"]["threads"]
    resources:
        mem_mb=4000,
        runtime=4 * 60,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/heatmaps.py"


rule heatmaps_quality:
    input:
        manifest=manifest_path,
        heatmaps=lambda w: shard_paths("heatmaps", w.dataset, "val"),
    output:
        "results/{dataset}/heatmaps/quality.json",
    params:
        threshold=config["heatmaps"]["mask_threshold"],
        provenance=lambda w: prov.rule_param(config, w.dataset, "heatmaps"),
    log:
        "results/{dataset}/logs/heatmaps/quality.log",
    benchmark:
        "results/{dataset}/benchmarks/heatmaps/quality.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/heatmaps_quality.py"
