"""Image datasets (kind voc, Hong et al. 2017): the classifier trained on a dataset's own
tagged images (datasets.{name}.classifier: tags) and the domain-adaptation labels of its train
images (variants with adapt_from)."""

from tagseg import plan
from tagseg import provenance as prov


ruleorder: tagged_classifiers > classifiers


rule tagged_classifiers:
    wildcard_constraints:
        dataset=tags_classifier_pattern(),
    input:
        manifest=manifest_path,
    output:
        model="results/{dataset}/classifiers/model.pt",
        accuracy="results/{dataset}/classifiers/accuracy.json",
    params:
        cfg=lambda w: {k: plan.heatmaps_config(config, w.dataset)[k] for k in ("cam", "imagenet")},
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
        "../scripts/tagged_classifiers.py"


rule adapt_labels:
    input:
        manifest=manifest_path,
        model="results/{dataset}/train/{source}/model.pt",
    output:
        "results/{dataset}/adapt/{source}/labels/train/shard-{shard}.h5",
    params:
        cfg=lambda w: prov.stage_config(config, "pseudolabels"),
        provenance=lambda w: prov.rule_param(config, w.dataset, "pseudolabels"),
        device=config["device"],
    log:
        "results/{dataset}/logs/adapt/{source}-{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/adapt/{source}-{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/adapt_labels.py"
