"""HDF5 artifacts: atomic writes, provenance attributes, and a checking reader.

Every stage writes its artifacts through :func:`write_artifact`, which writes to a temporary
file beside the target and renames it into place only after the file was closed cleanly, so
a failed or killed job never leaves a file that looks complete. Each file carries root
attributes saying what produced it::

    tagseg_stage          e.g. "flow"
    tagseg_version        library version that wrote it
    tagseg_config_hash    sha256 (16 hex) of the stage's config section
    tagseg_complete       1, set as the very last write before closing

Per-snippet data lives in groups named by snippet id (``/{snippet_id}/...``); datasets may
carry a ``units`` attribute (e.g. "pixels").
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py

from . import __version__
from .fsutil import apply_umask

STAGE = "tagseg_stage"
VERSION = "tagseg_version"
CONFIG_HASH = "tagseg_config_hash"
COMPLETE = "tagseg_complete"


class ArtifactError(RuntimeError):
    """An HDF5 artifact is missing, truncated, foreign (not written by tagseg) or stale."""


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
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@contextlib.contextmanager
def write_artifact(
    path: str | os.PathLike,
    stage: str,
    config: Any = None,
    attrs: Mapping[str, Any] | None = None,
) -> Iterator[h5py.File]:
    """Open a new HDF5 artifact for writing; it appears at ``path`` only when the block succeeds.

    ``config`` is the stage's config section (hashed into ``tagseg_config_hash``);
    ``attrs`` are extra root attributes (shapes, units, parameters).
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs[STAGE] = stage
            f.attrs[VERSION] = __version__
            f.attrs[CONFIG_HASH] = config_hash(config)
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            yield f
            f.attrs[COMPLETE] = 1


def open_artifact(
    path: str | os.PathLike, stage: str | None = None, config: Any = None
) -> h5py.File:
    """Open an artifact read-only after checking it is complete, tagseg's, and of ``stage``.

    When ``config`` is given, the stored config hash must match it (else the file is stale).
    Raises :class:`ArtifactError` naming the file and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such artifact")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ArtifactError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {e}") from e
    try:
        if STAGE not in f.attrs:
            raise ArtifactError(f"{path}: not a tagseg artifact (no '{STAGE}' attribute)")
        if int(f.attrs.get(COMPLETE, 0)) != 1:
            raise ArtifactError(f"{path}: incomplete artifact (writer did not finish)")
        found = _str(f.attrs[STAGE])
        if stage is not None and found != stage:
            raise ArtifactError(f"{path}: artifact of stage {found!r}, expected {stage!r}")
        if config is not None and _str(f.attrs[CONFIG_HASH]) != config_hash(config):
            raise ArtifactError(
                f"{path}: stale artifact: written with a different '{found}' config section; "
                "rerun the stage (snakemake --forcerun " + found + ")"
            )
    except BaseException:
        f.close()
        raise
    return f


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
