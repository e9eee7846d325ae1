"""Pseudo-labels: superpixel graph + attention / appearance / motion unaries + Potts graph cut
(Hong et al. 2017, §3.2), one job per shard; quality on the val split."""

from tagseg import plan
from tagseg import provenance as prov


rule pseudolabels:
    input:
        unpack(pseudolabels_inputs),  # common.smk: no flow for still images
    output:
        "results/{dataset}/pseudolabels/{split}/shard-{shard}.h5",
    params:
        cfg=lambda w: prov.stage_config(config, "pseudolabels"),
        provenance=lambda w: prov.rule_param(config, w.dataset, "pseudolabels"),
        L=lambda w: plan.flow_L(config),
        seed=config["seed"],
    log:
        "results/{dataset}/logs/pseudolabels/{split}-{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/pseudolabels/{split}-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/pseudolabels.py"


rule pseudolabels_quality:
    input:
        manifest=manifest_path,
        pseudolabels=lambda w: shard_paths("pseudolabels", w.dataset, "val"),
        heatmaps=lambda w: shard_paths("heatmaps", w.dataset, "val"),
    output:
        "results/{dataset}/pseudolabels/quality.json",
    params:
        cfg=lambda w: config["pseudolabels"],
        provenance=lambda w: prov.rule_param(config, w.dataset, "pseudolabels"),
    log:
        "results/{dataset}/logs/pseudolabels/quality.log",
    benchmark:
        "results/{dataset}/benchmarks/pseudolabels/quality.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/pseudolabels_quality.py"
