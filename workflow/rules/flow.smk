"""Optical flow: TV-L1 forward flows for the flow stacks of Saleh et al. §3.2, one job per shard
(backend opencv or torch, config `flow`); EPE against ground truth on val (synthcity)."""

from tagseg import provenance as prov


rule flow:
    input:
        manifest=manifest_path,
    output:
        "results/{dataset}/flow/{split}/shard-{shard}.h5",
    params:
        cfg=lambda w: prov.stage_config(config, "flow"),
        provenance=lambda w: prov.rule_param(config, w.dataset, "flow"),
        centers=lambda w: config["frames"]["train_offsets"],
        device=config["device"],
    log:
        "results/{dataset}/logs/flow/{split}-{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/flow/{split}-{shard}.tsv"
    threads: config["flow"]["threads"]
    resources:
        mem_mb=4000,
        runtime=360,
        gpu=flow_gpu(),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/flow.py"


rule flow_quality:
    input:
        manifest=manifest_path,
        flow=lambda w: shard_paths("flow", w.dataset, "val"),
    output:
        "results/{dataset}/flow/quality.json",
    params:
        cfg=lambda w: config["flow"],
        provenance=lambda w: prov.rule_param(config, w.dataset, "flow"),
    log:
        "results/{dataset}/logs/flow/quality.log",
    benchmark:
        "results/{dataset}/benchmarks/flow/quality.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/flow_quality.py"
