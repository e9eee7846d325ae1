"""The plan: what the config says each job reads and writes, decided in one place.

It alone knows

- the ``results/`` layout: every artifact path (:func:`results_dir`, :func:`shard_path`, ...);
- frame windows: ``flow.L`` resolved and checked once (:func:`flow_L`) and the one window
  formula (:func:`flow_window`: pair / frame offsets ``(c - L//2, c + L//2]``);
- what each variant needs and produces (:func:`needs_of`, :func:`train_inputs`, ...);
- the retrieval config overlay (:func:`retrieval_config`);
- the report's inputs (:func:`report_inputs`).

``workflow/rules/common.smk`` (the input functions), ``tagseg.train``, ``tagseg.report`` and
``bench/`` use it. Which config sections each stage hashes is :mod:`tagseg.provenance`'s.
Torch-free: imported when the Snakefile is parsed; every function takes the config dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import ConfigError, overlay

RESULTS = "results"
"""Top folder of every pipeline artifact (relative to the working directory)."""

# --------------------------------------------------------------------------- results layout


def results_dir(dataset: str) -> str:
    """``results/{dataset}``: everything the pipeline writes for one dataset."""
    return f"{RESULTS}/{dataset}"


def dataset_cfg(config: Mapping[str, Any], dataset: str) -> Mapping[str, Any]:
    """Config section ``datasets.{dataset}``; an unknown name fails naming the key to add."""
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r} in the target path: add it under config key "
            f"'datasets' (known: {', '.join(config['datasets'])})"
        ) from None


def manifest_path(dataset: str) -> str:
    return f"{results_dir(dataset)}/manifest.json"


def shard_file(root: str, stage: str, split: str, shard: int | str) -> str:
    """``{root}/{stage}/{split}/shard-{shard}.h5``; ``root`` is a dataset's results folder."""
    return f"{root}/{stage}/{split}/shard-{shard}.h5"


def shard_path(stage: str, dataset: str, split: str, shard: int | str) -> str:
    """One per-shard HDF5 artifact of ``stage`` (flow, heatmaps, pseudolabels)."""
    return shard_file(results_dir(dataset), stage, split, shard)


def n_shards(config: Mapping[str, Any], dataset: str, split: str) -> int:
    return int(dataset_cfg(config, dataset)["shards"][split])


def shard_paths(config: Mapping[str, Any], stage: str, dataset: str, split: str) -> list[str]:
    """All per-shard artifacts of ``stage`` for one split of ``dataset``, by shard number."""
    return [shard_path(stage, dataset, split, i) for i in range(n_shards(config, dataset, split))]


def quality_path(dataset: str, stage: str) -> str:
    """``results/{dataset}/{stage}/quality.json`` (flow, heatmaps, pseudolabels, retrieval)."""
    return f"{results_dir(dataset)}/{stage}/quality.json"


def classifier_paths(dataset: str) -> dict[str, str]:
    """The CAM classifier's checkpoint and held-out accuracy (rule ``classifiers``)."""
    r = results_dir(dataset)
    return {"model": f"{r}/classifiers/model.pt", "accuracy": f"{r}/classifiers/accuracy.json"}


def model_path(dataset: str, variant: str) -> str:
    return f"{results_dir(dataset)}/train/{variant}/model.pt"


def history_path(dataset: str, variant: str) -> str:
    """Loss history and timings of one training run (rule ``train``)."""
    return f"{results_dir(dataset)}/train/{variant}/train.json"


def training_manifest_path(dataset: str, variant: str) -> str:
    """The target's manifest plus the ``train.extra_datasets`` snippets (rule ``training_manifest``)."""
    return f"{results_dir(dataset)}/train/{variant}/manifest.json"


def predict_dir(dataset: str, variant: str) -> str:
    """``results/{dataset}/predict/{variant}`` (``raw/``, ``crf/``, ``overlay/``, ``timing.json``)."""
    return f"{results_dir(dataset)}/predict/{variant}"


def evaluate_path(dataset: str, variant: str) -> str:
    return f"{results_dir(dataset)}/evaluate/{variant}.json"


TEST_SPLIT = "test"
"""The held-out split of kinds whose test labels are public (:data:`TEST_LABEL_KINDS`), scored
apart from ``predict.split`` by rules ``predict_test`` / ``evaluate_test``."""


