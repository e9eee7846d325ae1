"""Shared wildcards, config accessors and input functions for every stage."""

import re as _re

from tagseg import plan
from tagseg.datasets import listing as dataset_listing
from tagseg.datasets import webvideos as webvideos_data
from tagseg.config import OVERLAID as _OVERLAID
from tagseg.config import validate as _validate_config

# Every rule reads the validated config, defaults filled from config/schema.yaml. The Snakefile
# has done so already (this is idempotent); a Snakefile that only includes rule files (tests)
# gets the defaults here.
_validate_config(config)


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    split="train|val|test",  # test: kinds with public test labels (plan.TEST_LABEL_KINDS)
    shard="[0-9]+",


def dataset_cfg(dataset):
    """Config section of ``dataset``; an unknown name fails naming the key to add."""
    return plan.dataset_cfg(config, dataset)


def shard_paths(stage, dataset, split):
    """All per-shard artifacts of ``stage`` for one split of ``dataset``."""
    return plan.shard_paths(config, stage, dataset, split)


_listed = {}  # dataset -> its file list, written once per Snakemake process


def dataset_inputs(wildcards):
    """Inputs of the `manifest` rule: the rendered dataset for synthcity (its marker file, which
    rule `synthesize` writes last); for a tree the user unpacked, its file list, rewritten here
    (at DAG build) only when the tree changed, so that Snakemake reruns the manifest and what
    depends on it exactly then (tagseg.datasets.listing)."""
    cfg = dataset_cfg(wildcards.dataset)
    if is_rendered(cfg):
        return [plan.synth_marker(config, wildcards.dataset)]
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


def manifest_params(dataset):
    """The `dataset` param of the manifest job, i.e. the dataset's section (`dataset_params`), with
    `offsets` (the frame offsets the stages need) added for kinds whose builder cuts snippets
    out of longer shots (youtube_objects; tagseg.datasets.kinds.build_manifest)."""
    from tagseg.datasets import kinds

    cfg = dataset_params(dataset)
    if kinds.takes_offsets(cfg["kind"]):
        cfg["offsets"] = plan.needed_offsets(config)
    return cfg


def manifest_path(wildcards):
    return plan.manifest_path(wildcards.dataset)


# ---- synthcity (dataset.smk) ----
def is_rendered(cfg):
    """Whether the `synthesize` job renders this dataset (kind synthcity, or another kind with a
    `synth` section, whose layout the renderer then writes, e.g. youtube_objects)."""
    return cfg["kind"] == "synthcity" or (cfg["kind"] != "webvideos" and "synth" in cfg)


def synth_dataset(wildcards):
    """Name of the rendered dataset whose root is ``wildcards.root``."""
    for name, cfg in config["datasets"].items():
        if is_rendered(cfg) and cfg["root"] == wildcards.root:
            return name
    raise ValueError(f"no synthcity dataset in config has root {wildcards.root!r}")


def tags_classifier_pattern():
    """Wildcard regex matching the datasets whose classifier is trained on their own tags
    (``datasets.{name}.classifier: tags``, voc.smk); none: never matches."""
    names = [n for n, c in config["datasets"].items() if c.get("classifier") == "tags"]
    return "|".join(_re.escape(n) for n in names) or "(?!)"


def webvideos_after_render(wildcards):
    """The synth marker of the rendered dataset whose root holds ``{root}/web`` (none: [])."""
    for name, cfg in config["datasets"].items():
        if is_rendered(cfg) and cfg["root"] == wildcards.root:
            return [plan.synth_marker(config, name)]
    return []


def synth_params(wildcards):
    """The `synth` param of the `synthesize` job, i.e. the dataset's `synth` section, with
    `layout` (a key of synthcity.layouts.LAYOUTS) set to its kind for kinds other than
    synthcity (whose layout, cityscapes, is the default)."""
    cfg = dataset_cfg(synth_dataset(wildcards))
    synth = dict(cfg["synth"])  # a rendered dataset has one (synthcity: the schema's defaults)
    if cfg["kind"] != "synthcity":
        synth["layout"] = cfg["kind"]
    return synth


# ---- checks before the first job runs (Snakefile `onstart`; dry runs skip them) ----
def preflight():
    """Stop with one line before any job runs when a folder the planned jobs write is not
    writable, a synthcity root to render holds files tagseg did not write, or config `device`
    asks for a CUDA device torch cannot see while a torch job is planned."""
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
    if problem is None:
        problem = device_problem(jobs)
    if problem:
        sys.exit(problem)


