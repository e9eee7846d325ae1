"""Rules train / predict / evaluate / ablation on a tiny hand-made dataset (Snakemake end to end)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test_train import make_dataset

REPO = Path(__file__).resolve().parents[1]


def stamp_provenance(path: Path, config: dict, dataset: str, stage: str, manifest: Path) -> None:
    """Record in a hand-made shard the provenance the rules' current ``config`` expects."""
    import h5py

    from tagseg import h5io, provenance

    with h5py.File(path, "a") as f:
        f.attrs[h5io.DATASET] = dataset
        f.attrs[h5io.MANIFEST] = h5io.manifest_digest(manifest)
        f.attrs[h5io.INPUTS] = json.dumps(provenance.chain(config, stage))


@pytest.mark.e2e
@pytest.mark.slow
def test_rules_end_to_end(tmp_path):
    m, shards = make_dataset(tmp_path / "data")
    res = tmp_path / "results" / "tiny"
    m.root = str(tmp_path / "data")
    m.save(res / "manifest.json")
    for split in ("train", "val"):
        for stage, key in (("flow", "flow"), ("pseudolabels", "pseudo")):
            dst = res / stage / split / "shard-0.h5"
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(shards[split][key][0], dst)
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for split in ("train", "val"):
        for stage in ("flow", "pseudolabels"):
            stamp_provenance(res / stage / split / "shard-0.h5", cfg, "tiny", stage, res / "manifest.json")
    cfg["datasets"] = {"tiny": {"kind": "cityscapes", "root": m.root, "resize": 1.0, "min_tag_fraction": 0.0,
                                "shards": {"train": 1, "val": 1}}}
    cfg["device"] = "cpu"
    t = cfg["train"]
    # Two variants (the default and the oracle): a single-stream variant under Snakemake is
    # test_ablation_seeds' (no_heatmap), the losses of each variant test_train's.
    t["variants"] = {"rgb": {"two_stream": False, "losses": ["tag", "crf"]},
                     "ts": {"two_stream": True, "losses": ["tag", "crf", "pseudo"]},
                     "oracle": {"two_stream": True, "losses": ["gt"]}}
    t["variant"], t["ablation"] = "ts", ["ts", "oracle"]
    t["model"].update(width=0.0625, flow_L=2, head_channels=256)
    t.update(iterations=3, batch_size=2, checkpoint_every=2, log_every=1, threads=1)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    rules = REPO / "workflow" / "rules"
    (tmp_path / "Snakefile").write_text(
        "configfile: 'config.yaml'\n"
        + "".join(f"include: '{rules / n}.smk'\n" for n in ("common", "train", "predict", "evaluate"))
    )
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "-d", str(tmp_path), "-s",
           str(tmp_path / "Snakefile"), "results/tiny/metrics.json", "results/tiny/ablation.md"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["variant"] == "ts" and metrics["default_variant"] == "ts" and metrics["n_images"] == 2
    for kind in ("raw", "crf"):
        assert set(metrics[kind]) >= {"class_iou", "miou", "mean_class_accuracy", "global_accuracy",
                                      "category_iou", "category_miou"}
    md = (res / "ablation.md").read_text()
    assert "| ts (default) |" in md and "| oracle |" in md
    assert len(list((res / "predict" / "ts" / "crf").rglob("*_ts_labelIds.png"))) == 2
    assert (res / "logs" / "train" / "ts.log").read_text().count("ts it ") == 3
    # a config change in the variant's section reruns its training only
    t["variants"]["oracle"]["losses"] = ["gt", "tag"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    dry = subprocess.run(cmd + ["-n"], capture_output=True, text=True, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-2000:]
    out = dry.stdout + dry.stderr
    assert "results/tiny/train/oracle/model.pt" in out and "results/tiny/train/ts/model.pt" not in out
    # a variant outside the ablation and the default variant is not trained
    assert not (res / "train" / "rgb").exists()
