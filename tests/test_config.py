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