def device_problem(jobs):
    """One line when config `device` names CUDA (cuda, cuda:N) that torch cannot see and a
    planned job runs torch (a rule with a `device` param; `flow` only with the torch backend);
    None otherwise. torch is imported only in that case (tagseg.device.cuda_problem). Not
    checked when jobs run elsewhere (a cluster executor: the GPU is on the compute nodes)."""
    if config["device"] in ("cpu", "auto") or not workflow.local_exec:
        return None
    torch_jobs = [j for j in jobs if "device" in j.rule.params.keys()
                  and (j.rule.name != "flow" or flow_gpu())]
    if not torch_jobs:
        return None
    from tagseg.device import cuda_problem

    problem = cuda_problem(config["device"])
    n = len(torch_jobs)
    return problem and f"tagseg: {problem} ({n} planned job{'s' if n > 1 else ''} run torch, first: rule {torch_jobs[0].rule.name})"


# ---- flow (flow.smk) ----
def flow_gpu():
    """1 when the torch backend may run on CUDA (config `device` not cpu), else 0."""
    return int(config["flow"]["backend"] == "torch" and config["device"] != "cpu")


# ---- web video retrieval (retrieval.smk) ----
wildcard_constraints:
    cls="[a-z_]+",


def dataset_params(dataset):
    """Config section of ``dataset`` less its ``retrieval``, ``heatmaps`` and ``train`` keys, which
    only the retrieval, heatmap and training rules read (changing a retrieval threshold, a
    classifier or a network setting must not rebuild the manifest and all after it)."""
    return {k: v for k, v in dataset_cfg(dataset).items() if k not in ("retrieval", *_OVERLAID)}


def retrieval_cfg(wildcards=None):
    """Config section `retrieval`, with the dataset's own `datasets.{dataset}.retrieval` keys
    laid over it when the job has a {dataset} wildcard."""
    dataset = getattr(wildcards, "dataset", None)
    if dataset is not None:
        dataset_cfg(dataset)  # an unknown dataset fails here, naming the key
    return plan.retrieval_config(config, dataset)


def retrieval_index(wildcards):
    return plan.retrieval_index(config, wildcards.dataset)


def retrieval_catalogue(wildcards):
    return plan.retrieval_catalogue(config, wildcards.dataset)


def retrieval_checkpoint(wildcards):
    return plan.retrieval_checkpoint(config, wildcards.dataset)


def retrieval_truth(wildcards):
    return plan.retrieval_truth(config, wildcards.dataset)


def retrieval_class_files(stage, ext="json"):
    return lambda w: plan.retrieval_class_records(config, w.dataset, stage, ext)


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
            f"config key datasets.{wildcards.dataset}.source: {src!r} must name a dataset under "
            f"'datasets' that is not itself of kind webvideos (known: {', '.join(config['datasets'])})"
        )
    return src


def webvideos_inputs(wildcards):
    """Inputs of `webvideos_manifest`: the source's clip files (its retrieval.classes) and manifest."""
    src = webvideos_source(wildcards)
    return {"clips": plan.clip_paths(src, plan.retrieval_config(config, src)["classes"]),
            "source_manifest": plan.manifest_path(src)}


def pseudolabels_inputs(wildcards):
    """Inputs of the ``pseudolabels`` rule: manifest, heatmaps, and flow except for still images."""
    d = {"manifest": plan.manifest_path(wildcards.dataset),
         "heatmaps": plan.shard_path("heatmaps", wildcards.dataset, wildcards.split, wildcards.shard)}
    if not plan.is_still(config, wildcards.dataset):
        d["flow"] = plan.shard_path("flow", wildcards.dataset, wildcards.split, wildcards.shard)
    return d


def webvideos_classifier(wildcards):
    return plan.classifier_paths(webvideos_source(wildcards))


def train_inputs(wildcards):
    """Inputs of the `train` rule: the variant's shards, with train.extra_datasets (tagseg.plan)."""
    return plan.train_inputs(config, wildcards.dataset, wildcards.variant)


def training_manifest_inputs(wildcards):
    return plan.training_manifest_inputs(config, wildcards.dataset, wildcards.variant)
