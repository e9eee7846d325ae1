"""Load and validate the pipeline config outside Snakemake (CLI, tests, benchmarks)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(ValueError):
    """The config breaks the schema; the message names the key."""


def validate(config: dict[str, Any], schema_path: str | os.PathLike = SCHEMA) -> None:
    """Validate ``config`` against the schema; raise :class:`ConfigError` naming the bad key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"config key {where}: {e.message}")


def load_config(path: str | os.PathLike = "config/config.yaml") -> dict[str, Any]:
    """Read a YAML config and validate it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    config = yaml.safe_load(path.read_text())
    validate(config)
    return config


def retrieval_config(config: Mapping[str, Any], dataset: str | None = None) -> dict[str, Any]:
    """Config section ``retrieval`` with ``datasets.{dataset}.retrieval`` (a dataset's own
    thresholds and scorer settings) laid over it; nested dicts merge one level deep."""
    if "retrieval" not in config:
        raise ConfigError("no 'retrieval' section in the config: add one (see config/config.yaml)")
    cfg = dict(config["retrieval"])
    over = {}
    if dataset is not None:
        over = ((config.get("datasets") or {}).get(dataset) or {}).get("retrieval") or {}
    for key, value in over.items():
        cfg[key] = {**(cfg.get(key) or {}), **value} if isinstance(value, dict) else value
    return cfg
