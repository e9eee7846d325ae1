"""Datasets: render the embedded synthcity dataset; write the manifest every stage reads."""


rule synthesize:
    output:
        "{root}/synthcity.json",
    params:
        synth=lambda w: dataset_cfg(synth_dataset(w)).get("synth", {}),
    log:
        "{root}.synthesize.log",
    benchmark:
        "{root}.synthesize.tsv"
    threads: lambda w: dataset_cfg(synth_dataset(w)).get("synth", {}).get("workers", 1)
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
        dataset=lambda w: dataset_cfg(w.dataset),
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
