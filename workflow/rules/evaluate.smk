"""Scores: per variant (raw and CRF), the default variant as metrics.json, and the ablation table."""

from tagseg import plan


rule evaluate_variant:
    input:
        manifest=manifest_path,
        raw="results/{dataset}/predict/{variant}/raw",
        crf="results/{dataset}/predict/{variant}/crf",
    output:
        "results/{dataset}/evaluate/{variant}.json",
    params:
        split=config["predict"]["split"],
    log:
        "results/{dataset}/logs/evaluate/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate/{variant}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/evaluate.py"


rule evaluate:
    input:
        lambda w: plan.evaluate_path(w.dataset, plan.default_variant(config, w.dataset)),
    output:
        report(
            "results/{dataset}/metrics.json",
            caption="../report/scores.rst",
            category="5. Score files",
            labels={"dataset": "{dataset}", "file": "metrics.json"},
        ),
    params:
        variant=lambda w: plan.default_variant(config, w.dataset),
    log:
        "results/{dataset}/logs/evaluate/metrics.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate/metrics.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/evaluate_default.py"


rule evaluate_test_variant:
    input:
        manifest=manifest_path,
        raw="results/{dataset}/predict_test/{variant}/raw",
        crf="results/{dataset}/predict_test/{variant}/crf",
    output:
        "results/{dataset}/evaluate_test/{variant}.json",
    params:
        split=plan.TEST_SPLIT,
    log:
        "results/{dataset}/logs/evaluate_test/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate_test/{variant}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/evaluate.py"


rule evaluate_test:
    """The default variant on the test split (kinds with public test labels: camvid)."""
    input:
        lambda w: plan.evaluate_test_path(w.dataset, plan.default_variant(config, w.dataset)),
    output:
        report(
            "results/{dataset}/metrics_test.json",
            caption="../report/scores.rst",
            category="5. Score files",
            labels={"dataset": "{dataset}", "file": "metrics_test.json"},
        ),
    params:
        variant=lambda w: plan.default_variant(config, w.dataset),
    log:
        "results/{dataset}/logs/evaluate_test/metrics.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate_test/metrics.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/evaluate_default.py"


rule ablation:
    input:
        lambda w: [plan.evaluate_path(w.dataset, v) for v in plan.ablation_variants(config, w.dataset)],
    output:
        json=report(
            "results/{dataset}/ablation.json",
            caption="../report/scores.rst",
            category="5. Score files",
            labels={"dataset": "{dataset}", "file": "ablation.json"},
        ),
        md=report(
            "results/{dataset}/ablation.md",
            caption="../report/scores.rst",
            category="5. Score files",
            labels={"dataset": "{dataset}", "file": "ablation.md"},
        ),
    params:
        variants=lambda w: plan.ablation_variants(config, w.dataset),
        default=lambda w: plan.default_variant(config, w.dataset),
    log:
        "results/{dataset}/logs/evaluate/ablation.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate/ablation.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/ablation.py"


rule ablation_seeds:
    input:
        lambda w: [plan.evaluate_path(w.dataset, run) for _, _, run in plan.seed_runs(config)],
    output:
        json="results/{dataset}/ablation_seeds.json",
        md="results/{dataset}/ablation_seeds.md",
    params:
        runs=lambda w: [[v, k] for v, k, _ in plan.seed_runs(config)],
        default=lambda w: plan.default_variant(config, w.dataset),
    log:
        "results/{dataset}/logs/evaluate/ablation_seeds.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate/ablation_seeds.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/ablation_seeds.py"