def predict_test_dir(dataset: str, variant: str) -> str:
    """``results/{dataset}/predict_test/{variant}`` (``raw/``, ``crf/``, ``overlay/``,
    ``timing.json``): predictions of the test split (rule ``predict_test``)."""
    return f"{results_dir(dataset)}/predict_test/{variant}"


def evaluate_test_path(dataset: str, variant: str) -> str:
    """``results/{dataset}/evaluate_test/{variant}.json``: one variant's test-split scores."""
    return f"{results_dir(dataset)}/evaluate_test/{variant}.json"


def metrics_test_path(dataset: str) -> str:
    """``results/{dataset}/metrics_test.json``: the default variant's test-split scores."""
    return f"{results_dir(dataset)}/metrics_test.json"


def metrics_path(dataset: str) -> str:
    return f"{results_dir(dataset)}/metrics.json"


def ablation_path(dataset: str) -> str:
    return f"{results_dir(dataset)}/ablation.json"


def retrieval_dir(dataset: str) -> str:
    """``results/{dataset}/retrieval``: one JSON record per stage and class, clips, quality."""
    return f"{results_dir(dataset)}/retrieval"


def retrieval_record(dataset: str, stage: str, cls: str, ext: str = "json") -> str:
    """``results/{dataset}/retrieval/{stage}/{cls}.{ext}`` (search ... clips)."""
    return f"{retrieval_dir(dataset)}/{stage}/{cls}.{ext}"


def clip_paths(source: str, classes: Sequence[str]) -> list[str]:
    """``results/{source}/retrieval/clips/{class}.h5`` for each class."""
    return [retrieval_record(source, "clips", c, "h5") for c in classes]


def video_dir(dataset: str, cls: str) -> str:
    """Download cache of one class's videos (with its yt-dlp archive; not a rule output)."""
    return f"{retrieval_dir(dataset)}/videos/{cls}"


def local_catalogue_dir(dataset: str) -> str:
    """Where rule ``retrieval_local_catalogue`` writes a dataset's catalogue of local videos."""
    return f"{retrieval_dir(dataset)}/local"


def ground_truth_dir(dataset: str) -> str:
    """``results/{dataset}/ground_truth``: label-id PNGs a manifest builder converts the dataset's
    own ground truth into (kind youtube_objects: Jain & Grauman's masks; kind voc: SBD's
    ``cls/*.mat`` masks of training images)."""
    return f"{results_dir(dataset)}/ground_truth"


def synth_marker(config: Mapping[str, Any], dataset: str) -> str:
    """The file rule ``synthesize`` writes last (rendered datasets only, :func:`rendered`)."""
    return str(Path(dataset_cfg(config, dataset)["root"]) / "synthcity.json")


def rendered(ds: Mapping[str, Any]) -> bool:
    """Whether a dataset section is rendered by the pipeline (rule ``synthesize``): kind
    ``synthcity``, or another kind (not webvideos) with a ``synth`` section, whose layout the
    renderer writes (e.g. kind voc: ``synthcity_voc``); as common.smk's ``is_rendered``."""
    return ds.get("kind") == "synthcity" or (ds.get("kind") != "webvideos" and "synth" in ds)


STILL_KINDS = frozenset({"voc"})
"""Dataset kinds of still images: a snippet is one image, there is no flow (single-stream
variants only; the flow stage is never planned for them)."""


def is_still(config: Mapping[str, Any], dataset: str) -> bool:
    """Whether ``dataset`` holds still images (:data:`STILL_KINDS`)."""
    return dataset_cfg(config, dataset).get("kind") in STILL_KINDS


TEST_LABEL_KINDS = frozenset({"camvid"})
"""Dataset kinds with a labelled test split that can be scored (``metrics_test.json``): CamVid
(the split of Saleh et al.'s Table 5). Cityscapes' test labels are not public (its benchmark
server scores them); VOC 2012's test masks are withheld too (its evaluation server);
YouTube-Objects' masks are all one evaluation set."""


