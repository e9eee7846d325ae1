"""Heatmap throughput: frames/s of the multi-scale CAM heatmaps at 512x256, per backbone.

For each backbone (EfficientNet-Lite0; VGG-16 at each width: slim = 0.125, full = 1.0),
precision (fp32, bf16 autocast) and device (CPU; CUDA when present) it times
``multiscale_heatmaps`` on a batch of random frames with the config's scales, side by side
in one process, and prints one TSV row per setting with its speed relative to the first row:

    python bench/heatmaps.py                     # short default run
    python bench/heatmaps.py --frames 8 --repeats 3 --widths 0.25 0.5 1.0

Weights are random (speed does not depend on them); 19 classes as in Cityscapes.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from tagseg.config import load_config
from tagseg.datasets.cityscapes import TABLE
from tagseg.heatmaps.cam import CAMNet
from tagseg.heatmaps.model import HeatmapModel
from tagseg.heatmaps.multiscale import multiscale_heatmaps

REPO = Path(__file__).resolve().parents[1]
CLASS_NAMES = TABLE.names  # the benchmark times the 19 Cityscapes classes


def bench(backbone: str, width: float, batch_norm: bool, device: torch.device, precision: str,
          frames: int, repeats: int, size: tuple[int, int], scales: list[float]) -> float:
    """Frames per second (best of ``repeats`` after one warm-up)."""
    cam = CAMNet(len(CLASS_NAMES), width=width, batch_norm=batch_norm, backbone=backbone).eval()
    model = HeatmapModel(CLASS_NAMES, {c: "cam" for c in CLASS_NAMES}, cam, CLASS_NAMES).to(device)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (frames, size[0], size[1], 3), dtype=np.uint8)
    # warm-up at the timed shapes (oneDNN / cuDNN pick kernels per shape on the first call)
    multiscale_heatmaps(model, x[:1], scales, device=device, precision=precision)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        multiscale_heatmaps(model, x, scales, device=device, precision=precision)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return frames / best


def main(argv: list[str] | None = None) -> int:
    cfg = load_config(REPO / "config" / "config.yaml")["heatmaps"]  # validated, defaults filled
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "vgg16"])
    p.add_argument("--widths", type=float, nargs="+", default=[0.125, 1.0], help="VGG-16 widths")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--frames", type=int, default=1, help="frames per timed batch")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--size", type=int, nargs=2, default=[256, 512], metavar=("H", "W"))
    p.add_argument("--scales", type=float, nargs="+", default=[float(s) for s in cfg["scales"]])
    p.add_argument("--threads", type=int, default=int(cfg["threads"]))
    p.add_argument("--cpu-only", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not a.cpu_only:
        devices.append(torch.device("cuda"))
    bn = bool(cfg["cam"]["batch_norm"])
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{a.threads} CPU threads, frames {a.size[1]}x{a.size[0]}, scales {a.scales}, "
          f"batch {a.frames}, best of {a.repeats}")
    print("device\tbackbone\twidth\tprecision\tframes_per_s\tvs_first")
    first = None
    for dev in devices:
        for backbone in a.backbones:
            widths = a.widths if backbone == "vgg16" else [float(cfg["cam"]["width"])]
            for w in widths:
                for prec in a.precisions:
                    fps = bench(backbone, w, bn, dev, prec, a.frames, a.repeats, tuple(a.size),
                                a.scales)
                    first = first or fps
                    print(f"{dev.type}\t{backbone}\t{w}\t{prec}\t{fps:.3f}\t{fps / first:.2f}",
                          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
