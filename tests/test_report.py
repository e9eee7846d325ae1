"""Report figures (tagseg.report) from small fake inputs, and `snakemake --report` on them.

The fake inputs are what the pipeline's stages write (metrics.json, ablation.json, the three
quality.json, labelId PNGs under predict/{variant}/{raw,crf}/, a manifest with val snippets
and ground truth), at 48x24 pixels, so the figures take seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tagseg import classes as cls
from tagseg import plan
from tagseg import report as rp
from tagseg.ablation import collect
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.images import write_png

REPO = Path(__file__).resolve().parents[1]
VARIANT = "two_stream"
H, W = 24, 48
NAMES = list(cls.CLASS_NAMES)


def _metrics(variant: str, miou: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {"dataset": "fake", "variant": variant, "split": "val", "n_images": 3}
    for kind, bonus in (("raw", 0.0), ("crf", 0.05)):
        ious = {n: float(np.clip(miou + bonus + rng.normal(0, 0.1), 0, 1)) for n in NAMES}
        ious["train"] = None  # absent from ground truth and predictions
        vals = [v for v in ious.values() if v is not None]
        out[kind] = {"class_iou": ious, "miou": float(np.mean(vals)), "mean_class_accuracy": 0.5,
                     "global_accuracy": 0.7, "category_miou": 0.6}
    return out


def make_fake(root: Path, n_val: int = 3) -> dict[str, Path]:
    """Write fake stage outputs for dataset 'fake' under ``root``; returns their paths."""
    r = root / "results" / "fake"
    data = root / "data"
    rng = np.random.default_rng(0)
    label_ids = [lab.label_id for lab in cls.TRAIN_LABELS]
    snippets = []
    for i in range(n_val + 1):
        split = "val" if i < n_val else "train"
        sid = f"fakecity_{i:06d}_000019"
        frames = []
        for k in range(3):
            p = data / "frames" / f"{sid}_{k}.png"
            write_png(p, rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
            frames.append(str(p))
        gt = np.full((H, W), label_ids[0], np.uint8)  # road
        gt[: H // 3] = cls.label("sky").label_id
        gt[H // 2:, W // 2:] = cls.label("car").label_id
        gt[0, 0] = 0  # unlabeled (void)
        gt_path = data / "gt" / f"{sid}_gtFine_labelIds.png"
        write_png(gt_path, gt)
        snippets.append(Snippet(id=sid, split=split, city="fakecity", frames=frames, annotated=1,
                                tags=["road", "sky", "car"], gt=str(gt_path)))
        if split == "val":
            raw = gt.copy()
            raw[H // 2:, : W // 4] = cls.label("person").label_id
            crf = gt.copy()
            for kind, img in (("raw", raw), ("crf", crf)):
                write_png(r / "predict" / VARIANT / kind / "fakecity" / f"{sid}_{VARIANT}_labelIds.png", img)
    Manifest(dataset="fake", kind="cityscapes", root=str(data), size=(H, W), resize=1.0,
             classes=NAMES, iconic=None, shards={"train": 1, "val": 1},
             snippets=snippets).save(r / "manifest.json")
    variants = {"no_heatmap": 0.2, "heatmap": 0.3, VARIANT: 0.4, "oracle": 0.6}
    for v, miou in variants.items():
        p = r / "evaluate" / f"{v}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(_metrics(v, miou, seed=len(v))))
    metrics = {**json.loads((r / "evaluate" / f"{VARIANT}.json").read_text()), "default_variant": VARIANT}
    (r / "metrics.json").write_text(json.dumps(metrics))
    (r / "ablation.json").write_text(json.dumps(
        collect({v: r / "evaluate" / f"{v}.json" for v in variants}, default=VARIANT)))
    for stage, q in {
        "flow": {"dataset": "fake", "split": "val", "epe": {"all": 1.5, "moving": 1.1, "static": 1.6}},
        "heatmaps": {"split": "val", "frames": n_val, "miou": 0.064},
        "pseudolabels": {"split": "val", "variants": {"pseudolabels": {"miou": 0.089, "coverage": 0.8}}},
    }.items():
        (r / stage).mkdir(parents=True, exist_ok=True)
        (r / stage / "quality.json").write_text(json.dumps(q))
    # the val pseudo-labels (one shard): train ids at working size, a block left unsure
    from tagseg.h5io import write_artifact
    from tagseg.pseudolabels.storage import write_labels

    pseudo_path = r / "pseudolabels" / "val" / "shard-0.h5"
    with write_artifact(pseudo_path, "pseudolabels") as f:
        for sn in snippets[:n_val]:
            gt_train = cls.TABLE.to_train_ids(cv2.imread(sn.gt, cv2.IMREAD_UNCHANGED))
            lab = gt_train.copy()
            lab[: H // 4, : W // 4] = 255
            write_labels(f, sn.id, [-1, 0], np.stack([np.full_like(lab, 255), lab]),
                         np.ones((2, H, W), np.float32))
    return {"results": r, "manifest": r / "manifest.json", "metrics": r / "metrics.json",
            "ablation": r / "ablation.json", "pred_root": r / "predict" / VARIANT,
            "pseudolabels": [pseudo_path]}


def _png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, f"{path}: not a readable PNG"
    return img


def test_make_figures_from_fake_inputs(tmp_path):
    f = make_fake(tmp_path)
    r = f["results"]
    out = r / "report"
    summary = rp.make_figures(f["manifest"], f["metrics"], r / "flow/quality.json",
                              r / "heatmaps/quality.json", r / "pseudolabels/quality.json",
                              f["pred_root"], out, ablation=f["ablation"], cfg={"frames": 2},
                              pseudolabels=f["pseudolabels"])
    assert summary["variant"] == VARIANT
    for name in ("ablation.png", "class_iou.png", "quality_ladder.png"):
        img = _png(out / name)
        assert img.shape[0] > 100 and img.shape[1] > 200, (name, img.shape)
        assert img.std() > 10, f"{name} looks blank"
    page = (out / "ablation.html").read_text()
    for v in ("no_heatmap", "heatmap", VARIANT, "oracle", "(default)"):
        assert v in page
    table = json.loads(f["ablation"].read_text())
    assert f"{100 * table['variants'][VARIANT]['crf']['miou']:.1f}" in page
    # Two of three val frames, evenly spread: the first and the last; the train snippet never.
    frames = sorted(p.name for p in (out / "frames").iterdir())
    assert frames == ["fakecity_000000_000019.png", "fakecity_000002_000019.png"]
    img = _png(out / "frames" / frames[0])
    assert img.shape[1] > 4 * img.shape[0] / 2  # five panels side by side (with the pseudo-label)
    # crf equals the ground truth: all evaluated pixels right; raw misses the 'person' block.
    acc = summary["frames"][0]["pixel_accuracy"]
    assert acc["crf"] == 1.0
    assert acc["raw"] == pytest.approx(1 - (H // 2) * (W // 4) / (H * W - 1), abs=1e-6)
    # the pseudo-label panel: the annotated frame's labels (offset 0), its unsure block uncovered
    assert summary["frames"][0]["pseudo_coverage"] == pytest.approx(1 - (H // 4) * (W // 4) / (H * W))
    assert acc["pseudo"] == 1.0
    from tagseg.datasets import camvid, kinds

    for t in [kinds.table(k) for k in kinds.MODULES] + [camvid.SEGNET_TABLE]:  # unsure: no class's colour
        assert rp.unsure_colour(t) not in {tuple(lab.color) for lab in t.labels}, t.name
    assert not list(out.rglob(".*.tmp*")), "temporary files left behind"


def test_figures_of_a_still_image_dataset_have_no_flow(tmp_path):
    """Still images (kind voc): no flow quality file; the ladder has the mIoU panel alone."""
    f = make_fake(tmp_path)
    r = f["results"]
    (r / "flow" / "quality.json").unlink()
    out = r / "report"
    summary = rp.make_figures(f["manifest"], f["metrics"], None, r / "heatmaps/quality.json",
                              r / "pseudolabels/quality.json", f["pred_root"], out,
                              ablation=f["ablation"], cfg={"frames": 1}, pseudolabels=f["pseudolabels"])
    lad = _png(out / "quality_ladder.png")
    assert lad.std() > 10 and len(summary["frames"]) == 1
    with_flow = tmp_path / "with_flow.png"
    rp.ladder_figure(rp.ladder({"epe": {"all": 1.0}}, {"miou": 0.1}, {}, json.loads(f["metrics"].read_text())),
                     with_flow)
    assert lad.shape[1] < _png(with_flow).shape[1]  # one panel, not two


def test_ladder_reads_each_stage():
    flow = {"epe": {"all": 1.5, "moving": 1.1, "static": 1.6}}
    heat = {"miou": 0.06, "frames": 4}
    pseudo = {"variants": {"full": {"miou": 0.08}, "pseudolabels": {"miou": 0.09, "coverage": 0.5}}}
    metrics = {"variant": "two_stream", "raw": {"miou": 0.1}, "crf": {"miou": 0.12}}
    table = {"variants": {"oracle": {"crf": {"miou": 0.3}}}}
    lad = rp.ladder(flow, heat, pseudo, metrics, table)
    assert lad["epe"] == {"all": 1.5, "moving": 1.1, "static": 1.6}
    assert [s[1] for s in lad["steps"]] == [0.06, 0.09, 0.1, 0.12]
    assert "coverage 50 %" in lad["steps"][1][2]
    assert lad["oracle"] == 0.3
    # Cityscapes: no flow ground truth (epe None) -> drawn as a note, not an error.
    lad = rp.ladder({"epe": None, "note": "no flow ground truth"}, heat, pseudo, metrics)
    assert lad["epe"] == {"all": None, "moving": None, "static": None} and lad["oracle"] is None
    # still images (kind voc): no flow stage at all
    lad = rp.ladder(None, heat, pseudo, metrics)
    assert lad["epe"] is None and [s[1] for s in lad["steps"]] == [0.06, 0.09, 0.1, 0.12]


def test_without_ablation_the_table_holds_the_default_variant(tmp_path):
    f = make_fake(tmp_path)
    table = rp.ablation_table(None, f["metrics"])
    assert list(table["variants"]) == [VARIANT] and table["default_variant"] == VARIANT
    rp.ablation_html(table, tmp_path / "a.html", note="default variant only")
    assert "default variant only" in (tmp_path / "a.html").read_text()


def test_missing_prediction_names_the_file(tmp_path):
    f = make_fake(tmp_path)
    from tagseg.datasets.manifest import load

    s = load(f["manifest"]).split("val")[0]
    p = rp.prediction_path(f["pred_root"], "crf", s, VARIANT)
    p.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(p))):
        rp.frame_figure(s, f["pred_root"], VARIANT, tmp_path / "x.png", load(f["manifest"]).table)


def test_select_frames_spreads_evenly():
    class S:
        def __init__(self, i, gt=True):
            self.id, self.gt = i, ("gt" if gt else None)
    snips = [S(i, gt=i != 3) for i in range(9)]
    assert [s.id for s in rp.select_frames(snips, 3)] == [0, 5, 8]
    assert [s.id for s in rp.select_frames(snips, 20)] == [0, 1, 2, 4, 5, 6, 7, 8]
    assert rp.select_frames(snips, 0) == []


def test_report_inputs_follow_the_config():
    cfg = {"datasets": {"synthcity": {"kind": "synthcity", "shards": {"train": 1, "val": 2}},
                        "voc": {"kind": "voc", "shards": {"train": 1, "val": 1}}},
           "train": {"variant": "two_stream", "ablation": ["two_stream"],
                     "variants": {"two_stream": {}}},
           "report": {"frames": 2, "ablation": False}}
    i = plan.report_inputs(cfg, "synthcity")
    assert "ablation" not in i and i["raw"] == "results/synthcity/predict/two_stream/raw"
    assert i["flow_quality"] == "results/synthcity/flow/quality.json"
    assert i["pseudolabels"] == [f"results/synthcity/pseudolabels/val/shard-{k}.h5" for k in (0, 1)]
    cfg["report"]["ablation"] = True
    assert plan.report_inputs(cfg, "synthcity")["ablation"] == "results/synthcity/ablation.json"
    voc = plan.report_inputs(cfg, "voc")  # still images: the report asks for no flow quality
    assert "flow_quality" not in voc and voc["pseudolabels"] == ["results/voc/pseudolabels/val/shard-0.h5"]


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake on a Snakefile holding only the repository's report rule (and its `report:`
    description), so the fake files are its inputs and no upstream stage is built."""
    (workdir / "Snakefile").write_text(
        f'configfile: "{REPO}/config/config.yaml"\n'
        f'report: "{REPO}/workflow/report/workflow.rst"\n'
        f'include: "{REPO}/workflow/rules/common.smk"\n'
        f'include: "{REPO}/workflow/rules/report.smk"\n')
    fake = {"kind": "synthcity", "root": "data/fake", "resize": 1.0, "min_tag_fraction": 0.0,
            "shards": {"train": 1, "val": 1}}  # the report reads the dataset's kind and variant
    (workdir / "c.yaml").write_text(json.dumps({"report": {"frames": 2}, "train": {"variant": VARIANT},
                                                "datasets": {"fake": fake}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(workdir / "Snakefile"), "-d", str(workdir),
           "--configfile", str(REPO / "config" / "config.yaml"), str(workdir / "c.yaml"),
           "--nocolor", "--cores", "1", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, f"snakemake {' '.join(args)} failed:\n{(r.stdout + r.stderr)[-5000:]}"
    return r


def test_snakemake_report_shows_the_figures(tmp_path):
    make_fake(tmp_path)
    target = "results/fake/report/ablation.html"
    # The README's command: build the figures, then the report, in one call.
    r = _snakemake(tmp_path, target, "--report", str(tmp_path / "report.html"), "--report-after-run")
    for name in (*rp.FIGURES, "frames"):
        assert (tmp_path / "results/fake/report" / name).exists(), name
    assert (tmp_path / "results/fake/logs/report/figures.log").is_file()
    assert (tmp_path / "results/fake/benchmarks/report/figures.tsv").is_file()
    html = (tmp_path / "report.html").read_text()
    for name in ("ablation.png", "class_iou.png", "quality_ladder.png", "ablation.html",
                 "fakecity_000000_000019.png", "1. Ablation", "2. Per-class IoU",
                 "3. Quality per stage", "4. Qualitative frames", "learns semantic segmentation"):
        assert name in html, f"{name!r} missing from the report\n{(r.stdout + r.stderr)[-2000:]}"


def test_metrics_never_needs_the_report_but_the_report_target_builds(tmp_path):
    """Dry runs of the real Snakefile: metrics.json plans no report job; a report figure plans
    it with the ablation (report.ablation true) or without it (false)."""
    from snakemake_runs import RESULTS, planned_jobs, write_config

    write_config(tmp_path)
    assert "report_figures" not in planned_jobs(tmp_path, f"{RESULTS}/metrics.json")
    jobs = planned_jobs(tmp_path, f"{RESULTS}/report/class_iou.png")
    assert jobs["report_figures"] == 1 and jobs["ablation"] == 1
    write_config(tmp_path, {"report": {"ablation": False}})
    jobs = planned_jobs(tmp_path, f"{RESULTS}/report/frames")
    assert jobs["report_figures"] == 1 and "ablation" not in jobs


@pytest.mark.slow
@pytest.mark.e2e
def test_report_of_the_whole_tiny_dag(tiny_run, tmp_path):
    """The real Snakefile on tiny synthcity: build the report figures (the whole DAG, two tiny
    trainings for the ablation), then `snakemake --report`. Starts from a copy of the shared
    complete run: the changed `train` and `report` sections rerun training and what follows."""
    from snakemake_runs import RESULTS, copy_run, renderer_missing, snakemake, write_config

    if why := renderer_missing():
        pytest.skip(why)
    tmp_path = copy_run(tiny_run, tmp_path / "run")
    write_config(tmp_path, {
        "train": {"ablation": ["no_heatmap", "two_stream"], "iterations": 2, "batch_size": 1,
                  "checkpoint_every": 0, "log_every": 1, "threads": 1},
        "report": {"frames": 2},
    })
    target = f"{RESULTS}/report/quality_ladder.png"
    snakemake(tmp_path, "--cores", "2", target, timeout=900)
    frames = sorted((tmp_path / RESULTS / "report" / "frames").glob("*.png"))
    assert len(frames) == 2
    ablation = json.loads((tmp_path / RESULTS / "ablation.json").read_text())
    assert list(ablation["variants"]) == ["no_heatmap", "two_stream"]
    snakemake(tmp_path, "--report", str(tmp_path / "report.html"), target)
    html = (tmp_path / "report.html").read_text()
    for name in ("quality_ladder.png", "class_iou.png", "ablation.html", frames[0].name,
                 "metrics.json", "ablation.md", "5. Score files"):
        assert name in html, f"{name!r} missing from the report"
