"""Web video retrieval (Hong et al. CVPR 2017 §4, relevant runs §3.2).

Stages, one job per class keyword (rules in ``workflow/rules/retrieval.smk``):

1. :mod:`.search` — ``youtube`` (yt-dlp ``ytsearchN:keyword``, flat) or ``index`` (a JSON
   catalogue) backend -> candidate list (id, title, duration, thumbnail URL, video URL);
2. :mod:`.thumbnails` — fetch thumbnails, score them, keep score >= threshold;
3. :mod:`.download` — yt-dlp downloads kept videos (format cap, retries, download archive,
   429 back-off, errors recorded, decodability checked);
4. :mod:`.keyframes` — PyAV decodes key frames only (``skip_frame = "NONKEY"``), scores them,
   keeps up to K >= threshold per video;
5. :mod:`.clips` — frames within ±2 s of each kept key frame at fixed fps/size into HDF5,
   then runs of >= ``min_run`` consecutive frames with relevance y·f(v) >= threshold.

:mod:`synthcity.web` (the sibling package) renders synthetic web videos with recorded truth
(distractors, misleading thumbnails) and :mod:`.quality` scores each filter against it. The
clips (layout in :mod:`tagseg.clipfile`) become a dataset of kind ``webvideos``
(:mod:`tagseg.datasets.webvideos`) that a target adds to its training data with
``train.extra_datasets`` (:mod:`tagseg.datasets.extra`).

A scorer (:data:`.scoring.Scorer`) maps ``(N, H, W, 3) uint8 RGB`` to ``(N, C) float32`` class
scores in [0, 1], C in the manifest's class order.
"""

from .scoring import Scorer

__all__ = ["Scorer"]
