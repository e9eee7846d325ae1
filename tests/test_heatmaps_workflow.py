"""The heatmap rules (`classifiers`, `heatmaps`, `heatmaps_quality`) run under Snakemake.

A tmp workdir holds a hand-written tiny dataset and manifest (see test_heatmaps.py), a
Snakefile that includes only common.smk and heatmaps.smk, and the repository's config with a
small override; nothing is written into the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

from test_heatmaps import CAM_CFG, write_dataset

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_rules_build_classifier_heatmaps_and_quality(tmp_path):
    m = write_dataset(tmp_path / "data")
    m.dataset = "tiny"
    m.save(tmp_path / "results" / "tiny" / "manifest.json")
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["device"] = "cpu"
    cfg["datasets"] = {"tiny": {"kind": "cityscapes", "root": str(tmp_path / "data"), "resize": 1.0,
                                "min_tag_fraction": 0.0, "shards": {"train": 1, "val": 2}}}
    cfg["heatmaps"]["cam"] = dict(CAM_CFG, epochs=2, mosaic=0.5)
    cfg["heatmaps"]["scales"] = [1.0, 2.0]
    cfg["heatmaps"]["threads"] = 1
    cfg["flow"] = {"L": 4}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\n'
        f'include: "{REPO}/workflow/rules/common.smk"\n'
        f'include: "{REPO}/workflow/rules/heatmaps.smk"\n'
    )
    targets = ["results/tiny/heatmaps/quality.json", "results/tiny/heatmaps/train/shard-0.h5"]
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--rerun-triggers", "mtime",
         "-d", str(tmp_path), "-s", str(tmp_path / "Snakefile"), *targets],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    res = tmp_path / "results" / "tiny"
    acc = json.loads((res / "classifiers" / "accuracy.json").read_text())
    assert set(acc["classes"]) == {"road", "building", "sky", "car"}
    q = json.loads((res / "heatmaps" / "quality.json").read_text())
    assert q["frames"] == 2 and 0 <= q["miou"] <= 1
    with h5py.File(res / "heatmaps" / "val" / "shard-1.h5") as f:
        assert f.attrs["offsets"].tolist() == [-1, 0, 1, 2]  # train offset 0 ∪ (-2, 2]
        assert f.attrs["tagseg_stage"] == "heatmaps"
    assert (res / "logs" / "classifiers" / "train.log").stat().st_size > 0
    assert (res / "logs" / "heatmaps" / "val-1.log").is_file()
    assert (res / "benchmarks" / "heatmaps" / "quality.tsv").is_file()
