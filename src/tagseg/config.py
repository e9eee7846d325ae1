"""Load and validate the pipeline config outside Snakemake (CLI, tests, benchmarks)."""

from __future__ import annotations

import os
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
