import copy

import pytest
import yaml

from tagseg.config import SCHEMA, ConfigError, validate

CONFIG = yaml.safe_load((SCHEMA.parent / "config.yaml").read_text())


def test_shipped_config_is_valid():
    validate(CONFIG)


def test_unknown_key_is_named():
    bad = copy.deepcopy(CONFIG)
    bad["datasets"]["synthcity"]["shardz"] = 3
    with pytest.raises(ConfigError, match=r"datasets\.synthcity.*shardz"):
        validate(bad)


def test_wrong_type_is_named():
    bad = copy.deepcopy(CONFIG)
    bad["datasets"]["cityscapes"]["resize"] = "half"
    with pytest.raises(ConfigError, match=r"datasets\.cityscapes\.resize"):
        validate(bad)


def test_dataset_retrieval_keys_override_the_section():
    from tagseg.plan import retrieval_config

    cfg = copy.deepcopy(CONFIG)
    cfg["datasets"]["synthcity"]["retrieval"] = {"thumbnail_threshold": 0.25, "classifiers": {"crops": 5}}
    validate(cfg)
    r = retrieval_config(cfg, "synthcity")
    assert r["thumbnail_threshold"] == 0.25 and r["keyframe_threshold"] == CONFIG["retrieval"]["keyframe_threshold"]
    assert r["classifiers"] == {**CONFIG["retrieval"]["classifiers"], "crops": 5}
    assert retrieval_config(cfg, "cityscapes")["thumbnail_threshold"] == CONFIG["retrieval"]["thumbnail_threshold"]
    assert retrieval_config(cfg) == CONFIG["retrieval"] and cfg["retrieval"] == CONFIG["retrieval"]  # not mutated
    cfg["datasets"]["synthcity"]["retrieval"]["max_videos"] = 3  # not a per-dataset key
    with pytest.raises(ConfigError, match=r"datasets\.synthcity\.retrieval.*max_videos"):
        validate(cfg)
    with pytest.raises(ConfigError, match="'retrieval' section"):
        retrieval_config({"datasets": {}}, "synthcity")


def test_web_videos_are_rendered_for_the_dataset_s_own_retrieval_classes():
    from tagseg.plan import web_render_config

    cfg = copy.deepcopy(CONFIG)
    validate(cfg)
    assert web_render_config(cfg, "synthcity") == {k: cfg["retrieval"][k] for k in ("classes", "web")}
    cfg["datasets"]["synthcity_voc"]["retrieval"]["classes"] = ["bicycle", "train"]
    validate(cfg)
    assert web_render_config(cfg, "synthcity_voc")["classes"] == ["bicycle", "train"]
    assert web_render_config(cfg, "synthcity")["classes"] == CONFIG["retrieval"]["classes"]


def test_dataset_heatmaps_keys_override_the_section_for_its_rules_and_its_web_clips():
    from tagseg import provenance as prov
    from tagseg.plan import heatmaps_config, train_provenance

    cfg = copy.deepcopy(CONFIG)
    cfg["datasets"]["synthcity_voc"]["heatmaps"] = {"cam": {"epochs": 3}, "scales": [1.0]}
    validate(cfg)
    h = heatmaps_config(cfg, "synthcity_voc")
    assert h["cam"]["epochs"] == 3 and h["scales"] == [1.0]
    assert h["cam"]["lr"] == CONFIG["heatmaps"]["cam"]["lr"]  # the section's other keys stay
    web = heatmaps_config(cfg, "synthcity_voc_web")  # a webvideos dataset: its own keys over its source's
    assert web == {**h, "scales": CONFIG["datasets"]["synthcity_voc_web"]["heatmaps"]["scales"]}
    assert heatmaps_config(cfg, "synthcity") == cfg["heatmaps"] == heatmaps_config(cfg)
    # the heatmap stage's config hash follows the overlay; the target's and its extras' are kept apart
    assert prov.chain(cfg, "heatmaps", "synthcity_voc") != prov.chain(cfg, "heatmaps", "synthcity")
    p = train_provenance(cfg, "synthcity_voc", "videos_only")
    assert p["others"]["synthcity_voc_web"]["heatmaps"] != p["hashes"]["heatmaps"]  # its own scales
    assert p["others"]["synthcity_voc_web"]["flow"] == p["hashes"]["flow"]
    want = prov.Expectations.from_param(p).of("pseudolabels", "synthcity_voc_web")
    assert dict(want.chain) == p["others"]["synthcity_voc_web"] and want.manifest is None
    cfg["datasets"]["synthcity_voc"]["heatmaps"]["cam"]["epoch"] = 3  # checked merged, named
    with pytest.raises(ConfigError, match=r"datasets\.synthcity_voc\.heatmaps\.cam.*'epoch'"):
        validate(cfg)
    cfg["datasets"]["synthcity_voc"]["heatmaps"] = {"scales": "big"}
    with pytest.raises(ConfigError, match=r"datasets\.synthcity_voc\.heatmaps\.scales"):
        validate(cfg)


