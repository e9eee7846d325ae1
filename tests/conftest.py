"""Shared fixtures: tiny Cityscapes-layout trees written by hand."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Tests exercise the checkout they live in (also a git worktree beside an editable install of
# another checkout): its src/ goes first on sys.path, and into PYTHONPATH for the Snakemake
# jobs and `tagseg` commands the end-to-end tests start.
_SRC = str(Path(__file__).resolve().parents[1] / "src")
if sys.path[:1] != [_SRC]:
    sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SRC] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _SRC])

import cv2
import numpy as np
import pytest


def write_fake_cityscapes(root: Path, splits=("train", "val"), per_split=2, size=(16, 32),
                          frames=30, annotated=19) -> Path:
    """Write a minimal Cityscapes tree: random frames, labelIds with road/sky/car stripes."""
    rng = np.random.default_rng(0)
    h, w = size
    for split in splits:
        city = f"town{split}"
        for seq in range(per_split):
            for f in range(frames):
                p = root / "leftImg8bit_sequence" / split / city / f"{city}_{seq:06d}_{f:06d}_leftImg8bit.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(p), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
            lab = np.full((h, w), 7, np.uint8)  # road
            lab[: h // 2] = 23  # sky
            lab[h // 2:, : w // 4] = 26  # car
            lab[0, 0] = 0  # one unlabeled pixel
            g = root / "gtFine" / split / city / f"{city}_{seq:06d}_{annotated:06d}_gtFine_labelIds.png"
            g.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(g), lab)
    return root


@pytest.fixture
def fake_cityscapes(tmp_path: Path) -> Path:
    return write_fake_cityscapes(tmp_path / "cs")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One complete, uninterrupted run of the tiny configuration (`.test/config.yaml`) to every
    available stage's outputs, shared by the end-to-end tests: a test that changes anything
    works on a copy (`snakemake_runs.copy_run`), so upstream stages are built once."""
    import snakemake_runs as sr

    wd = tmp_path_factory.mktemp("tiny_run")
    sr.write_config(wd)
    sr.snakemake(wd, "--cores", "2", *sr.complete_targets(), timeout=600)
    return wd

