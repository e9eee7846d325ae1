"""The retrieval rules' jobs: config section ``retrieval`` -> library calls, one class per job.

Paths (``results/{dataset}/retrieval/``): ``search/{cls}.json``, ``thumbnails/{cls}.json``,
``download/{cls}.json`` (videos cached in ``videos/{cls}/`` with the yt-dlp archive, not a
rule output, so reruns skip finished downloads), ``keyframes/{cls}.json``, ``clips/{cls}.h5``
+ ``clips/{cls}.json``, ``quality.json`` (synthcity: against ``{root}/web/truth.json``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..datasets.manifest import load as load_manifest
from . import clips, download, keyframes, local, quality, search, thumbnails
from .scoring import Scorer, from_config

log = logging.getLogger("tagseg.retrieval")


def keywords(cfg: Mapping[str, Any], cls: str) -> list[str]:
    """Search keywords of ``cls``: ``retrieval.keywords[cls]`` or the class name ('_' -> ' ')."""
    kws = cfg["keywords"].get(cls) or [search.default_keyword(cls)]
    return [kws] if isinstance(kws, str) else list(kws)


def _fetch_kw(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {"retries": int(cfg["retries"]), "backoff_s": float(cfg["backoff_s"]),
            "timeout": float(cfg["timeout_s"])}


def _scorer(cfg, manifest_path, checkpoint, device, heatmaps_cfg) -> tuple[Scorer, list[str]]:
    m = load_manifest(manifest_path)
    return from_config(cfg, m.table, m.classes, checkpoint, device, heatmaps_cfg), list(m.classes)


def _class_index(names: Sequence[str], cls: str) -> int:
    if cls not in names:
        raise ValueError(f"config key retrieval.classes: {cls!r} is not in the dataset's class table {list(names)}")
    return list(names).index(cls)


def run_search(cfg, index: str | None, cls: str, out_json: str) -> dict[str, Any]:
    """``index``: the catalogue of the ``index`` backend (workflow: ``retrieval_index``)."""
    return search.run(out_json, class_name=cls, keywords=keywords(cfg, cls),
                      n=int(cfg["search_results"]), backend=cfg["backend"],
                      index=index, **_fetch_kw(cfg))


def run_thumbnails(cfg, cls, search_json, manifest, out_json, checkpoint=None, device="cpu",
                   heatmaps_cfg=None) -> dict[str, Any]:
    sc, names = _scorer(cfg, manifest, checkpoint, device, heatmaps_cfg)
    return thumbnails.run(search_json, out_json, _class_index(names, cls), sc,
                          float(cfg["thumbnail_threshold"]), **_fetch_kw(cfg))


def run_download(cfg, thumbnails_json, out_json, video_dir) -> dict[str, Any]:
    kw = _fetch_kw(cfg)
    return download.run(thumbnails_json, out_json, video_dir, max_videos=int(cfg["max_videos"]),
                        fmt=cfg["format"], retries=kw["retries"], backoff_s=kw["backoff_s"],
                        timeout=kw["timeout"], max_filesize_mb=cfg["max_filesize_mb"])


def run_keyframes(cfg, cls, download_json, manifest, out_json, checkpoint=None, device="cpu",
                  heatmaps_cfg=None) -> dict[str, Any]:
    sc, names = _scorer(cfg, manifest, checkpoint, device, heatmaps_cfg)
    return keyframes.run(download_json, out_json, _class_index(names, cls), sc,
                         threshold=float(cfg["keyframe_threshold"]),
                         per_video=int(cfg["keyframes_per_video"]))


def run_clips(cfg, cls, keyframes_json, manifest, out_h5, out_json, checkpoint=None, device="cpu",
              heatmaps_cfg=None) -> dict[str, Any]:
    sc, names = _scorer(cfg, manifest, checkpoint, device, heatmaps_cfg)
    size = cfg["clip_size"] or list(load_manifest(manifest).size)
    return clips.run(keyframes_json, out_h5, out_json, _class_index(names, cls), sc,
                     half_window_s=float(cfg["half_window_s"]), fps=float(cfg["clip_fps"]),
                     size=(int(size[0]), int(size[1])), threshold=float(cfg["relevance_threshold"]),
                     min_run=int(cfg["min_run"]), config=dict(cfg))


def run_quality(truth_json: str, classes: Sequence[str], results_dir: str, out_json: str) -> dict[str, Any]:
    """``results_dir`` = ``results/{dataset}/retrieval``."""
    stages = ("search", "thumbnails", "download", "keyframes", "clips")
    paths = {c: {s: str(Path(results_dir) / s / f"{c}.json") for s in stages} for c in classes}
    q = quality.write_quality(out_json, truth_json, paths)
    log.info("retrieval quality: %s", quality.summary(q))
    return q


def run_local_catalogue(cfg: Mapping[str, Any], out_dir: str) -> dict[str, Any]:
    """Catalogue, thumbnails and truth of the local videos of ``retrieval.local`` (:mod:`.local`)."""
    return local.build(cfg["local"], list(cfg["classes"]), out_dir, keywords=cfg["keywords"])


def load_json(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
