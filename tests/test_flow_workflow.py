"""End-to-end: rules `flow` and `flow_quality` on a tiny rendered synthcity (Snakemake, tmp dir)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tagseg import h5io
from tagseg.flow import storage

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
@pytest.mark.slow
def test_flow_rules_on_tiny_synthcity(tmp_path):
    pytest.importorskip("synthcity")
    for name in ("Snakefile", "workflow", "config", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    snakefile = tmp_path / "Snakefile"
    if "flow.smk" not in snakefile.read_text():  # until the lead includes it
        snakefile.write_text(snakefile.read_text() + '\ninclude: "workflow/rules/flow.smk"\n')
    cfg = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    sc = cfg["datasets"]["synthcity"]
    cfg["datasets"] = {"synthcity": {**sc, "shards": {"train": 1, "val": 1},
                                     "synth": {"seed": 0, "width": 64, "height": 32, "train_snippets": 1,
                                               "val_snippets": 1, "iconic_per_class": 1}}}
    cfg["flow"].update(L=4, threads=1)
    cfg["flow"]["tvl1"].update(nscales=2, warps=2, outer_iterations=3)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1",
                        "results/synthcity/flow/quality.json"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    q = json.loads((tmp_path / "results/synthcity/flow/quality.json").read_text())
    assert q["backend"] == "opencv" and q["pairs"] == 4 and q["epe"]["all"] < 3.0
    shard = tmp_path / "results/synthcity/flow/val/shard-0.h5"
    stage_cfg = {k: v for k, v in cfg["flow"].items() if k != "threads"}  # the rule's params
    with h5io.open_artifact(shard, "flow", config=stage_cfg) as f:
        (sid,) = list(f.keys())
        assert storage.read_stack(f, sid, 0, 4).shape == (8, 32, 64)
    assert (tmp_path / "results/synthcity/logs/flow/val-0.log").exists()
    assert (tmp_path / "results/synthcity/benchmarks/flow/val-0.tsv").exists()
