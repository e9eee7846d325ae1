"""The ablation over training seeds as a DAG target: runs ``{variant}-seed{k}``, the
``ablation_seeds`` table, and one real run on a copy of the shared tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import snakemake_runs as sr
from tagseg import ablation, plan

CONFIG = {"seed": 0, "train": {"variant": "two_stream_pseudo", "ablation": ["heatmap", "oracle"],
                               "seeds": [0, 2],
                               "variants": {"heatmap": {"two_stream": False, "losses": ["tag"]},
                                            "two_stream_pseudo": {"two_stream": True, "losses": ["pseudo"]},
                                            "oracle": {"two_stream": True, "losses": ["gt"]}}}}


def test_run_names_carry_the_training_seed():
    assert plan.run_name("two_stream", 2) == "two_stream-seed2"
    assert plan.split_run("two_stream-seed2") == ("two_stream", 2)
    assert plan.split_run("two_stream_pseudo") == ("two_stream_pseudo", None)
    assert plan.train_seed(CONFIG, "oracle-seed2") == 2
    assert plan.train_seed(CONFIG, "oracle") == 0  # the default run: the config's seed
    assert plan.variant(CONFIG, "oracle-seed7") == {"two_stream": True, "losses": ["gt"]}
    assert plan.seed_runs(CONFIG) == [("heatmap", 0, "heatmap-seed0"), ("heatmap", 2, "heatmap-seed2"),
                                      ("oracle", 0, "oracle-seed0"), ("oracle", 2, "oracle-seed2")]
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        plan.variant(CONFIG, "nope-seed1")
    # the seeds list is not part of what a training depends on
    full = {**CONFIG, "flow": {"L": 10}, "train": {**CONFIG["train"], "model": {"flow_L": None}}}
    other = {**full, "train": {**full["train"], "seeds": [5]}}
    assert plan.train_config(full, "oracle-seed0") == plan.train_config(other, "oracle-seed0")


def _metrics(path: Path, raw: float, crf: float) -> Path:
    path.write_text(json.dumps({"dataset": "d", "split": "val", "raw": {"miou": raw},
                                "crf": {"miou": crf}}))
    return path


def test_seeds_table_means_and_share_of_the_oracle(tmp_path):
    runs = [("two_stream_pseudo", 0, _metrics(tmp_path / "a", 0.10, 0.12)),
            ("two_stream_pseudo", 1, _metrics(tmp_path / "b", 0.12, 0.14)),
            ("oracle", 0, _metrics(tmp_path / "c", 0.20, 0.25)),
            ("oracle", 1, _metrics(tmp_path / "d", 0.24, 0.27))]
    t = ablation.write_seeds(runs, tmp_path / "t.json", tmp_path / "t.md", default="two_stream_pseudo")
    assert t["seeds"] == [0, 1]
    assert t["variants"]["two_stream_pseudo"]["mean"] == pytest.approx({"raw": 0.11, "crf": 0.13})
    assert t["default_share_of_oracle"] == pytest.approx({"raw": 0.11 / 0.22, "crf": 0.13 / 0.26})
    md = (tmp_path / "t.md").read_text()
    assert "| `two_stream_pseudo` (default) | 10.0 / 12.0 | 12.0 / 14.0 | 11.0 / 13.0 |" in md
    assert "reaches 0.50 of the oracle's mean mIoU raw, 0.50 after the CRF" in md
    assert json.loads((tmp_path / "t.json").read_text())["variants"]["oracle"]["seeds"]["1"]["crf"] == 0.27
    no_oracle = ablation.seeds_table(runs[:2], default="two_stream_pseudo")
    assert no_oracle["default_share_of_oracle"] is None


@pytest.mark.e2e
def test_ablation_seeds_target_trains_each_seed(tiny_run, tmp_path):
    """`results/{dataset}/ablation_seeds.md` on a copy of the shared tiny run: one variant x two
    training seeds; the default run is not retrained, each run trains with its own seed."""
    wd = sr.copy_run(tiny_run, tmp_path / "run")
    sr.write_config(wd, {"train": {"ablation": ["no_heatmap"], "seeds": [0, 1]}})
    target = f"{sr.RESULTS}/ablation_seeds.md"
    default_model = wd / sr.RESULTS / "train" / sr.VARIANT / "model.pt"
    before = default_model.stat().st_mtime_ns
    r = sr.snakemake(wd, "--cores", "2", target, timeout=600)
    jobs = sr.run_jobs(r)  # what the run planned
    assert jobs.get("train") == 2 and jobs.get("predict") == 2 and jobs.get("ablation_seeds") == 1, jobs
    assert default_model.stat().st_mtime_ns == before
    seeds = [torch.load(wd / sr.RESULTS / "train" / f"no_heatmap-seed{k}" / "model.pt",
                        map_location="cpu", weights_only=False)["meta"]["seed"] for k in (0, 1)]
    assert seeds == [0, 1]
    table = json.loads((wd / sr.RESULTS / "ablation_seeds.json").read_text())
    row = table["variants"]["no_heatmap"]
    assert set(row["seeds"]) == {"0", "1"}
    assert row["mean"]["raw"] == pytest.approx((row["seeds"]["0"]["raw"] + row["seeds"]["1"]["raw"]) / 2)
    assert "no_heatmap" in (wd / target).read_text()
