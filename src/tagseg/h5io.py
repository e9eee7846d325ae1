"""HDF5 artifacts: atomic writes, provenance attributes, and a checking reader.

Every stage writes its artifacts through :func:`write_artifact`, which writes to a temporary
file beside the target and renames it into place only after the file was closed cleanly, so
a failed or killed job never leaves a file that looks complete. Each file carries root
attributes saying what produced it::

    tagseg_stage          e.g. "flow"
    tagseg_version        library version that wrote it
    tagseg_config_hash    sha256 (16 hex) of the stage's config section
    tagseg_complete       1, set as the very last write before closing

and, for the pipeline's stages (``provenance`` of :func:`write_artifact`), what it was made from::

    tagseg_dataset        the dataset it belongs to
    tagseg_manifest       digest of the manifest it was made from (:func:`manifest_digest`)
    tagseg_inputs         JSON {stage: config hash} of its own stage and every stage before it
                          (e.g. a pseudo-label shard: flow, heatmaps, pseudolabels)

:func:`open_artifact` given ``expect`` (what the current config would produce, see
:mod:`tagseg.provenance`) refuses a stale or foreign artifact with one line naming the file
and the ``snakemake --forcerun=RULE`` that remakes it.

Per-snippet data lives in groups named by snippet id (``/{snippet_id}/...``); datasets may
carry a ``units`` attribute (e.g. "pixels").
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from . import __version__
from .errors import TagsegError
from .fsutil import apply_umask

STAGE = "tagseg_stage"
VERSION = "tagseg_version"
CONFIG_HASH = "tagseg_config_hash"
COMPLETE = "tagseg_complete"
DATASET = "tagseg_dataset"
MANIFEST = "tagseg_manifest"
INPUTS = "tagseg_inputs"


class ArtifactError(TagsegError, RuntimeError):
    """An HDF5 artifact is missing, truncated, foreign (not written by tagseg) or stale."""


@dataclass(frozen=True)
class Provenance:
    """What a stage's artifact is made from (written) or must be made from (expected).

    ``chain``: {stage: config hash} of the artifact's own stage and every stage before it,
    upstream first; ``manifest``: :func:`manifest_digest` of the manifest (None: not checked).
    """

    dataset: str
    chain: Mapping[str, str] = field(default_factory=dict)
    manifest: str | None = None


def rerun_advice(stage: str | None) -> str:
    """How to remake an artifact of ``stage`` (the stages' rules are named after them)."""
    if not stage:
        return "delete it and rerun snakemake"
    return f"rerun: snakemake --forcerun={stage} <target> (or delete it and rerun snakemake)"


def config_hash(section: Any) -> str:
    """Stable 16-hex-digit hash of a JSON-serialisable config section."""
    blob = json.dumps(section, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# Fault injection for the interruption tests (tests/test_workflow_ops.py): "GLOB[:N]" makes a
# writer whose target matches GLOB (relative to the working directory) stop just before its
# rename, once at least N files matching GLOB exist (default 0), and wait there to be killed.
HOLD_ENV = "TAGSEG_TEST_HOLD_BEFORE_RENAME"
HOLD_MESSAGE = "tagseg: holding before renaming"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    On any exception the temporary file is removed and ``path`` is left untouched. Temporary
    files of ``path`` left by an earlier writer that was killed (SIGKILL runs no cleanup) are
    removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or path.suffix + ".tmp"
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(suffix)}"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    apply_umask(tmp)  # mkstemp makes it 0600; the artifact gets the user's umask
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _hold_if_asked(path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _hold_if_asked(path: Path) -> None:
    """Wait (forever, until a signal ends the process) when :data:`HOLD_ENV` selects ``path``."""
    spec = os.environ.get(HOLD_ENV)
    if not spec:
        return
    pattern, _, n = spec.partition(":")
    if not fnmatch.fnmatch(os.path.relpath(path), pattern) or len(glob.glob(pattern)) < int(n or 0):
        return
    print(f"{HOLD_MESSAGE} {os.path.relpath(path)} ({HOLD_ENV})", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.05)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically; NaN (an undefined score) is written as null,
    numpy arrays and scalars as lists and numbers, paths as strings."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_ready(obj), indent=2, sort_keys=False, default=_json_default) + "\n")


def json_ready(obj: Any) -> Any:
    """``obj`` with every NaN float replaced by None (JSON has no NaN), recursively through
    dicts, lists, tuples and numpy arrays / scalars (``tolist``)."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (int, str, bytes)):
        return json_ready(obj.tolist())
    return obj


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def manifest_digest(manifest: Any) -> str:
    """16-hex digest of a manifest's content (a :class:`~tagseg.datasets.manifest.Manifest` or
    a path to its JSON): what an artifact records as ``tagseg_manifest``."""
    if isinstance(manifest, (str, os.PathLike)):
        from .datasets.manifest import load

        manifest = load(manifest)
    return config_hash(manifest.to_json())


def write_artifact(
    path: str | os.PathLike,
    stage: str,
    config: Any = None,
    attrs: Mapping[str, Any] | None = None,
    provenance: Provenance | None = None,
) -> Iterator[h5py.File]:
    """Open a new HDF5 artifact for writing; it appears at ``path`` only when the block succeeds.

    ``config`` is the stage's config section (hashed into ``tagseg_config_hash``);
    ``attrs`` are extra root attributes (shapes, units, parameters); ``provenance`` what it is
    made from (its chain must end in this stage with the hash of ``config``).
    """
    chash = config_hash(config)
    if provenance is not None and provenance.chain.get(stage) != chash:
        raise ValueError(f"{path}: provenance chain {dict(provenance.chain)} does not hold this "
                         f"'{stage}' artifact's config hash {chash} (the rule's params disagree)")
    return _write_artifact(path, stage, chash, attrs, provenance)


@contextlib.contextmanager
def _write_artifact(path: str | os.PathLike, stage: str, chash: str, attrs: Mapping[str, Any] | None,
                    provenance: Provenance | None) -> Iterator[h5py.File]:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs[STAGE] = stage
            f.attrs[VERSION] = __version__
            f.attrs[CONFIG_HASH] = chash
            if provenance is not None:
                f.attrs[DATASET] = provenance.dataset
                f.attrs[MANIFEST] = provenance.manifest or ""
                f.attrs[INPUTS] = json.dumps(dict(provenance.chain))
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            yield f
            f.attrs[COMPLETE] = 1


KNOWN_STAGES = ("flow", "heatmaps", "pseudolabels", "retrieval_clips", "synthesize")


def _stage_of(path: Path, stage: str | None) -> str | None:
    """``stage``, else the stage a path under ``results/{dataset}/{stage}/`` belongs to."""
    if stage:
        return stage
    known = [part for part in path.parts if part in KNOWN_STAGES]
    return known[-1] if known else None


def open_artifact(
    path: str | os.PathLike, stage: str | None = None, config: Any = None,
    expect: Provenance | None = None,
) -> h5py.File:
    """Open an artifact read-only after checking it is complete, tagseg's, and of ``stage``.

    When ``config`` is given, the stored config hash must match it (else the file is stale).
    When ``expect`` is given, the artifact's provenance must match it (:func:`check_provenance`;
    ``stage`` defaults to the last stage of its chain). Raises :class:`ArtifactError`: one
    line naming the file, what is wrong and the rule to rerun.
    """
    path = Path(path)
    if stage is None and expect is not None and expect.chain:
        stage = list(expect.chain)[-1]
    if not path.exists():
        raise ArtifactError(f"{path}: no such artifact")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ArtifactError(f"{path}: not a readable HDF5 file (truncated or corrupt: {e}); "
                            f"{rerun_advice(_stage_of(path, stage))}") from e
    try:
        if STAGE not in f.attrs:
            raise ArtifactError(f"{path}: not a tagseg artifact (no '{STAGE}' attribute); "
                                f"{rerun_advice(_stage_of(path, stage))}")
        found = _str(f.attrs[STAGE])
        if int(f.attrs.get(COMPLETE, 0)) != 1:
            raise ArtifactError(f"{path}: incomplete artifact (writer did not finish); {rerun_advice(found)}")
        if stage is not None and found != stage:
            raise ArtifactError(f"{path}: artifact of stage {found!r}, expected {stage!r}; "
                                f"{rerun_advice(stage)}")
        if expect is not None:
            check_provenance(f, path, expect)
        elif config is not None and _str(f.attrs[CONFIG_HASH]) != config_hash(config):
            raise ArtifactError(
                f"{path}: stale {found} artifact: made with another {found!r} config section; "
                f"{rerun_advice(found)}"
            )
    except BaseException:
        f.close()
        raise
    return f


def provenance_of(f: h5py.File) -> Provenance | None:
    """The provenance an open artifact records (None: written without, by an older tagseg)."""
    if INPUTS not in f.attrs:
        return None
    return Provenance(_str(f.attrs.get(DATASET, "")), json.loads(_str(f.attrs[INPUTS])),
                      _str(f.attrs.get(MANIFEST, "")) or None)


def check_provenance(f: h5py.File, path: str | os.PathLike, expect: Provenance) -> None:
    """Raise :class:`ArtifactError` unless the open artifact ``f`` was made for ``expect.dataset``
    from ``expect.manifest`` (when set) with the config hashes of ``expect.chain``.

    The message names the file and the rule to rerun: for a stale chain, the first stage
    (upstream first) whose config section differs.
    """
    stage = _str(f.attrs.get(STAGE, "")) or None
    found = provenance_of(f)
    if found is None:
        raise ArtifactError(f"{path}: {stage} artifact written by tagseg {_str(f.attrs.get(VERSION, '?'))} "
                            f"without provenance records; {rerun_advice(stage)}")
    if found.dataset != expect.dataset:
        raise ArtifactError(f"{path}: {stage} artifact of dataset {found.dataset!r}, not {expect.dataset!r} "
                            f"(copied from another run?); {rerun_advice(stage)}")
    for s, want in expect.chain.items():
        have = found.chain.get(s)
        if have != want:
            whose = "its" if s == stage else f"the {s!r} stage's"
            raise ArtifactError(f"{path}: stale {stage} artifact: made with another {s!r} config section "
                                f"({whose} config hash {have}, the config now gives {want}); {rerun_advice(s)}")
    if expect.manifest is not None and found.manifest != expect.manifest:
        raise ArtifactError(f"{path}: {stage} artifact made from another manifest of dataset "
                            f"{expect.dataset!r} than the current one (copied from another run?); "
                            f"{rerun_advice(stage)}")


def _str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def describe(path: str | os.PathLike) -> str:
    """Human-readable listing of an artifact: root attributes, groups, datasets with shape/dtype."""
    lines: list[str] = []
    with h5py.File(path, "r") as f:
        lines.append(f"{path}")
        for k, v in f.attrs.items():
            lines.append(f"  @{k} = {_str(v) if isinstance(v, (str, bytes)) else v}")

        def visit(name: str, obj: Any) -> None:
            depth = name.count("/") + 1
            pad = "  " * depth
            if isinstance(obj, h5py.Dataset):
                extra = ""
                if obj.compression:
                    extra = f" {obj.compression}"
                lines.append(f"{pad}{name.split('/')[-1]}: {obj.shape} {obj.dtype}{extra}")
            else:
                lines.append(f"{pad}{name.split('/')[-1]}/")
            for k, v in obj.attrs.items():
                lines.append(f"{pad}  @{k} = {_str(v) if isinstance(v, (str, bytes)) else v}")

        f.visititems(visit)
    return "\n".join(lines)
