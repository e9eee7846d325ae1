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
