"""Inference of a trained variant on the scored split: raw and dense-CRF labelId PNGs, overlays."""

from tagseg import plan


rule predict:
    input:
        unpack(lambda w: plan.predict_inputs(config, w.dataset, w.variant)),
    output:
        raw=directory("results/{dataset}/predict/{variant}/raw"),
        crf=directory("results/{dataset}/predict/{variant}/crf"),
        overlay=directory("results/{dataset}/predict/{variant}/overlay"),
        timing="results/{dataset}/predict/{variant}/timing.json",
    params:
        cfg=lambda w: config["predict"],
        provenance=lambda w: plan.predict_provenance(config, w.dataset, w.variant),
        backbone=lambda w: plan.train_section(config, w.dataset)["model"]["backbone"],
        device=config["device"],
    log:
        "results/{dataset}/logs/predict/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/predict/{variant}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/predict.py"


rule predict_test:
    """The test split of a kind with public test labels (plan.TEST_LABEL_KINDS: camvid), apart
    from predict.split: same model, same settings."""
    input:
        unpack(lambda w: plan.predict_inputs(config, w.dataset, w.variant, split=plan.TEST_SPLIT)),
    output:
        raw=directory("results/{dataset}/predict_test/{variant}/raw"),
        crf=directory("results/{dataset}/predict_test/{variant}/crf"),
        overlay=directory("results/{dataset}/predict_test/{variant}/overlay"),
        timing="results/{dataset}/predict_test/{variant}/timing.json",
    params:
        cfg=lambda w: config["predict"],
        split=plan.TEST_SPLIT,
        provenance=lambda w: plan.predict_provenance(config, w.dataset, w.variant),
        backbone=lambda w: plan.train_section(config, w.dataset)["model"]["backbone"],
        device=config["device"],
    log:
        "results/{dataset}/logs/predict_test/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/predict_test/{variant}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/predict.py"
