"""Validate the pipeline config and fill its defaults from the schema (Snakefile, CLI, tests,
benchmarks).

``config/schema.yaml`` is the one place that holds every default. :func:`validate` checks a
config against it and fills each missing key that has a ``default:``, at every depth (also in
the per-dataset entries under ``datasets:``, reached through ``additionalProperties``, ``if`` /
``then`` and ``$ref``). The filling is the recipe Snakemake's own
``snakemake.utils.validate(config, schema, set_default=True)`` uses
(snakemake/snakemake, src/snakemake/utils.py, ``validate`` -> ``extend_with_default``, taken from
the jsonschema FAQ, https://python-jsonschema.readthedocs.io/en/latest/faq/), with two
differences: each default is deep-copied (a ``default: {}`` filled in two dataset entries must
not be one shared dict that the nested defaults are then written into), and a non-object
instance is left alone (Snakemake's recipe fails on ``retrieval.local``'s null default). The
Snakefile calls :func:`validate` rather than Snakemake's, which prints the whole schema on an
error; code downstream reads the validated config with ``cfg[key]`` and spreads no literal
defaults of its own.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import validators

from .errors import TagsegError

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(TagsegError, ValueError):
    """The config breaks the schema; the message names the key."""


def _extend_with_default(validator_class: type) -> type:
    """``validator_class`` whose ``properties`` keyword first sets each missing property that
    has a ``default`` to a deep copy of it (Snakemake's / the jsonschema FAQ's recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping[str, Any], instance: Any,
                     schema: Mapping[str, Any]):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, Mapping) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


DefaultFillingValidator = _extend_with_default(jsonschema.Draft202012Validator)
"""Draft 2020-12 validator that fills defaults while it validates."""


@functools.lru_cache(maxsize=8)
def _schema(path: str) -> dict[str, Any]:
    """The schema at ``path`` (cached; never mutated: filled defaults are copies)."""
    return yaml.safe_load(Path(path).read_text())


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


OVERLAID = ("heatmaps", "train")
"""Sections a dataset may override key by key (``datasets.{name}.heatmaps``,
``datasets.{name}.train``); the section with a dataset's keys laid over it (:func:`overlay`)
must itself pass the schema."""


def overlay(section: Mapping[str, Any], over: Mapping[str, Any] | None) -> dict[str, Any]:
    """``section`` with ``over``'s keys laid over it; nested dicts merge one level deep."""
    cfg = dict(section)
    for key, value in (over or {}).items():
        cfg[key] = {**(cfg.get(key) or {}), **value} if isinstance(value, dict) else value
    return cfg


def problems(config: Any, schema_path: str | os.PathLike = SCHEMA,
             configfiles: Sequence[str | os.PathLike] = (), set_default: bool = True) -> list[str]:
    """Every way ``config`` breaks the schema, one short line each, naming the key.

    ``configfiles``: the files given to ``--configfile``; an unknown top-level key is traced to
    the file that holds it (a target that followed ``--configfile`` and was read as config).
    ``set_default``: fill the schema's defaults into ``config`` (in place) while checking it.
    A dataset's overrides of a section (:data:`OVERLAID`) are checked laid over that section.
    """
    schema = _schema(str(Path(schema_path).resolve()))
    lines = _problems(config, schema, configfiles, set_default)
    if lines or not isinstance(config, dict):
        return lines
    part = {k: v for k, v in schema.items() if k != "required"}
    for name, ds in (config.get("datasets") or {}).items():
        for sec in OVERLAID:
            over = ds.get(sec) if isinstance(ds, dict) else None
            if over and isinstance(config.get(sec), dict):
                merged = {sec: overlay(config[sec], over)}
                lines += [line.replace(f"config key {sec}.", f"config key datasets.{name}.{sec}.")
                          for line in _problems(merged, part, (), False)]
    return lines


def _problems(config: Any, schema: Mapping[str, Any], configfiles: Sequence[str | os.PathLike],
              set_default: bool) -> list[str]:
    cls = DefaultFillingValidator if set_default else jsonschema.Draft202012Validator
    validator = cls(schema)
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
             configfiles: Sequence[str | os.PathLike] = (), set_default: bool = True) -> dict[str, Any]:
    """Validate ``config`` against the schema and fill its defaults in place (``set_default``);
    raise :class:`ConfigError` naming the bad keys, one line each (:func:`problems`).
    Returns ``config``."""
    lines = problems(config, schema_path, configfiles, set_default)
    if lines:
        raise ConfigError("\n".join(lines))
    return config


def section(name: str, values: Mapping[str, Any] | None = None,
            schema_path: str | os.PathLike = SCHEMA) -> dict[str, Any]:
    """Config section ``name`` (a top-level key, or dotted: ``train.crf``) as the pipeline sees
    it: a deep copy of ``values`` (None: empty) validated, with the schema's defaults filled.

    For callers outside Snakemake that hold part of a section (tests, benchmarks): ``section(
    "pseudolabels", {"ablations": False})``. An unknown or bad key raises :class:`ConfigError`
    naming it.
    """
    parts = name.split(".")
    schema = dict(_schema(str(Path(schema_path).resolve())))
    schema.pop("required", None)  # only this section is checked
    node: Any = copy.deepcopy(dict(values or {}))
    for key in reversed(parts):
        node = {key: node}
    lines = _problems(node, schema, (), True)
    if lines:
        raise ConfigError("\n".join(lines))
    for key in parts:
        node = node[key]
    return node


def defaults(name: str) -> dict[str, Any]:
    """The schema's defaults of config section ``name`` (see :func:`section`)."""
    return section(name)


def load_config(path: str | os.PathLike = "config/config.yaml") -> dict[str, Any]:
    """Read a YAML config, validate it and fill its defaults."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    config = yaml.safe_load(path.read_text())
    validate(config)
    return config

