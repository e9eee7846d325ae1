"""Load and validate the pipeline config outside Snakemake (CLI, tests, benchmarks)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(ValueError):
    """The config breaks the schema; the message names the key."""


MAX_PROBLEMS = 8
"""At most this many problems are listed (one line each), then a count of the rest."""


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " …" + text[-3:]


def _key(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path)


def _problem_lines(error: jsonschema.ValidationError, origins: Mapping[str, str]) -> list[str]:
    """One line per problem of one schema error, naming the key (never the whole schema)."""
    path = list(error.absolute_path)
    where = _key(path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        known = f"(known: {', '.join(sorted(allowed))})"
        if path:
            return [f"config key {where}: unknown key {k!r} {known}" for k in extra]
        by_origin: dict[str | None, list[str]] = {}
        for k in extra:
            by_origin.setdefault(origins.get(str(k)), []).append(repr(k))
        lines = []
        for origin, keys in by_origin.items():
            what = f"unknown key{'s' if len(keys) > 1 else ''} {', '.join(keys)} at top level"
            if origin:
                lines.append(f"config: {what}, from --configfile {origin}: a target written after "
                             "--configfile is read as a config file; put targets before "
                             "--configfile or end its list with --")
            else:
                lines.append(f"config: {what} {known}")
        return lines or [f"config key {where or '(top level)'}: {error.message}"]
    if error.validator == "required":
        return [f"config key {where or '(top level)'}: {error.message}"]
    if error.validator in ("type", "enum", "minimum", "maximum", "exclusiveMinimum",
                           "exclusiveMaximum", "minItems", "maxItems", "pattern", "const"):
        want = error.validator_value
        return [f"config key {where or '(top level)'}: {_short(error.instance)} is not allowed "
                f"({error.validator} {_short(want)})"]
    return [f"config key {where or '(top level)'}: {_short(error.message, 200)}"]


def problems(config: Any, schema_path: str | os.PathLike = SCHEMA,
             configfiles: Sequence[str | os.PathLike] = ()) -> list[str]:
    """Every way ``config`` breaks the schema, one short line each, naming the key.

    ``configfiles``: the files given to ``--configfile``; an unknown top-level key is traced to
    the file that holds it (a target that followed ``--configfile`` and was read as config).
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    origins: dict[str, str] = {}
    if errors:
        for f in configfiles:
            try:
                data = yaml.safe_load(Path(f).read_text())
            except (OSError, ValueError, yaml.YAMLError):
                continue
            if isinstance(data, dict):
                for k in data:
                    origins.setdefault(str(k), os.path.relpath(f))
    lines: list[str] = []
    for e in errors:
        lines += [line for line in _problem_lines(e, origins) if line not in lines]
    if len(lines) > MAX_PROBLEMS:
        lines = lines[:MAX_PROBLEMS] + [f"config: … and {len(lines) - MAX_PROBLEMS} more problems"]
    return lines


def validate(config: dict[str, Any], schema_path: str | os.PathLike = SCHEMA,
             configfiles: Sequence[str | os.PathLike] = ()) -> None:
    """Validate ``config`` against the schema; raise :class:`ConfigError` naming the bad keys,
    one line each (:func:`problems`)."""
    lines = problems(config, schema_path, configfiles)
    if lines:
        raise ConfigError("\n".join(lines))


def load_config(path: str | os.PathLike = "config/config.yaml") -> dict[str, Any]:
    """Read a YAML config and validate it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    config = yaml.safe_load(path.read_text())
    validate(config)
    return config

