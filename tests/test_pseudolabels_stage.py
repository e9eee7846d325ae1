"""Pseudo-label stage wrapper and quality report on tiny hand-written shards, written with
the flow and heatmaps stages' own writers (``write_pairs``, ``write_snippet``)."""

from __future__ import annotations

import json
import cv2
import numpy as np
import pytest

from tagseg import h5io
from tagseg.classes import CLASS_NAMES, train_id_to_label_id_lut
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.config import section
from tagseg.flow.storage import write_pairs
from tagseg.heatmaps.storage import write_snippet
from tagseg.pseudolabels.quality import evaluate
from tagseg.pseudolabels.stage import PseudoLabelInputError, run_shard
from tagseg.pseudolabels.storage import read_ablations, read_labels

H, W = 32, 64
OFFS = list(range(-1, 3))  # frames -1..2 (L = 4 window: -1..2)


def _snippet_data(seed):
    """Frames, flows and heatmaps of a road/sky scene with a car moving 2 px/frame."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((len(OFFS), H, W), np.uint8)  # train ids
    frames = np.zeros((len(OFFS), H, W, 3), np.uint8)
    flow = np.zeros((len(OFFS), 2, H, W), np.float32)
    for t in range(len(OFFS)):
        g = np.full((H, W), 10, np.uint8)  # sky
        g[H // 2:] = 0  # road
        x0 = 10 + 2 * t
        g[12:24, x0:x0 + 16] = 13  # car
        gt[t] = g
        pal = {10: (70, 130, 180), 0: (128, 64, 128), 13: (0, 0, 142)}
        img = np.zeros((H, W, 3))
        for k, c in pal.items():
            img[g == k] = c
        frames[t] = np.clip(img + rng.normal(0, 5, img.shape), 0, 255)
        flow[t, 0][g == 13] = 2.0
    maps = np.full((len(OFFS), 19, H, W), 0.1, np.float32)
    for k in (0, 10):
        maps[:, k][gt == k] = 0.8
    maps[:, 13][gt == 13] = 0.45
    maps = np.clip(maps + rng.normal(0, 0.25, maps.shape), 0, 1).astype(np.float32)
    return frames, flow, maps, gt


def _write_inputs(tmp_path, n=2, size=(H, W), heat_frames=OFFS, flow_pairs=OFFS):
    snippets, datas = [], []
    for i in range(n):
        frames, flow, maps, gt = _snippet_data(i)
        sid = f"town_{i:06d}_000019"
        paths = []
        for t, o in enumerate(OFFS):
            p = tmp_path / "frames" / f"{sid}_{o}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), cv2.cvtColor(frames[t], cv2.COLOR_RGB2BGR))
            paths.append(str(p))
        gtp = tmp_path / "gt" / f"{sid}_gtFine_labelIds.png"
        gtp.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(gtp), train_id_to_label_id_lut()[gt[OFFS.index(0)]])
        snippets.append(Snippet(id=sid, split="val", city="town", frames=paths, annotated=1,
                                tags=["road", "sky", "car"], gt=str(gtp)))
        datas.append((frames, flow, maps, gt))
    m = Manifest("tiny", "synthcity", str(tmp_path), (H, W), 1.0, list(CLASS_NAMES), None, {"val": 1}, snippets)
    m.save(tmp_path / "manifest.json")
    with h5io.write_artifact(tmp_path / "flow.h5", "flow") as f:
        for s, (_, flow, _, _) in zip(snippets, datas):
            rows = [OFFS.index(o) for o in flow_pairs]
            fl = flow[rows]
            if size != (H, W):
                fl = np.zeros((len(rows), 2) + tuple(size), np.float32)
            write_pairs(f, s.id, np.array(flow_pairs), fl, section("flow.storage", {"encoding": "float32", "compression": "none"}))
    with h5io.write_artifact(tmp_path / "heat.h5", "heatmaps") as f:
        for s, (_, _, maps, _) in zip(snippets, datas):
            rows = [OFFS.index(o) for o in heat_frames]
            write_snippet(f, s.id, np.array(heat_frames), maps[rows], maps[rows].max(axis=(2, 3)), (H, W))
    return m, datas


def test_run_shard_writes_labels_and_quality(tmp_path):
    m, datas = _write_inputs(tmp_path)
    cfg = section("pseudolabels", {"superpixels": {"pixels_per_superpixel": 30}, "lambda_a": 2.0,
                                   "lambda_m": 1.0, "lambda_c": 2.0, "solver": "expansion"})
    out = tmp_path / "pl" / "shard-0.h5"
    summary = run_shard(tmp_path / "manifest.json", tmp_path / "flow.h5", tmp_path / "heat.h5", out,
                        "val", 0, cfg, L=4)
    assert summary["snippets"] == 2
    with h5io.open_artifact(out, "pseudolabels", config=cfg) as f:
        for s, (_, _, _, gt) in zip(m.snippets, datas):
            offs, lab, conf = read_labels(f, s.id)
            assert offs.tolist() == OFFS and lab.shape == (4, H, W) and lab.dtype == np.uint8
            assert set(np.unique(lab)) <= {0, 10, 13, 255}
            assert (lab == gt).mean() > 0.9
            assert conf.shape == lab.shape
            assert "attention" in read_ablations(f, s.id)
    q = evaluate(tmp_path / "manifest.json", [out], [tmp_path / "heat.h5"])
    json.dumps(q)  # serialisable (NaN -> None)
    v = q["variants"]
    assert q["n_snippets"] == 2
    assert {"heatmap_argmax_all", "heatmap_argmax_tagged", "attention", "full", "pseudolabels"} <= set(v)
    assert v["full"]["miou"] > v["heatmap_argmax_tagged"]["miou"]
    assert q["gain_over_heatmap_argmax"]["points"] > 0


def test_mismatched_inputs_name_both_files(tmp_path):
    _write_inputs(tmp_path, n=1, flow_pairs=[1, 2])
    with pytest.raises(PseudoLabelInputError, match=r"heat\.h5.*flow\.h5"):
        run_shard(tmp_path / "manifest.json", tmp_path / "flow.h5", tmp_path / "heat.h5",
                  tmp_path / "out.h5", "val", 0, section("pseudolabels"), L=4)
    assert not (tmp_path / "out.h5").exists()  # nothing half-written


def test_mismatched_sizes_name_both_files(tmp_path):
    _write_inputs(tmp_path, n=1, size=(16, 32))
    with pytest.raises(PseudoLabelInputError, match=r"16x32.*flow\.h5"):
        run_shard(tmp_path / "manifest.json", tmp_path / "flow.h5", tmp_path / "heat.h5",
                  tmp_path / "out.h5", "val", 0, section("pseudolabels"), L=4)


def test_snippet_without_tags_fails_naming_it(tmp_path):
    m, _ = _write_inputs(tmp_path, n=1)
    m.snippets[0].tags = []
    m.save(tmp_path / "manifest.json")
    with pytest.raises(PseudoLabelInputError, match="town_000000_000019.*no tagged classes"):
        run_shard(tmp_path / "manifest.json", tmp_path / "flow.h5", tmp_path / "heat.h5",
                  tmp_path / "out.h5", "val", 0, section("pseudolabels"), L=4)


def test_rules_dry_run(tmp_path):
    """The rules wire flow + heatmap shards to pseudo-label shards and quality.json."""
    import shutil
    import subprocess
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    shutil.copytree(repo / "workflow", tmp_path / "workflow")
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    cfg.setdefault("flow", {"L": 10})
    cfg["datasets"]["synthcity"]["shards"] = {"train": 1, "val": 2}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "Snakefile").write_text(
        'configfile: "cfg.yaml"\n'
        'include: "workflow/rules/common.smk"\n'
        'include: "workflow/rules/pseudolabels.smk"\n')
    for p in ["results/synthcity/manifest.json"] + [
            f"results/synthcity/{s}/val/shard-{k}.h5" for s in ("flow", "heatmaps") for k in (0, 1)]:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).touch()
    r = subprocess.run(["snakemake", "-n", "-c1", "results/synthcity/pseudolabels/quality.json"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "pseudolabels_quality" in r.stdout
    assert r.stdout.count("rule pseudolabels:") == 2  # one job per val shard


def test_partial_tags_label_the_keyword_against_an_unsure_background(tmp_path):
    """A web snippet tagged only 'car' (tags_complete False): car pixels become car, the rest
    255 (Hong et al.'s keyword-vs-background problem), not car everywhere."""
    m, datas = _write_inputs(tmp_path, n=1)
    for s in m.snippets:
        s.tags, s.extra = ["car"], {"tags_complete": False}
    m.save(tmp_path / "manifest.json")
    cfg = section("pseudolabels", {"superpixels": {"pixels_per_superpixel": 30}, "solver": "expansion"})
    out = tmp_path / "pl" / "shard-0.h5"
    run_shard(tmp_path / "manifest.json", tmp_path / "flow.h5", tmp_path / "heat.h5", out, "val", 0, cfg, L=4)
    gt = datas[0][3]
    with h5io.open_artifact(out, "pseudolabels", config=cfg) as f:
        _, lab, _ = read_labels(f, m.snippets[0].id)
    assert set(np.unique(lab)) <= {13, 255}
    car = lab == 13
    assert (gt[car] == 13).mean() > 0.8 and 0 < car.mean() < 0.5
