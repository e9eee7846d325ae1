"""Shared wildcards, config accessors and input functions for every stage."""

import re as _re
from pathlib import Path

from tagseg.config import retrieval_config
from tagseg.datasets import extra as extra_data
from tagseg.datasets import listing as dataset_listing
from tagseg.datasets import webvideos as webvideos_data
from tagseg.frames import needed_offsets
from tagseg.train import rules as train_rules


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    split="train|val",
    shard="[0-9]+",


def dataset_cfg(dataset):
    """Config section of ``dataset``; an unknown name fails naming the key to add."""
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r} in the target path: add it under config key "
            f"'datasets' (known: {', '.join(config['datasets'])})"
        )


def n_shards(dataset, split):
    return dataset_cfg(dataset)["shards"][split]


def shard_paths(stage, dataset, split):
    """All per-shard artifacts of ``stage`` for one split of ``dataset``."""
    return [
        f"results/{dataset}/{stage}/{split}/shard-{i}.h5"
        for i in range(n_shards(dataset, split))
    ]


def synth_marker(dataset):
    """The file the `synthesize` rule writes last (synthcity datasets only)."""
    return str(Path(dataset_cfg(dataset)["root"]) / "synthcity.json")


_listed = {}  # dataset -> its file list, written once per Snakemake process


def dataset_inputs(wildcards):
    """Inputs of the `manifest` rule: the rendered dataset for synthcity (its marker file, which
    rule `synthesize` writes last); for a tree the user unpacked, its file list, rewritten here
    (at DAG build) only when the tree changed, so that Snakemake reruns the manifest and what
    depends on it exactly then (tagseg.datasets.listing)."""
    cfg = dataset_cfg(wildcards.dataset)
    if cfg["kind"] == "synthcity":
        return [synth_marker(wildcards.dataset)]
    if wildcards.dataset not in _listed:
        path = dataset_listing.listing_path(wildcards.dataset)
        if dataset_listing.update(cfg["root"], list(cfg["shards"]), path):
            _exists_now(path)
        _listed[wildcards.dataset] = path
    return [_listed[wildcards.dataset]]


def _exists_now(path):
    """Tell Snakemake's file-existence cache (filled when the DAG build starts, before this input
    function wrote ``path``) that ``path`` exists now."""
    exists = getattr(getattr(workflow, "iocache", None), "exists_local", None)
    if isinstance(exists, dict):
        exists[path] = True


def manifest_path(wildcards):
    return f"results/{wildcards.dataset}/manifest.json"


# ---- synthcity (dataset.smk) ----
def synth_dataset(wildcards):
    """Name of the synthcity dataset whose root is ``wildcards.root``."""
    for name, cfg in config["datasets"].items():
        if cfg["kind"] == "synthcity" and cfg["root"] == wildcards.root:
            return name
    raise ValueError(f"no synthcity dataset in config has root {wildcards.root!r}")


# ---- checks before the first job runs (Snakefile `onstart`; dry runs skip them) ----
def preflight():
    """Stop with one line before any job runs when a folder the planned jobs write is not
    writable, or a synthcity root to render holds files tagseg did not write."""
    from tagseg.fsutil import writable_problem

    jobs = list(workflow.dag.needrun_jobs())
    paths = [str(f) for j in jobs for f in (*j.output, *j.log, *([j.benchmark] if j.benchmark else []))]
    synth = [j.wildcards for j in jobs if j.rule.name == "synthesize"]
    problem = writable_problem(paths + [w.root for w in synth])  # a root's parent takes the render
    if problem is None and synth:
        from synthcity import RootNotOurs, check_root

        for w in synth:
            try:
                check_root(w.root, key=f"datasets.{synth_dataset(w)}.root")
            except RootNotOurs as e:
                problem = str(e)
                break
    if problem:
        sys.exit(problem)


# ---- flow (flow.smk) ----
def flow_gpu():
    """1 when the torch backend may run on CUDA (config `device` not cpu), else 0."""
    return int(config["flow"]["backend"] == "torch" and config["device"] != "cpu")


# ---- web video retrieval (retrieval.smk) ----
wildcard_constraints:
    cls="[a-z_]+",


def dataset_params(dataset):
    """Config section of ``dataset`` less its ``retrieval`` keys, which only the retrieval rules
    read (changing a retrieval threshold must not rebuild the manifest and all after it)."""
    return {k: v for k, v in dataset_cfg(dataset).items() if k != "retrieval"}


def retrieval_cfg(wildcards=None):
    """Config section `retrieval`, with the dataset's own `datasets.{dataset}.retrieval` keys
    laid over it when the job has a {dataset} wildcard."""
    dataset = getattr(wildcards, "dataset", None)
    if dataset is not None:
        dataset_cfg(dataset)  # an unknown dataset fails here, naming the key
    return retrieval_config(config, dataset)