def check_test_split(config: Mapping[str, Any], dataset: str) -> None:
    """``dataset`` can be scored on its test split: its kind has public test labels
    (:data:`TEST_LABEL_KINDS`) and ``datasets.{dataset}.shards.test`` is set (the manifest then
    holds the test stills); else ``ValueError`` saying which and why."""
    ds = dataset_cfg(config, dataset)
    kind = ds.get("kind")
    if kind not in TEST_LABEL_KINDS:
        why = {"cityscapes": "Cityscapes' test labels are not public (only its benchmark server "
                             "scores the test split)",
               "synthcity": "the synthcity render has no test split (Cityscapes, whose layout it "
                            "has, keeps its test labels private)",
               "voc": "PASCAL VOC 2012's test masks are not public (its evaluation server "
                      "scores them)"}.get(str(kind), f"kind {kind!r} has no labelled test split")
        raise ValueError(f"dataset {dataset!r} (kind {kind!r}) cannot be scored on a test split: "
                         f"{why}; results/{dataset}/metrics.json scores {config['predict']['split']} "
                         f"(kinds with test labels: {', '.join(sorted(TEST_LABEL_KINDS))})")
    if TEST_SPLIT not in (ds.get("shards") or {}):
        raise ValueError(f"dataset {dataset!r}: config key 'datasets.{dataset}.shards.test' is not "
                         "set; give the test split its shards (e.g. {test: 1}) so that the "
                         f"manifest holds its stills, then build {metrics_test_path(dataset)}")


# --------------------------------------------------------------------------- frame windows

def check_flow_L(L: Any) -> int:
    """``flow.L`` as an int, checked: an even number >= 2 (the stack is centred on its frame)."""
    L = int(L)
    if L < 2 or L % 2:
        raise ValueError(f"config key 'flow.L' must be an even number >= 2, got {L}")
    return L


def flow_L(config: Mapping[str, Any]) -> int:
    """``flow.L`` of the validated config (its default: config/schema.yaml), checked."""
    return check_flow_L(config["flow"]["L"])


