"""The clip file ``results/{dataset}/retrieval/clips/{class}.h5``: its stage name, layout, reader.

Written by :mod:`tagseg.retrieval.clips` (rule ``retrieval_clips``), read by the ``webvideos``
datasets (:mod:`tagseg.datasets.webvideos`); both import it from here, so neither subpackage
imports the other. One group per clip (a relevant run), named like a Cityscapes snippet
``web{class}_{seq:06d}_{annotated:06d}``::

    frames  (T, H, W, 3) uint8 RGB
    times   (T,) float64, seconds in the source video   (units "s")
    scores  (T,) float32 relevance y·f(v) in [0, 1]
    offsets (T,) int, frame offset from the annotated (middle) frame
    @video_id @class @url @annotated @fps

Root attributes: ``class``, ``fps``, ``size`` [H, W], ``threshold``, ``min_run``,
``half_window_s``, ``clips`` (count).
"""

from __future__ import annotations

import h5py
import numpy as np

STAGE = "retrieval_clips"


def city_name(class_name: str) -> str:
    """'traffic_light' -> 'webtrafficlight' (no '_', so snippet ids parse like Cityscapes names)."""
    return "web" + class_name.replace("_", "").replace("-", "")


def read_clip(f: h5py.File, clip_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """-> (offsets (T,), frames (T, H, W, 3) uint8, times (T,) s, scores (T,)) of one clip."""
    g = f[clip_id]
    return g["offsets"][()], g["frames"][()], g["times"][()], g["scores"][()]
