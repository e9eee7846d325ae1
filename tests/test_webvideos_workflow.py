"""A `webvideos` dataset runs through flow / heatmaps / pseudolabels under Snakemake (tiny config).

Tiny synthcity (tests/snakemake_runs.py TINY) + one rendered web video for 'car', retrieved
with the index backend and real yt-dlp (file:// URLs), cut into clips; the clips become the
dataset `synthcity_web` (config/config.yaml), which the per-shard stages process like any
other; `train.extra_datasets` then puts it into the target's training manifest.

Both tests work on a copy of the session's shared tiny run (conftest `tiny_run`): the
synthcity render, manifest and classifiers checkpoint the web stages read are reused, not
rebuilt (their rules' inputs and params are unchanged by these overrides).
"""

from __future__ import annotations

import json

import pytest

import snakemake_runs as sr
from tagseg.datasets.manifest import load
from tagseg.h5io import open_artifact

pytestmark = [pytest.mark.e2e]

WEB = "results/synthcity_web"
EXTRA = {
    "flow": {"L": 4},  # window -1..2: 5-frame snippets
    "retrieval": {"classes": ["car"], "search_results": 10, "clip_fps": 10,
                  # the palette scorer on band-style videos: exact, needs no trained classifier
                  "scorer": "palette", "thumbnail_threshold": 0.8, "keyframe_threshold": 0.8,
                  "relevance_threshold": 0.8,
                  # one 4-s relevant video; seed 4: the car is in view throughout
                  "web": {"style": "bands", "videos_per_class": 1, "seconds": 4, "fps": 10,
                          "width": 64, "height": 48, "faults": False, "seed": 4}},
    "train": {"iterations": 2, "batch_size": 2, "checkpoint_every": 0},
}


def test_webvideos_dataset_through_per_shard_stages(tiny_run, tmp_path):
    if sr.renderer_missing():
        pytest.skip(sr.renderer_missing())
    wd = sr.copy_run(tiny_run, tmp_path / "run")
    sr.write_config(wd, EXTRA)
    targets = [f"{WEB}/{stage}/train/shard-0.h5" for stage in ("flow", "heatmaps", "pseudolabels")]
    sr.snakemake(wd, "--cores", "2", *targets, timeout=240)
    # the shared run's synthcity classifiers were reused, not retrained
    cls = f"{sr.RESULTS}/classifiers/model.pt"
    assert (wd / cls).stat().st_mtime_ns == (tiny_run / cls).stat().st_mtime_ns

    m = load(wd / WEB / "manifest.json")
    assert m.kind == "webvideos" and m.size == (32, 64) and m.shards == {"train": 1}
    assert m.snippets and all(s.tags == ["car"] and s.gt is None and len(s.frames) == 5 for s in m.snippets)
    assert all((wd / p).is_file() for s in m.snippets for p in s.frames)
    clips = json.loads((wd / "results/synthcity/retrieval/clips/car.json").read_text())
    assert {s.extra["clip"] for s in m.snippets} <= {c["id"] for c in clips["clips"]}
    ids = {s.id for s in m.snippets}
    from tagseg.flow.storage import read_stack
    from tagseg.heatmaps.storage import read_heatmaps
    from tagseg.pseudolabels.storage import read_labels

    with open_artifact(wd / targets[0]) as f:
        assert set(f.keys()) == ids
        assert read_stack(f, m.snippets[0].id, 0, 4).shape == (8, 32, 64)
    with open_artifact(wd / targets[1]) as f:
        offs, maps, scores = read_heatmaps(f, m.snippets[0].id)
        assert maps.shape[1:] == (19, 32, 64) and list(offs) == [-1, 0, 1, 2]
    with open_artifact(wd / targets[2]) as f:
        offs, labels, conf = read_labels(f, m.snippets[0].id)
        assert labels.shape[1:] == (32, 64) and 0 in offs
    # the source's classifier was shared, not retrained
    assert (wd / WEB / "classifiers/model.pt").read_bytes() == \
        (wd / "results/synthcity/classifiers/model.pt").read_bytes()

    # train.extra_datasets: the training manifest appends the web snippets after synthcity's shards
    sr.write_config(wd, {"train": {"extra_datasets": ["synthcity_web"]}}, name="x.yaml")
    jobs = sr.planned_jobs(wd, "results/synthcity/train/two_stream/model.pt",
                           configs=("c.yaml", "x.yaml"))
    assert jobs.get("training_manifest") == 1 and jobs.get("train") == 1
    # synthcity's train flow is rerun (flow.L 4 here, the shared run's flow has the tiny L)
    assert "webvideos_manifest" not in jobs and "flow" in jobs
    sr.snakemake(wd, "--cores", "1", "results/synthcity/train/two_stream/manifest.json",
                 configs=("c.yaml", "x.yaml"))
    t = load(wd / "results/synthcity/train/two_stream/manifest.json")
    n_own = sr.SHARDS["train"]
    web_snips = [s for s in t.split("train") if s.extra.get("dataset") == "synthcity_web"]
    assert len(web_snips) == len(m.snippets) and {s.shard for s in web_snips} == {n_own}
    assert t.shards["train"] == n_own + 1 and t.dataset == "synthcity"
    # the oracle (gt loss) skips the web clips, saying so in its log
    sr.snakemake(wd, "--cores", "1", "results/synthcity/train/oracle/manifest.json",
                 configs=("c.yaml", "x.yaml"))
    o = load(wd / "results/synthcity/train/oracle/manifest.json")
    assert not [s for s in o.snippets if s.extra.get("dataset")]
    log = (wd / "results/synthcity/logs/train/oracle-manifest.log").read_text()
    assert "skipping extra dataset synthcity_web" in log and "ground truth" in log


def test_classifier_scorer_chain_on_street_videos(tiny_run, tmp_path):
    """The default scorer (the classifiers checkpoint) on street-style web videos, under
    Snakemake, with the dataset's own thresholds (`datasets.synthcity.retrieval`) reaching the
    jobs: threshold 0 keeps every thumbnail that is an image, and quality.json ranks the scores."""
    if sr.renderer_missing():
        pytest.skip(sr.renderer_missing())
    wd = sr.copy_run(tiny_run, tmp_path / "run")
    sr.write_config(wd, {
        "datasets": {"synthcity": {"retrieval": {"thumbnail_threshold": 0.0, "keyframe_threshold": 0.0,
                                                 "relevance_threshold": 0.0}}},
        "retrieval": {"classes": ["bus"], "search_results": 10, "clip_fps": 4,
                      "web": {"videos_per_class": 3, "seconds": 5, "fps": 4, "width": 64,
                              "height": 36, "faults": True, "seed": 1}}})
    sr.snakemake(wd, "--cores", "2", "results/synthcity/retrieval/quality.json", timeout=300)
    res = wd / "results/synthcity/retrieval"
    th = json.loads((res / "thumbnails/bus.json").read_text())
    assert th["threshold"] == 0.0 and {e["reason"] for e in th["errors"]} == {"not_an_image"}
    assert len(th["kept"]) == 5 and not th["rejected"]  # 3 videos + truncated + missing
    q = json.loads((res / "quality.json").read_text())
    assert q["truth"] == {"relevant_fraction": 0.05, "fps": 4}
    assert q["ranking"]["thumbnail"]["positives"] + q["ranking"]["thumbnail"]["negatives"] == 5
    assert q["thumbnails"]["recall"] == 1.0  # nothing rejected at threshold 0
    assert q["errors"]["download"] == {"corrupt": 1, "not_found": 1}
    assert q["clips"] >= 1 and (res / "clips/bus.h5").is_file()
