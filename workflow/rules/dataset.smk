"""Datasets: render the embedded synthcity dataset; write the manifest every stage reads."""


rule synthesize:
    output:
        "{root}/synthcity.json",
    params:
        synth=synth_params,
    log:
        "{root}.synthesize.log",
    benchmark:
        "{root}.synthesize.tsv"
    threads: lambda w: dataset_cfg(synth_dataset(w))["synth"]["workers"]
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/synthesize.py"


rule manifest:
    input:
        dataset_inputs,
    output:
        "results/{dataset}/manifest.json",
    params:
        dataset=lambda w: manifest_params(w.dataset),
    log:
        "results/{dataset}/logs/manifest.log",
    benchmark:
        "results/{dataset}/benchmarks/manifest.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/manifest.py"


# ---- datasets of kind webvideos: the retrieved clips (retrieval.smk) as a dataset ----
ruleorder: webvideos_manifest > manifest
ruleorder: webvideos_classifiers > classifiers


rule webvideos_manifest:
    wildcard_constraints:
        dataset=webvideos_pattern(),
    input:
        unpack(webvideos_inputs),
    output:
        "results/{dataset}/manifest.json",
    params:
        dataset=lambda w: dataset_params(w.dataset),
        offsets=plan.needed_offsets(config),
    log:
        "results/{dataset}/logs/manifest.log",
    benchmark:
        "results/{dataset}/benchmarks/manifest.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/webvideos_manifest.py"


rule webvideos_classifiers:
    wildcard_constraints:
        dataset=webvideos_pattern(),
    input:
        unpack(webvideos_classifier),
    output:
        model="results/{dataset}/classifiers/model.pt",
        accuracy="results/{dataset}/classifiers/accuracy.json",
    log:
        "results/{dataset}/logs/classifiers/train.log",
    benchmark:
        "results/{dataset}/benchmarks/classifiers/train.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/webvideos_classifiers.py"


# ---- train.extra_datasets: the target's manifest + the extra datasets' train snippets ----
rule training_manifest:
    input:
        unpack(training_manifest_inputs),
    output:
        "results/{dataset}/train/{variant}/manifest.json",
    params:
        extra=lambda w: plan.extra_datasets(config, w.dataset, w.variant),
        own=lambda w: "own" in plan.train_on(plan.variant(config, w.variant)),
    log:
        "results/{dataset}/logs/train/{variant}-manifest.log",
    benchmark:
        "results/{dataset}/benchmarks/train/{variant}-manifest.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/training_manifest.py"
