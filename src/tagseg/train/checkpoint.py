"""Checkpoints: atomic torch.save with metadata, and loading that checks variant and class table.

A checkpoint is a dict::

    {"format": "tagseg-two-stream/1",
     "meta": {"variant", "classes", "net": NetConfig dict, "config_hash", "iteration", ...},
     "model": state dict, "optimizer": ..., "scheduler": ..., "scaler": ..., "rng": ...}

``model.pt`` (the rule's output) holds ``meta`` + ``model`` only; ``checkpoint.pt`` beside it
holds everything needed to resume.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import TagsegError
from ..h5io import atomic_path
from ..model.two_stream import NetConfig, TwoStreamNet

FORMAT = "tagseg-two-stream/1"


class CheckpointError(TagsegError, ValueError):
    """A checkpoint is unreadable, foreign, or from another variant / class table / network."""


def save(path: str | os.PathLike, obj: dict[str, Any]) -> None:
    """torch.save ``obj`` (with ``format`` added) to ``path`` atomically (temp file + rename)."""
    obj = {"format": FORMAT, **obj}
    with atomic_path(path, suffix=".tmp.pt") as tmp:
        torch.save(obj, tmp)


def move_aside(path: str | os.PathLike) -> Path:
    """Rename ``path`` to the first free ``{name}.stale-{n}`` beside it (n = 1, 2, ...); never deletes."""
    path = Path(path)
    n = 1
    while (dest := path.with_name(f"{path.name}.stale-{n}")).exists():
        n += 1
    os.replace(path, dest)
    return dest


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict; unreadable or foreign files raise :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch raises many types for corrupt files
        raise CheckpointError(f"{path}: cannot read checkpoint (truncated or corrupt?): {e}") from e
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or "meta" not in obj:
        raise CheckpointError(f"{path}: not a tagseg two-stream checkpoint (format {FORMAT!r})")
    return obj


def check_meta(meta: dict[str, Any], path: str | os.PathLike, variant: str | None = None,
               classes: list[str] | None = None, backbone: str | None = None) -> None:
    """Raise :class:`CheckpointError` when ``meta`` is of another variant, class table or
    backbone (``train.model.backbone``)."""
    trained = (meta.get("net") or {}).get("backbone", "vgg16")
    if backbone is not None and trained != backbone:
        raise CheckpointError(
            f"{path}: checkpoint of backbone {trained!r}, config key train.model.backbone is "
            f"{backbone!r}; retrain (snakemake --forcerun=train) or set the backbone back"
        )
    if variant is not None and meta.get("variant") != variant:
        raise CheckpointError(
            f"{path}: checkpoint of variant {meta.get('variant')!r}, expected {variant!r}"
        )
    if classes is not None and list(meta.get("classes", [])) != list(classes):
        raise CheckpointError(
            f"{path}: checkpoint class table {meta.get('classes')} differs from the manifest's {list(classes)}"
        )


def load_model(path: str | os.PathLike, variant: str | None = None,
               classes: list[str] | None = None, backbone: str | None = None,
               ) -> tuple[TwoStreamNet, dict[str, Any]]:
    """Build the network stored in a checkpoint and load its weights; returns (net, meta)."""
    obj = load(path)
    meta = obj["meta"]
    check_meta(meta, path, variant, classes, backbone)
    net = TwoStreamNet(NetConfig(**meta["net"]))
    try:
        net.load_state_dict(obj["model"], strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the stored network: {e}") from e
    return net, meta


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