def test_dataset_train_keys_override_the_section_for_the_networks_trained_for_it():
    from tagseg.plan import train_config, train_inputs, train_section

    cfg = copy.deepcopy(CONFIG)
    cfg["datasets"]["synthcity_voc"]["train"] = {"model": {"init": "classifiers"}, "iterations": 7}
    validate(cfg)
    own = train_config(cfg, "images_only", "synthcity_voc")
    assert own["iterations"] == 7 and own["model"]["init"] == "classifiers"
    assert own["model"]["width"] == CONFIG["train"]["model"]["width"]  # the section's other keys stay
    assert own["model"]["flow_L"] == CONFIG["flow"]["L"]  # resolved from the merged section
    assert train_config(cfg, "heatmap", "synthcity") == train_config(cfg, "heatmap")  # others: the section's
    assert train_section(cfg, "synthcity")["model"]["init"] == CONFIG["train"]["model"]["init"]
    assert train_inputs(cfg, "synthcity_voc", "images_only")["init"] == "results/synthcity_voc/classifiers/model.pt"
    assert "init" not in train_inputs(cfg, "synthcity", "heatmap")
    cfg["datasets"]["synthcity_voc"]["train"] = {"model": {"backbone": "resnet"}}  # checked merged, named
    with pytest.raises(ConfigError, match=r"datasets\.synthcity_voc\.train\.model\.backbone"):
        validate(cfg)
    cfg["datasets"]["synthcity_voc"]["train"] = {"variants": {}}  # dataset-level keys stay the dataset's
    with pytest.raises(ConfigError, match=r"datasets\.synthcity_voc\.train.*'variants'"):
        validate(cfg)


# ---------------------------------------------------------------- defaults (config/schema.yaml)

SCHEMA_DOC = yaml.safe_load(SCHEMA.read_text())
MINIMAL = {"datasets": {
    "city": {"kind": "synthcity", "root": "r", "resize": 1.0, "min_tag_fraction": 0.0,
             "shards": {"train": 1, "val": 1}, "synth": {"width": 64}},
    "other": {"kind": "synthcity", "root": "s", "resize": 1.0, "min_tag_fraction": 0.0,
              "shards": {"train": 1, "val": 1}},
    "cs": {"kind": "cityscapes", "root": "c", "resize": 0.5, "min_tag_fraction": 0.0,
           "shards": {"train": 1, "val": 1}},
    "web": {"kind": "webvideos", "source": "city", "root": "w", "shards": {"train": 1}},
}}


def _filled_minimal() -> dict:
    cfg = copy.deepcopy(MINIMAL)
    validate(cfg)
    return cfg


def test_defaults_are_filled_at_every_depth_and_in_each_dataset_entry():
    cfg = _filled_minimal()
    # top-level sections left out appear with their nested defaults
    assert cfg["flow"]["L"] == 10 and cfg["flow"]["tvl1"]["scale_step"] == 0.5
    assert cfg["pseudolabels"]["motion"]["inside_static"] == 0.04
    assert cfg["train"]["variants"]["fg_heatmap"]["heatmap_classes"] == "foreground"
    assert cfg["train"]["variants"]["oracle"]["heatmap_classes"] == "all"  # inside additionalProperties
    assert cfg["retrieval"]["classifiers"] == {"scale": 1.5, "crops": 3, "imagenet_side": 224}
    assert cfg["retrieval"]["local"] is None and cfg["report"] == {"frames": 4, "ablation": True}
    # per-dataset entries (datasets.additionalProperties -> if/then/else -> $ref)
    city, other, cs, web = (cfg["datasets"][k] for k in ("city", "other", "cs", "web"))
    assert city["synth"]["width"] == 64 and city["synth"]["height"] == 128  # given value kept
    assert other["synth"]["width"] == 256 and other["synth"]["workers"] == 2
    assert city["synth"] is not other["synth"]  # each entry its own copy of the default
    assert city["iconic"] is None and city["resize_mismatched"] is False
    assert "synth" not in cs and cs["resize_mismatched"] is False  # renderer knobs: synthcity only
    assert web["resize"] == 1.0 and web["stride"] is None and "iconic" not in web
    assert "retrieval" not in city  # a dataset's retrieval keys have no defaults: the section's apply


