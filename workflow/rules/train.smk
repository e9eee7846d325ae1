"""Training of the two-stream network, one job per (dataset, variant) (Saleh et al. §3.2, §4.2)."""

from tagseg import plan


wildcard_constraints:
    variant="[A-Za-z0-9_]+(-seed[0-9]+)?",  # a variant, or one trained with its own seed


rule train:
    input:
        unpack(train_inputs),  # common.smk: with train.extra_datasets
    output:
        model="results/{dataset}/train/{variant}/model.pt",
        history="results/{dataset}/train/{variant}/train.json",
    params:
        cfg=lambda w: plan.train_config(config, w.variant, w.dataset),
        provenance=lambda w: plan.train_provenance(config, w.dataset, w.variant),
        offsets=config["frames"]["train_offsets"],
        seed=lambda w: plan.train_seed(config, w.variant),
        device=config["device"],
    log:
        "results/{dataset}/logs/train/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{variant}.tsv"
    threads: config["train"]["threads"]
    resources:
        mem_mb=8000,
        runtime=24 * 60,
        gpu=plan.gpu(config),
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/train.py"
