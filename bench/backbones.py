"""Training speed per backbone, side by side in one process: iterations/s of the two-stream
network (forward, loss, backward, AdamW step) and of the CAM classifier, with random data.

    python bench/backbones.py                              # the config's sizes, 2 threads
    python bench/backbones.py --size 512 1024 --batch 1    # the paper's frame size

One TSV row per (network, backbone, frozen blocks) with iterations/s and the ratio to the
first row of the same network. VGG-16 runs at the given ``--vgg-width`` with BatchNorm (the
from-scratch setting); EfficientNet-Lite0 at the config's frozen-block counts and with none
frozen. Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tagseg.config import load_config
from tagseg.heatmaps.cam import CAMNet
from tagseg.model.two_stream import NetConfig, TwoStreamNet
from tagseg.plan import flow_L

REPO = Path(__file__).resolve().parents[1]


def timed(step, repeats: int) -> float:
    """Iterations per second: best of ``repeats`` after one warm-up step."""
    step()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return 1.0 / best


def two_stream_step(backbone: str, frozen: int, width: float, size, batch: int, L: int):
    net = TwoStreamNet(NetConfig(num_classes=19, width=width, flow_channels=2 * L, batch_norm=True,
                                 backbone=backbone, dropout=0.1)).train()
    if frozen:
        net.appearance.freeze(frozen)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], 1e-4)
    rgb, flow = torch.randn(batch, 3, *size), torch.randn(batch, 2 * L, *size)
    target = torch.randint(0, 19, (batch, *size))

    def step():
        loss = F.cross_entropy(net(rgb, flow), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def cam_step(backbone: str, frozen: int, width: float, side: int, batch: int):
    net = CAMNet(19, width=width, batch_norm=True, backbone=backbone).train()
    if frozen:
        net.features.freeze(frozen)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], 1e-3)
    x, y = torch.randn(batch, 3, side, side), torch.randint(0, 19, (batch,))

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main(argv: list[str] | None = None) -> int:
    cfg = load_config(REPO / "config" / "config.yaml")  # validated, defaults filled
    synth = cfg["datasets"]["synthcity"]["synth"]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, nargs=2, default=[synth["height"], synth["width"]], metavar=("H", "W"))
    p.add_argument("--batch", type=int, default=int(cfg["train"]["batch_size"]))
    p.add_argument("--vgg-width", type=float, default=0.125)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    L = flow_L(cfg)
    eff_width = float(cfg["train"]["model"]["width"])
    rows = [("vgg16", 0, a.vgg_width), ("efficientnet_lite0", 0, eff_width),
            ("efficientnet_lite0", int(cfg["train"]["model"]["frozen_blocks"]), eff_width)]
    cam_cfg = cfg["heatmaps"]["cam"]
    cam_rows = [("vgg16", 0, a.vgg_width), ("efficientnet_lite0", 0, float(cam_cfg["width"])),
                ("efficientnet_lite0", int(cam_cfg["frozen_blocks"]), float(cam_cfg["width"]))]
    print(f"# torch {torch.__version__}, {a.threads} threads; two-stream {a.size[1]}x{a.size[0]} "
          f"batch {a.batch} L {L}; CAM {cam_cfg['input_size']} px batch {cam_cfg['batch_size']}")
    print("network\tbackbone\tfrozen_blocks\titerations_per_s\tvs_first")
    for name, make, spec in (
        ("two_stream", lambda b, f, w: two_stream_step(b, f, w, tuple(a.size), a.batch, L), rows),
        ("cam", lambda b, f, w: cam_step(b, f, w, int(cam_cfg["input_size"]),
                                         int(cam_cfg["batch_size"])), cam_rows),
    ):
        first = None
        for backbone, frozen, width in dict.fromkeys(spec):
            its = timed(make(backbone, frozen, width), a.repeats)
            first = first or its
            print(f"{name}\t{backbone}\t{frozen}\t{its:.3f}\t{its / first:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
