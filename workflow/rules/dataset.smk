"""Datasets: render the embedded synthcity dataset; write the manifest every stage reads."""


def synth_dataset(wildcards):
    """Name of the synthcity dataset whose root is ``wildcards.root``."""
    for name, cfg in config["datasets"].items():
        if cfg["kind"] == "synthcity" and cfg["root"] == wildcards.root:
            return name
    raise ValueError(f"no synthcity dataset in config has root {wildcards.root!r}")


rule synthesize:
    output:
        "{root}/synthcity.json",
    params:
        synth=lambda w: dataset_cfg(synth_dataset(w)).get("synth", {}),
    log:
        "logs/synthesize/{root}.log",
    threads: lambda w: dataset_cfg(synth_dataset(w)).get("synth", {}).get("workers", 1)
    resources:
        mem_mb=2000,
        runtime=30,
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
    script:
        "../scripts/manifest.py"