def test_defaults_do_not_change_given_values_or_the_schema():
    cfg = _filled_minimal()
    cfg["datasets"]["other"]["synth"]["width"] = 999
    again = _filled_minimal()
    assert again["datasets"]["other"]["synth"]["width"] == 256  # the schema's default was copied
    given = copy.deepcopy(CONFIG)
    validate(given)
    assert given["flow"] == CONFIG["flow"] and given["train"]["iterations"] == CONFIG["train"]["iterations"]


@pytest.mark.parametrize("case", ["minimal", "shipped", "local videos"])
def test_filling_is_what_snakemake_validate_set_default_does(case):
    """Snakemake's own validate(config, schema, set_default=True) fills the same defaults."""
    from snakemake.utils import validate as snakemake_validate

    cfg = {"minimal": MINIMAL, "shipped": CONFIG,
           "local videos": {**MINIMAL, "retrieval": {"local": {"videos": {"a": "a.mp4"}}}}}[case]
    ours, theirs = copy.deepcopy(cfg), copy.deepcopy(cfg)
    validate(ours)
    snakemake_validate(theirs, str(SCHEMA), set_default=True)
    assert theirs == ours
    if case == "local videos":
        assert ours["retrieval"]["local"] == {"videos": {"a": "a.mp4"}, "labels": {}, "thumbnail_at": 0.5}


def test_section_fills_a_partial_section_and_names_a_bad_key():
    from tagseg.config import defaults, section

    p = section("pseudolabels", {"ablations": False, "motion": {"lam_m": 3.0}})
    assert p["ablations"] is False and p["motion"]["lam_m"] == 3.0 and p["motion"]["strong"] == 0.6
    assert section("train.crf")["scale"] == 0.5 == defaults("train")["crf"]["scale"]
    assert section("datasets.web", {"kind": "webvideos", "source": "s", "root": "r",
                                    "shards": {"train": 1}})["stride"] is None
    with pytest.raises(ConfigError, match=r"pseudolabels\.motion.*lamm"):
        section("pseudolabels", {"motion": {"lamm": 3.0}})
    with pytest.raises(ConfigError, match=r"flow\.L.*multiple of 2"):
        section("flow", {"L": 3})


def _walk_properties(schema: dict, path: str = ""):
    """(dotted key, subschema) of every property in ``schema``, at every depth."""
    for key in ("properties",):
        for name, sub in (schema.get(key) or {}).items():
            yield f"{path}{name}", sub
            yield from _walk_properties(sub, f"{path}{name}.")
    for key in ("additionalProperties", "then", "else", "items"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield from _walk_properties(sub, f"{path}*." if key == "additionalProperties" else path)
    for sub in schema.get("allOf", ()):
        yield from _walk_properties(sub, path)


def test_every_key_has_a_one_line_description():
    roots = [("", SCHEMA_DOC)] + [(f"definitions.{k}.", v) for k, v in SCHEMA_DOC["definitions"].items()]
    missing, long = [], []
    for prefix, root in roots:
        for key, sub in _walk_properties(root, prefix):
            if set(sub) <= {"default"} or set(sub) <= {"$ref", "default"}:
                continue  # a default laid over a described definition / a kind's default
            desc = sub.get("description")
            if not desc:
                missing.append(key)
            elif "\n" in desc.strip():
                long.append(key)
    assert not missing, f"keys without a description: {missing}"
    assert not long, f"descriptions longer than one line: {long}"


def _leaves(cfg, path=()):
    """(path, value) of every leaf of a nested dict."""
    for k, v in cfg.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, (*path, k))
        else:
            yield (*path, k), v


def _get(cfg, path):
    for k in path:
        if not isinstance(cfg, dict) or k not in cfg:
            return KeyError
        cfg = cfg[k]
    return cfg


def test_config_yaml_values_equal_the_schema_defaults():
    """config.yaml lists the knobs for users to read; its values must be the schema's defaults
    (the example entries under `datasets:` aside), and it lists every key that has one."""
    defaults = _filled_minimal()
    shipped = {k: v for k, v in CONFIG.items() if k != "datasets"}
    differ = [".".join(p) for p, v in _leaves(shipped) if _get(defaults, p) != v]
    assert not differ, f"config.yaml differs from the schema's defaults at {differ}"
    known = {p for p, _ in _leaves(shipped)}
    absent = [".".join(p) for p, _ in _leaves({k: v for k, v in defaults.items() if k != "datasets"})
              if p not in known and not any(p[:i] in known for i in range(1, len(p)))]
    assert not absent, f"config.yaml does not list {absent}"
