"""Web video retrieval (Hong et al. 2017, §4; relevant runs §3.2), optional per dataset.

One job per (dataset, class) and stage: search -> thumbnails -> download -> keyframes -> clips.
Videos are cached in results/{dataset}/retrieval/videos/{cls}/ with a yt-dlp download archive
(not a rule output, so a rerun skips finished downloads). On synthcity the web videos are
rendered by `retrieval_webvideos` and `retrieval_quality` scores every filter against truth.
With `retrieval.local` (config/realfootage.yaml) the search results are video files on disk,
catalogued with labelled time spans by `retrieval_local_catalogue`, and scored the same way.

    snakemake --cores 2 results/synthcity/retrieval/quality.json
    snakemake --cores 2 results/synthcity/retrieval/clips/car.h5
"""


rule retrieval_webvideos:
    input:
        webvideos_after_render,  # common.smk: a render replaces its whole root, so it goes first
    output:
        catalogue="{root}/web/catalogue.json",
        truth="{root}/web/truth.json",
    params:
        cfg=lambda w: plan.web_render_config(config, synth_dataset(w)),
    log:
        "logs/retrieval_webvideos/{root}.log",
    benchmark:
        "benchmarks/retrieval_webvideos/{root}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_webvideos.py"


rule retrieval_local_catalogue:
    output:
        catalogue="results/{dataset}/retrieval/local/catalogue.json",
        truth="results/{dataset}/retrieval/local/truth.json",
    params:
        cfg=lambda w: {k: retrieval_cfg(w)[k] for k in ("classes", "keywords", "local")},
    log:
        "results/{dataset}/logs/retrieval/local_catalogue.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/local_catalogue.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_local_catalogue.py"


rule retrieval_search:
    input:
        manifest=manifest_path,
        catalogue=retrieval_catalogue,
    output:
        "results/{dataset}/retrieval/search/{cls}.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        index=retrieval_index,
    log:
        "results/{dataset}/logs/retrieval/search-{cls}.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/search-{cls}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_search.py"


rule retrieval_thumbnails:
    input:
        unpack(retrieval_checkpoint),
        manifest=manifest_path,
        search="results/{dataset}/retrieval/search/{cls}.json",
    output:
        "results/{dataset}/retrieval/thumbnails/{cls}.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        device=config["device"],
        heatmaps=lambda w: plan.heatmaps_config(config, w.dataset),
    log:
        "results/{dataset}/logs/retrieval/thumbnails-{cls}.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/thumbnails-{cls}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_thumbnails.py"


rule retrieval_download:
    input:
        thumbnails="results/{dataset}/retrieval/thumbnails/{cls}.json",
    output:
        "results/{dataset}/retrieval/download/{cls}.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        video_dir=lambda w: plan.video_dir(w.dataset, w.cls),
    log:
        "results/{dataset}/logs/retrieval/download-{cls}.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/download-{cls}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_download.py"


rule retrieval_keyframes:
    input:
        unpack(retrieval_checkpoint),
        manifest=manifest_path,
        download="results/{dataset}/retrieval/download/{cls}.json",
    output:
        "results/{dataset}/retrieval/keyframes/{cls}.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        device=config["device"],
        heatmaps=lambda w: plan.heatmaps_config(config, w.dataset),
    log:
        "results/{dataset}/logs/retrieval/keyframes-{cls}.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/keyframes-{cls}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_keyframes.py"


rule retrieval_clips:
    input:
        unpack(retrieval_checkpoint),
        manifest=manifest_path,
        keyframes="results/{dataset}/retrieval/keyframes/{cls}.json",
    output:
        h5="results/{dataset}/retrieval/clips/{cls}.h5",
        json="results/{dataset}/retrieval/clips/{cls}.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        device=config["device"],
        heatmaps=lambda w: plan.heatmaps_config(config, w.dataset),
    log:
        "results/{dataset}/logs/retrieval/clips-{cls}.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/clips-{cls}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_clips.py"


rule retrieval_quality:
    input:
        truth=retrieval_truth,
        search=retrieval_class_files("search"),
        thumbnails=retrieval_class_files("thumbnails"),
        download=retrieval_class_files("download"),
        keyframes=retrieval_class_files("keyframes"),
        clips=retrieval_class_files("clips"),
    output:
        "results/{dataset}/retrieval/quality.json",
    params:
        cfg=lambda w: retrieval_cfg(w),
        results=lambda w: plan.retrieval_dir(w.dataset),
    log:
        "results/{dataset}/logs/retrieval/quality.log",
    benchmark:
        "results/{dataset}/benchmarks/retrieval/quality.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/retrieval_quality.py"