def flow_window(L: int, center: int = 0) -> list[int]:
    """Offsets of the flow stack of length ``L`` centred on ``center``: (c - L//2, c + L//2].

    Pair offsets k (frame k -> k+1) of Saleh et al.'s stack, and the frames the pseudo-labels
    window spans; L = 10, c = 0: -4..5.
    """
    return list(range(center - L // 2 + 1, center + L // 2 + 1))


def needed_pairs(centers: Iterable[int], L: int) -> list[int]:
    """Sorted pair offsets k (frame k -> k+1) the stacks centred on ``centers`` need."""
    L = check_flow_L(L)
    return sorted({k for c in centers for k in flow_window(L, int(c))})


def needed_offsets(config: Mapping[str, Any]) -> list[int]:
    """Offsets later stages need: ``frames.train_offsets`` ∪ the flow window of the annotated frame.

    With L = ``flow.L`` = 10 that is -4..5 (Saleh et al.: frames 16..25 of 30), sorted.
    """
    offsets = {int(o) for o in config["frames"]["train_offsets"]}
    return sorted(offsets | set(flow_window(flow_L(config))))


def dataset_offsets(config: Mapping[str, Any], dataset: str) -> list[int]:
    """Frame offsets the stages need for ``dataset``: [0] for still images, else
    :func:`needed_offsets`."""
    return [0] if is_still(config, dataset) else needed_offsets(config)


def frame_span(offsets: Sequence[int]) -> tuple[int, int]:
    """(lo, hi): frame offsets a snippet needs for flow pairs / heatmaps at ``offsets``
    (pair k = frame k -> k+1), always including the annotated frame 0."""
    offs = [int(o) for o in offsets] or [0]
    return min(min(offs), 0), max(max(offs) + 1, 0)


# --------------------------------------------------------------------------- variants

STAGE_OF_INPUT = {"flow": "flow", "heatmaps": "heatmaps", "pseudo": "pseudolabels"}
"""Sample input of a variant -> the stage whose shards hold it."""


def variant_section(train: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``variants.{name}`` of a ``train`` section; an unknown name fails naming the key."""
    try:
        return dict(train["variants"][name])
    except KeyError:
        raise ValueError(
            f"unknown variant {name!r}: add it under config key 'train.variants' "
            f"(known: {', '.join(train.get('variants') or {})})"
        ) from None


SEED_RUN = re.compile(r"(?P<variant>.+)-seed(?P<seed>[0-9]+)")
"""A training run of a variant with its own seed: ``{variant}-seed{k}`` (rule ``ablation_seeds``)."""


def run_name(variant_name: str, seed: int) -> str:
    """Name of ``variant_name`` trained with training seed ``seed``: ``{variant}-seed{seed}``."""
    return f"{variant_name}-seed{int(seed)}"


def split_run(name: str) -> tuple[str, int | None]:
    """``{variant}-seed{k}`` -> (variant, k); a plain variant name -> (name, None)."""
    m = SEED_RUN.fullmatch(name)
    return (m["variant"], int(m["seed"])) if m else (name, None)


def train_seed(config: Mapping[str, Any], name: str) -> int:
    """Training seed of run ``name``: its ``-seed{k}`` suffix, else the config's ``seed``."""
    seed = split_run(name)[1]
    return int(config["seed"]) if seed is None else seed


def variant(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Config section ``train.variants.{variant}`` of run ``name`` (a variant, or a variant with
    a ``-seed{k}`` suffix), checked to exist."""
    return variant_section(config["train"], split_run(name)[0])


def default_variant(config: Mapping[str, Any], dataset: str | None = None) -> str:
    """``datasets.{dataset}.variant`` when set, else ``train.variant``; checked to exist."""
    own = dataset_cfg(config, dataset).get("variant") if dataset is not None else None
    v = own or config["train"]["variant"]
    variant(config, v)
    return v


def ablation_variants(config: Mapping[str, Any], dataset: str | None = None) -> list[str]:
    """``datasets.{dataset}.ablation`` when set, else ``train.ablation``; each checked to exist."""
    own = dataset_cfg(config, dataset).get("ablation") if dataset is not None else None
    names = list(own or config["train"]["ablation"])
    for v in names:
        variant(config, v)
    return names


def seed_runs(config: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(variant, training seed, run name) of the seeds ablation: ``train.ablation`` x ``train.seeds``."""
    return [(v, int(k), run_name(v, k)) for v in ablation_variants(config)
            for k in config["train"]["seeds"]]


def ablation_seeds_paths(dataset: str) -> dict[str, str]:
    """``results/{dataset}/ablation_seeds.{json,md}`` (rule ``ablation_seeds``)."""
    return {ext: f"{results_dir(dataset)}/ablation_seeds.{ext}" for ext in ("json", "md")}


def needs_of(v: Mapping[str, Any]) -> list[str]:
    """Sample inputs a variant section reads, in this order: flow, heatmaps, pseudo, gt."""
    losses = v["losses"]
    needs = []
    if v["two_stream"]:
        needs.append("flow")
    if "heatmap" in losses:
        needs.append("heatmaps")
    if "pseudo" in losses:
        needs.append("pseudo")
    if "gt" in losses:
        needs.append("gt")
    return needs


def net_flow_L(config: Mapping[str, Any], train: Mapping[str, Any] | None = None) -> int:
    """Flow fields per stack of the network: ``train.model.flow_L``, or ``flow.L`` when null.

    ``train``: a ``train`` section to read instead of the config's (benchmarks' overrides).
    """
    own = (train if train is not None else config["train"])["model"]["flow_L"]
    return int(own) if own is not None else flow_L(config)


def train_section(config: Mapping[str, Any], dataset: str | None = None) -> dict[str, Any]:
    """Config section ``train`` with ``datasets.{dataset}.train`` (the network, optimiser and
    schedule of the networks trained for that dataset) laid over it, nested dicts one level deep."""
    return overlay(config["train"], _own_keys(config, dataset, "train"))


def train_config(config: Mapping[str, Any], name: str, dataset: str | None = None) -> dict[str, Any]:
    """What training ``name`` for ``dataset`` depends on (rule ``train``'s ``cfg``): the ``train``
    keys (:func:`train_section`) and its own variant section (editing another variant,
    ``variant``, ``ablation`` or ``seeds`` does not rerun it), with ``model.flow_L`` resolved
    (:func:`net_flow_L`)."""
    section = train_section(config, dataset)
    cfg = {k: v for k, v in section.items() if k not in ("variants", "variant", "ablation", "seeds")}
    cfg["variants"] = {name: variant(config, name)}
    cfg["model"] = {**cfg["model"], "flow_L": net_flow_L(config, section)}
    return cfg


def extra_datasets(config: Mapping[str, Any], target: str, name: str) -> tuple[list[str], dict[str, str]]:
    """(extra datasets variant ``name`` of ``target`` trains on, {skipped dataset: reason}).

    ``train.extra_datasets`` in order, checked to exist and to differ from ``target``; datasets
    without ground truth are skipped for variants that need it (loss ``gt``).
    """
    from .datasets.extra import has_ground_truth

    v = variant(config, name)
    if "extra" not in train_on(v):
        return [], {}
    names = extra_names(config, target)
    needs = needs_of(v)
    used, skipped = [], {}
    for extra in names:
        if extra not in config["datasets"]:
            raise ValueError(
                f"config key train.extra_datasets lists {extra!r}, which is not under 'datasets' "
                f"(known: {', '.join(config['datasets'])})")
        cfg = config["datasets"][extra]
        if extra == target:
            raise ValueError(f"config key train.extra_datasets: {extra!r} is the target dataset itself")
        if "gt" in needs and not has_ground_truth(cfg):
            skipped[extra] = (f"variant {name!r} trains on ground truth (loss 'gt') and dataset "
                              f"{extra!r} (kind {cfg['kind']!r}) has none: not added to its training data")
            continue
        used.append(extra)
    return used, skipped


def extra_names(config: Mapping[str, Any], target: str) -> list[str]:
    """Extra training datasets of ``target``: ``datasets.{target}.extra_datasets`` when set,
    else ``train.extra_datasets``."""
    own = dataset_cfg(config, target).get("extra_datasets")
    return list(own if own is not None else (config.get("train") or {}).get("extra_datasets") or [])


TRAIN_ON = ("own", "extra")


def train_on(v: Mapping[str, Any]) -> list[str]:
    """A variant's ``train_on``: which train snippets it learns from, ``own`` (the target's)
    and / or ``extra`` (its extra datasets, :func:`extra_names`); default both."""
    on = list(v.get("train_on") or TRAIN_ON)
    bad = [x for x in on if x not in TRAIN_ON]
    if bad or not on:
        raise ValueError(f"variant key train_on: {on} must be a non-empty subset of {list(TRAIN_ON)}")
    return on


def check_still(config: Mapping[str, Any], dataset: str, name: str) -> None:
    """A two-stream variant (or one that reads flow) cannot be trained on still images."""
    if is_still(config, dataset) and "flow" in needs_of(variant(config, name)):
        raise ValueError(
            f"variant {name!r} is two-stream (needs flow) but dataset {dataset!r} (kind "
            f"{dataset_cfg(config, dataset)['kind']!r}) holds still images: give it single-stream "
            f"variants (config keys datasets.{dataset}.variant and .ablation)")


def uses_training_manifest(config: Mapping[str, Any], dataset: str, name: str) -> bool:
    """Whether run ``name`` of ``dataset`` trains from a training manifest (extras, or not its
    own snippets) rather than the dataset's manifest."""
    v = variant(config, name)
    return bool(extra_names(config, dataset)) and "extra" in train_on(v) or "own" not in train_on(v)


def adapt_from(config: Mapping[str, Any], name: str) -> str | None:
    """A variant's ``adapt_from``: the variant whose model it fine-tunes on the target's own
    train images, labelled by that model (Hong et al.'s domain adaptation), or None."""
    src = variant(config, name).get("adapt_from")
    if src is not None:
        variant(config, src)
    return src


def adapt_paths(config: Mapping[str, Any], dataset: str, source: str) -> list[str]:
    """``results/{dataset}/adapt/{source}/train/shard-{k}.h5``: the target's train images
    labelled by the model of variant ``source`` (rule ``adapt_labels``)."""
    return [shard_file(f"{results_dir(dataset)}/adapt/{source}", "labels", "train", k)
            for k in range(n_shards(config, dataset, "train"))]


def train_inputs(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Named inputs of rule ``train``: the manifest and the train shards the variant reads.

    With extra datasets (:func:`extra_names`) the manifest is the training manifest and the
    extras' shards follow the target's, in config order (see :mod:`tagseg.datasets.extra`);
    a variant with ``train_on: [extra]`` reads the extras' alone. ``init``: the classifier
    checkpoint when ``train.model.init`` is ``classifiers``; with ``adapt_from`` the source
    variant's model, and ``pseudo`` = the target's images labelled by it (:func:`adapt_paths`).
    """
    check_still(config, dataset, name)
    v = variant(config, name)
    used = extra_datasets(config, dataset, name)[0]
    own = (dataset,) if "own" in train_on(v) else ()
    combined = uses_training_manifest(config, dataset, name)
    d: dict[str, Any] = {"manifest": training_manifest_path(dataset, name) if combined else manifest_path(dataset)}
    for need in needs_of(v):
        if need in STAGE_OF_INPUT:
            stage = STAGE_OF_INPUT[need]
            d[need] = [p for ds in (*own, *used) for p in shard_paths(config, stage, ds, "train")]
    if train_section(config, dataset)["model"]["init"] == "classifiers":
        d["init"] = classifier_paths(dataset)["model"]
    src = adapt_from(config, name)
    if src is not None:
        if "pseudo" not in needs_of(v) or used or not own:
            raise ValueError(f"variant {name!r} (adapt_from {src!r}) must train on its own images "
                             "alone (train_on: [own]) with the pseudo loss")
        d["init"] = model_path(dataset, src)
        d["pseudo"] = adapt_paths(config, dataset, src)
    return d


def training_manifest_inputs(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Inputs of rule ``training_manifest``: the target's manifest and those of the extras used."""
    used, _ = extra_datasets(config, dataset, name)
    return {"target": manifest_path(dataset), "extra": [manifest_path(e) for e in used]}


def predict_inputs(config: Mapping[str, Any], dataset: str, name: str,
                   split: str | None = None) -> dict[str, Any]:
    """Named inputs of rule ``predict`` (``split`` None: ``predict.split``) or ``predict_test``
    (``split`` "test", checked by :func:`check_test_split`): manifest, model, and flow shards of
    that split."""
    check_still(config, dataset, name)
    split = split or config["predict"]["split"]
    if split == TEST_SPLIT:
        check_test_split(config, dataset)
    d: dict[str, Any] = {"manifest": manifest_path(dataset), "model": model_path(dataset, name)}
    if "flow" in needs_of(variant(config, name)):
        d["flow"] = shard_paths(config, "flow", dataset, split)
    return d


def train_provenance(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Rule ``train``'s ``provenance`` param: config hashes of the stages whose shards it reads."""
    from .provenance import rule_param

    needs = needs_of(variant(config, name))
    return rule_param(config, dataset, *(s for k, s in STAGE_OF_INPUT.items() if k in needs),
                      others=extra_datasets(config, dataset, name)[0])


def predict_provenance(config: Mapping[str, Any], dataset: str, name: str) -> dict[str, Any]:
    """Rule ``predict``'s ``provenance`` param: the flow stage's config hash for a two-stream variant."""
    from .provenance import rule_param

    return rule_param(config, dataset, *(("flow",) if "flow" in needs_of(variant(config, name)) else ()))


def gpu(config: Mapping[str, Any]) -> int:
    """``resources: gpu`` of the torch rules: 0 on ``device: cpu``, else 1."""
    return 0 if config["device"] == "cpu" else 1


# --------------------------------------------------------------------------- retrieval


def retrieval_config(config: Mapping[str, Any], dataset: str | None = None) -> dict[str, Any]:
    """Config section ``retrieval`` with ``datasets.{dataset}.retrieval`` (a dataset's own
    thresholds and scorer settings) laid over it; nested dicts merge one level deep."""
    if "retrieval" not in config:
        raise ConfigError("no 'retrieval' section in the config: add one (see config/config.yaml)")
    return overlay(config["retrieval"], _own_keys(config, dataset, "retrieval"))


def _own_keys(config: Mapping[str, Any], dataset: str | None, section: str) -> Mapping[str, Any] | None:
    """``datasets.{dataset}.{section}``: a dataset's own keys of a config section (None: none)."""
    if dataset is None:
        return None
    return ((config.get("datasets") or {}).get(dataset) or {}).get(section)


def web_render_config(config: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """Rule ``retrieval_webvideos``'s ``cfg`` for a rendered dataset: the classes its web videos
    are rendered for and the ``retrieval.web`` knobs, with the dataset's own ``retrieval`` keys."""
    cfg = retrieval_config(config, dataset)
    return {k: cfg[k] for k in ("classes", "web")}


def heatmaps_config(config: Mapping[str, Any], dataset: str | None = None) -> dict[str, Any]:
    """Config section ``heatmaps`` with ``datasets.{dataset}.heatmaps`` (a dataset's own
    classifier and heatmap settings, e.g. PASCAL VOC's ImageNet tag classifier) laid over it,
    nested dicts one level deep. A webvideos dataset uses its source's classifier (rule
    ``webvideos_classifiers``): its source's keys are laid first, then its own."""
    cfg = dict(config["heatmaps"])
    ds = ((config.get("datasets") or {}).get(dataset) or {}) if dataset is not None else {}
    if ds.get("kind") == "webvideos" and ds.get("source"):
        cfg = overlay(cfg, _own_keys(config, ds["source"], "heatmaps"))
    return overlay(cfg, _own_keys(config, dataset, "heatmaps"))


def retrieval_index(config: Mapping[str, Any], dataset: str) -> str | None:
    """Catalogue the ``index`` backend reads: the local videos' when ``retrieval.local`` is set,
    else ``retrieval.index``, else (synthcity) the rendered web catalogue; None for youtube."""
    cfg, ds = retrieval_config(config, dataset), dataset_cfg(config, dataset)
    if cfg["backend"] != "index":
        return None
    if cfg["local"]:
        return f"{local_catalogue_dir(dataset)}/catalogue.json"
    if cfg["index"]:
        return str(cfg["index"])
    if rendered(ds):
        return f"{ds['root']}/web/catalogue.json"
    return None


def retrieval_catalogue(config: Mapping[str, Any], dataset: str) -> list[str]:
    """The catalogue file when a rule of this workflow writes it (rendered web videos, local videos)."""
    cfg, ds = retrieval_config(config, dataset), dataset_cfg(config, dataset)
    if cfg["backend"] == "index" and cfg["local"]:
        return [f"{local_catalogue_dir(dataset)}/catalogue.json"]
    if cfg["backend"] == "index" and not cfg["index"] and rendered(ds):
        return [f"{ds['root']}/web/truth.json"]
    return []


def retrieval_checkpoint(config: Mapping[str, Any], dataset: str) -> dict[str, str]:
    """The classifiers checkpoint when ``retrieval.scorer`` is 'classifiers'."""
    if retrieval_config(config, dataset)["scorer"] == "classifiers":
        return {"checkpoint": classifier_paths(dataset)["model"]}
    return {}


def retrieval_truth(config: Mapping[str, Any], dataset: str) -> str:
    """Truth of ``retrieval_quality``: the labelled spans of ``retrieval.local``, or synthcity's
    rendered web videos."""
    if retrieval_config(config, dataset)["local"]:
        return f"{local_catalogue_dir(dataset)}/truth.json"
    ds = dataset_cfg(config, dataset)
    if not rendered(ds):
        raise ValueError(
            f"{quality_path(dataset, 'retrieval')} needs truth: dataset {dataset!r} is of kind "
            f"{ds['kind']!r}; only synthcity renders it, or label local videos under config key "
            f"datasets.{dataset}.retrieval.local"
        )
    return f"{ds['root']}/web/truth.json"


def retrieval_class_records(config: Mapping[str, Any], dataset: str, stage: str, ext: str = "json") -> list[str]:
    """One record of ``stage`` per class of the dataset's ``retrieval.classes``."""
    return [retrieval_record(dataset, stage, c, ext) for c in retrieval_config(config, dataset)["classes"]]


# --------------------------------------------------------------------------- report


def report_cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    """Config section ``report`` of the validated config (its defaults: config/schema.yaml)."""
    return dict(config["report"])


def report_inputs(config: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """Input files of rule ``report_figures`` for ``dataset`` (named as the rule's ``input:``):
    scores, the stages' quality files (no flow quality for still images: no flow stage), the
    default variant's predictions and the val pseudo-label shards (frames' pseudo-label panel;
    the pseudo-label quality reads them too)."""
    pred = predict_dir(dataset, default_variant(config, dataset))
    inputs: dict[str, Any] = {
        "manifest": manifest_path(dataset),
        "metrics": metrics_path(dataset),
        **{f"{s}_quality": quality_path(dataset, s) for s in ("flow", "heatmaps", "pseudolabels")
           if not (s == "flow" and is_still(config, dataset))},
        "raw": f"{pred}/raw",
        "crf": f"{pred}/crf",
        "pseudolabels": shard_paths(config, "pseudolabels", dataset, "val"),
    }
    if report_cfg(config)["ablation"]:
        inputs["ablation"] = ablation_path(dataset)
    return inputs
