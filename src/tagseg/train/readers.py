"""Artifact readers of the training and inference samples: the stage contracts by default.

``tagseg.flow.storage.read_stack``, ``tagseg.heatmaps.storage.read_heatmap(s)`` and
``tagseg.pseudolabels.storage.read_labels``; :class:`Readers` lets tests and other layouts
replace them. The stage modules are imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import h5py
import numpy as np


def _read_stack(f: h5py.File, sid: str, center: int, L: int) -> np.ndarray:
    from ..flow.storage import read_stack

    return read_stack(f, sid, center=center, L=L)


def _read_heatmaps(f: h5py.File, sid: str):
    from ..heatmaps.storage import read_heatmaps

    return read_heatmaps(f, sid)


def _read_heatmap(f: h5py.File, sid: str, offset: int):
    from ..heatmaps.storage import read_heatmap

    return read_heatmap(f, sid, offset)


def _read_labels(f: h5py.File, sid: str):
    from ..pseudolabels.storage import read_labels

    return read_labels(f, sid)


@dataclass
class Readers:
    """Artifact readers (the stage contracts by default).

    ``heatmap`` (one frame: (C, H, W) maps, (C,) scores) is used when set: it reads one chunk
    instead of all F frames of ``heatmaps`` (measured: the all-frames read made data loading
    the bottleneck of training on synthcity). ``None`` falls back to ``heatmaps``.
    """

    stack: Callable[[h5py.File, str, int, int], np.ndarray] = _read_stack
    heatmaps: Callable[[h5py.File, str], tuple] = _read_heatmaps
    labels: Callable[[h5py.File, str], tuple] = _read_labels
    heatmap: Callable[[h5py.File, str, int], tuple] | None = _read_heatmap