def local_catalogue_dir(dataset):
    """Where `retrieval_local_catalogue` writes a dataset's catalogue of local videos."""
    return f"results/{dataset}/retrieval/local"


def retrieval_index(wildcards):
    """Catalogue the `index` backend reads: the local videos' when `retrieval.local` is set,
    else `retrieval.index`, else (synthcity) the rendered web catalogue; None for youtube."""
    cfg, ds = retrieval_cfg(wildcards), dataset_cfg(wildcards.dataset)
    if cfg["backend"] != "index":
        return None
    if cfg.get("local"):
        return f"{local_catalogue_dir(wildcards.dataset)}/catalogue.json"
    if cfg.get("index"):
        return str(cfg["index"])
    if ds["kind"] == "synthcity":
        return f"{ds['root']}/web/catalogue.json"
    return None


def retrieval_catalogue(wildcards):
    """The catalogue file when a rule of this workflow writes it (rendered web videos, local videos)."""
    cfg, ds = retrieval_cfg(wildcards), dataset_cfg(wildcards.dataset)
    if cfg["backend"] == "index" and cfg.get("local"):
        return [f"{local_catalogue_dir(wildcards.dataset)}/catalogue.json"]
    if cfg["backend"] == "index" and not cfg.get("index") and ds["kind"] == "synthcity":
        return [f"{ds['root']}/web/truth.json"]
    return []


def retrieval_checkpoint(wildcards):
    """The classifiers checkpoint when `retrieval.scorer` is 'classifiers'."""
    if retrieval_cfg(wildcards)["scorer"] == "classifiers":
        return {"checkpoint": f"results/{wildcards.dataset}/classifiers/model.pt"}
    return {}


def retrieval_truth(wildcards):
    """Truth of `retrieval_quality`: the labelled spans of `retrieval.local`, or synthcity's
    rendered web videos."""
    if retrieval_cfg(wildcards).get("local"):
        return f"{local_catalogue_dir(wildcards.dataset)}/truth.json"
    ds = dataset_cfg(wildcards.dataset)
    if ds["kind"] != "synthcity":
        raise ValueError(
            f"results/{wildcards.dataset}/retrieval/quality.json needs truth: dataset "
            f"{wildcards.dataset!r} is of kind {ds['kind']!r}; only synthcity renders it, or "
            f"label local videos under config key datasets.{wildcards.dataset}.retrieval.local"
        )
    return f"{ds['root']}/web/truth.json"


def retrieval_class_files(stage, ext="json"):
    return lambda w: [
        f"results/{w.dataset}/retrieval/{stage}/{c}.{ext}" for c in retrieval_cfg(w)["classes"]
    ]


# ---- webvideos datasets (dataset.smk) and train.extra_datasets (train.smk) ----


def webvideos_pattern():
    """Wildcard regex matching exactly the config's datasets of kind webvideos (none: never matches)."""
    names = [n for n, c in config["datasets"].items() if webvideos_data.is_webvideos(c)]
    return "|".join(_re.escape(n) for n in names) or "(?!)"


def webvideos_source(wildcards):
    """``datasets.{dataset}.source``: a dataset of another kind whose retrieval clips are used."""
    src = dataset_cfg(wildcards.dataset)["source"]
    if src not in config["datasets"] or webvideos_data.is_webvideos(config["datasets"][src]):
        raise ValueError(
            f"config key datasets.{wildcards.dataset}.source: {src!r} must name a dataset of kind "
            f"synthcity or cityscapes under 'datasets' (known: {', '.join(config['datasets'])})"
        )
    return src


def webvideos_inputs(wildcards):
    """Inputs of `webvideos_manifest`: the source's clip files (retrieval.classes) and manifest."""
    src = webvideos_source(wildcards)
    return {"clips": webvideos_data.clip_paths(src, retrieval_cfg()["classes"]),
            "source_manifest": f"results/{src}/manifest.json"}


def webvideos_classifier(wildcards):
    src = webvideos_source(wildcards)
    return {"model": f"results/{src}/classifiers/model.pt",
            "accuracy": f"results/{src}/classifiers/accuracy.json"}


def train_inputs_with_extra(wildcards):
    """Inputs of the `train` rule -- the variant's shards, plus those of train.extra_datasets with the
    training manifest (tagseg.datasets.extra) when that list is not empty."""
    base = train_rules.train_inputs(config, wildcards.dataset, wildcards.variant)
    return extra_data.train_inputs(config, wildcards.dataset, wildcards.variant, base)


def training_manifest_inputs(wildcards):
    used, _ = extra_data.extra_datasets(config, wildcards.dataset, wildcards.variant)
    return {"target": f"results/{wildcards.dataset}/manifest.json",
            "extra": [f"results/{e}/manifest.json" for e in used]}
