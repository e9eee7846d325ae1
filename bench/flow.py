"""Benchmark the flow backends against OpenCV's reference TV-L1 call, in one process.

For each size (default 512x256 and 1024x512) it times, on the same gray frame pairs:

* ``reference``: ``cv2.optflow.DualTVL1OpticalFlow_create(...).calc`` called directly,
* ``opencv``: tagseg's opencv backend (the same call behind the stage's interface),
* ``torch``: tagseg's PyTorch TV-L1, batched, on CUDA when present (else CPU),

and prints pairs/s, the ratio ours / reference, and the mean end-point error (pixels) of each
against the exact flow. Pairs come from a rendered synthcity tree (``--synthcity ROOT``:
val snippets, pairs around the annotated frame, frames resized to the bench size and ground
truth rescaled) or, by default, from synthetic textured pairs with a known smooth flow.

    python bench/flow.py                         # short: 2 pairs per size
    python bench/flow.py --pairs 8 --repeat 3 --batch-size 8
    python bench/flow.py --synthcity data/synthcity --sizes 1024x512 --pairs 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from synthcity import flow_pairs as S  # noqa: E402
from tagseg.flow.opencv_tvl1 import OpenCVTVL1, create  # noqa: E402
from tagseg.flow.params import TVL1Params  # noqa: E402
from tagseg.flow.torch_tvl1 import TorchTVL1  # noqa: E402


def synthetic_pairs(n: int, h: int, w: int):
    """n gray pairs with motion growing with the size (up to ~3 % of the width)."""
    out = []
    for i in range(n):
        shift = ((0.01 + 0.02 * i / max(1, n - 1)) * w, -0.005 * h)
        out.append(S.pair(h, w, shift=shift, amp=0.004 * w, seed=i))
    return out


def synthcity_pairs(root: str, n: int, h: int, w: int):
    """n gray pairs (+ exact flow, valid mask) from rendered synthcity val snippets."""
    from tagseg.datasets.cityscapes import build_manifest
    from tagseg.flow.quality import read_gt

    m = build_manifest("bench", {"kind": "synthcity", "root": root, "resize": 1.0,
                                 "min_tag_fraction": 0.0, "shards": {"train": 1, "val": 1}, "iconic": None})
    out = []
    for s in m.split("val"):
        if not s.flow_gt:
            continue
        offs, flow, _moving, valid = read_gt(s.flow_gt, (h, w))
        for j, k in enumerate(offs.tolist()):
            if k not in range(-4, 6):
                continue
            g = [cv2.cvtColor(cv2.resize(cv2.imread(s.frame_path(o)), (w, h), interpolation=cv2.INTER_AREA),
                              cv2.COLOR_BGR2GRAY) for o in (k, k + 1)]
            out.append((g[0], g[1], flow[j], valid[j]))
            if len(out) == n:
                return out
    if not out:
        raise SystemExit(f"{root}: no val snippet with flow ground truth")
    return out


def epe(flows: np.ndarray, pairs) -> float:
    errs = []
    for f, p in zip(flows, pairs):
        e = np.sqrt(((f - p[2]) ** 2).sum(0))
        mask = p[3] if len(p) > 3 else np.ones(e.shape, bool)
        b = 8  # synthetic pairs: skip the border, where frame 1 has no content
        if len(p) <= 3:
            mask = np.zeros(e.shape, bool)
            mask[b:-b, b:-b] = True
        errs.append(e[mask])
    return float(np.concatenate(errs).mean())


def timed(fn, repeat: int, sync=None):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="512x256,1024x512", help="WxH list (default: %(default)s)")
    ap.add_argument("--pairs", type=int, default=2, help="frame pairs per size (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, help="timing repeats, best kept (default: %(default)s)")
    ap.add_argument("--batch-size", type=int, default=8, help="torch backend batch (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for OpenCV and torch (default: %(default)s)")
    ap.add_argument("--device", default="auto", help="torch device: auto (CUDA when present) | cpu | cuda")
    ap.add_argument("--synthcity", default=None, help="rendered synthcity root (default: synthetic pairs)")
    ap.add_argument("--scale-step", type=float, default=0.5, help="TV-L1 scale step (default: %(default)s)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args(argv)

    from tagseg.device import resolve

    device = resolve(args.device)
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    params = TVL1Params(scale_step=args.scale_step)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    print(f"device={device} threads={args.threads} torch={torch.__version__} opencv={cv2.__version__} "
          f"params={params.to_config()}")
    results = []
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        pairs = synthcity_pairs(args.synthcity, args.pairs, h, w) if args.synthcity else synthetic_pairs(args.pairs, h, w)
        g0 = np.stack([p[0] for p in pairs])
        g1 = np.stack([p[1] for p in pairs])
        n = len(pairs)
        ref = create(params)
        t_ref, f_ref = timed(lambda: np.stack([ref.calc(a, b, None).transpose(2, 0, 1) for a, b in zip(g0, g1)]), args.repeat)
        ocv = OpenCVTVL1(params)
        t_ocv, f_ocv = timed(lambda: ocv(g0, g1), args.repeat)
        tor = TorchTVL1(params, device=device, batch_size=args.batch_size)
        if device.type == "cuda":  # warm-up (CUDA context, kernels)
            tor(g0[:1], g1[:1])
        t_tor, f_tor = timed(lambda: tor(g0, g1), args.repeat, sync)
        row = {
            "size": f"{w}x{h}", "pairs": n, "device": str(device), "source": "synthcity" if args.synthcity else "synthetic",
            "reference": {"pairs_per_s": n / t_ref, "epe": epe(f_ref, pairs)},
            "opencv": {"pairs_per_s": n / t_ocv, "epe": epe(f_ocv, pairs), "ratio": t_ref / t_ocv},
            "torch": {"pairs_per_s": n / t_tor, "epe": epe(f_tor, pairs), "ratio": t_ref / t_tor},
        }
        results.append(row)
        print(f"{w}x{h} ({n} pairs, {row['source']}):")
        print(f"  reference cv2 DualTVL1  {row['reference']['pairs_per_s']:8.3f} pairs/s  EPE {row['reference']['epe']:.4f} px")
        for name in ("opencv", "torch"):
            r = row[name]
            print(f"  {name:<22}  {r['pairs_per_s']:8.3f} pairs/s  EPE {r['epe']:.4f} px  "
                  f"ratio (ours/OpenCV pairs/s) {r['ratio']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
