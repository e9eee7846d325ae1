"""Benchmark of the pseudo-label stage: seconds per snippet at 512x256 (10-frame window).

    OMP_NUM_THREADS=1 python bench/pseudolabels.py [--frames 10] [--size 256 512] [--repeat 2]

Inputs are synthetic (textured sky / building / road, static camera, two textured cars moving,
noisy heatmaps of 4 tagged classes) so the benchmark needs no upstream artifact. Prints the
per-step split, superpixel backends (skimage vs opencv) and solvers side by side, and the
ratio of a per-edge Python loop to the vectorised PyMaxflow graph construction.

Controlled experiment on a rendered synthcity tree (frames, TV-L1 flow shards, exact flows):

    python bench/pseudolabels.py --proxy results/synthcity --split val [--shard 0]

replaces the heatmaps by simulated ones (ground truth of the annotated frame, warped to frames
-4..-1 with the exact flows, blurred, kept strong only on a random part of each class,
noise added, per-class max-normalised like the heatmaps stage) and prints the mIoU of the
heatmap argmax, of each unary subset and of both solvers on the annotated frames.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_snippet(frames: int = 10, h: int = 256, w: int = 512, seed: int = 0):
    """(F, H, W, 3) uint8 frames, (F, 2, H, W) flows (pair t: t -> t+1), (F, K, H, W) heatmaps,
    (F, H, W) ground truth in 0..K-1, moving (K,) bool; classes sky, building, road, car."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg_tex = rng.normal(0, 10, (h, w, 3))
    horizon = h * 0.45
    cars = [(0.55 * h, 0.2 * w, 0.12 * h, 0.18 * w, 4.0), (0.6 * h, 0.65 * w, 0.15 * h, 0.2 * w, -3.0)]
    car_tex = [rng.normal(0, 10, (int(ch) + 1, int(cw) + 1, 3)) for _, _, ch, cw, _ in cars]
    out = np.zeros((frames, h, w, 3), np.uint8)
    gt = np.zeros((frames, h, w), np.int64)
    flows = np.zeros((frames, 2, h, w), np.float32)
    for t in range(frames):
        # static camera: the background and its texture stay put; each car (with its own
        # texture) moves v px/frame, so the true flow is v inside the car and 0 elsewhere
        g = np.where(yy < horizon * 0.6, 0, np.where(yy < horizon, 1, 2))
        img = np.empty((h, w, 3), np.float32)
        img[g == 0] = (70, 130, 180)
        img[g == 1] = (90, 80, 70)
        img[g == 2] = (128, 64, 128)
        img += bg_tex
        fx = np.zeros((h, w), np.float32)
        for (cy, cx, ch, cw, v), tex in zip(cars, car_tex):
            x0 = int(round(cx + v * t))
            y0, y1, x1 = int(cy), int(cy + ch), min(int(x0 + cw), w)
            g[y0:y1, x0:x1] = 3
            img[y0:y1, x0:x1] = np.array((20, 20, 130)) + tex[: y1 - y0, : x1 - x0]
            fx[y0:y1, x0:x1] = v
        out[t] = np.clip(img, 0, 255)
        gt[t] = g
        flows[t, 0] = fx
    heat = np.stack([(gt == c) * 0.5 + 0.25 for c in range(4)], axis=1).astype(np.float32)
    heat[:, 3] = np.where(gt == 3, 0.35, 0.2)  # the car heatmap is weaker and patchy
    heat += rng.normal(0, 0.2, heat.shape).astype(np.float32)
    import cv2

    for t in range(frames):
        for c in range(4):
            heat[t, c] = cv2.GaussianBlur(heat[t, c], (0, 0), 6)
    return out, flows, np.clip(heat, 0, 1), gt, np.array([False, False, False, True])


def miou(pred: np.ndarray, gt: np.ndarray, k: int) -> float:
    return float(np.mean([((pred == c) & (gt == c)).sum() / max(((pred == c) | (gt == c)).sum(), 1)
                          for c in range(k)]))


def loop_vs_vectorised(n_nodes: int = 4000, n_edges: int = 20000, seed: int = 0) -> tuple[float, float]:
    import maxflow

    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_nodes, n_edges).astype(np.int32)
    j = rng.integers(0, n_nodes, n_edges).astype(np.int32)
    cap = rng.random(n_edges)
    src, snk = rng.random(n_nodes), rng.random(n_nodes)
    t0 = time.perf_counter()
    g = maxflow.Graph[float]()
    nodes = g.add_nodes(n_nodes)
    for a in range(n_nodes):
        g.add_tedge(int(nodes[a]), float(src[a]), float(snk[a]))
    for e in range(n_edges):
        g.add_edge(int(i[e]), int(j[e]), float(cap[e]), 0.0)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = maxflow.Graph[float]()
    nodes = g.add_nodes(n_nodes)
    g.add_grid_tedges(nodes, src, snk)
    g.add_edges(i, j, cap, np.zeros(n_edges))
    vec = time.perf_counter() - t0
    return loop, vec


PROXY_WINDOW = [-4, -3, -2, -1, 0]


def simulated_heatmaps(labels: np.ndarray, tids: np.ndarray, rng: np.random.Generator,
                       blur: float = 4.0, keep: float = 0.5, noise: float = 0.3) -> np.ndarray:
    """(F, H, W) train-id labels -> (F, K, H, W) degraded heatmaps of the K classes ``tids``."""
    import cv2

    f, h, w = labels.shape
    heat = np.zeros((f, len(tids), h, w), np.float32)
    for c, t in enumerate(tids):
        field = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 8)
        field = (field - field.min()) / (np.ptp(field) + 1e-6)
        part = (field > 1 - keep).astype(np.float32)  # the "discriminative part"
        for i in range(f):
            x = cv2.GaussianBlur((labels[i] == t).astype(np.float32) * (0.3 + 0.7 * part), (0, 0), blur)
            x += noise * 3 * cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 3)
            x = np.clip(x, 0, None)
            heat[i, c] = x / (x.max() + 1e-6)
    return heat


def proxy_experiment(results: str, split: str, shard: int, cfg: dict, seed: int = 1) -> None:
    import os

    import h5py

    from tagseg.datasets.manifest import load
    from tagseg.flow.storage import read_pairs
    from tagseg.images import read_rgb
    from tagseg.metrics import confusion_matrix, scores
    from tagseg.pseudolabels.pipeline import label_window
    from tagseg.pseudolabels.quality import ground_truth
    from tagseg.plan import shard_file
    from tagseg.pseudolabels.stage import tag_table

    m = load(os.path.join(results, "manifest.json"))
    rng = np.random.default_rng(seed)
    conf: dict[str, np.ndarray] = {}
    secs = []
    with h5py.File(shard_file(results, "flow", split, shard), "r") as ff:
        for s in m.shard(split, shard):
            _, tid, mov = tag_table(m, s)
            fo, flow = read_pairs(ff, s.id)
            fo = [int(o) for o in fo]
            with h5py.File(s.flow_gt, "r") as g:
                ex_off = [int(o) for o in g["flow"].attrs["offsets"]]
                ex_flow, ex_valid = g["flow"][()], g["valid"][()]
            gt0 = ground_truth(s.gt, m.size, m.table)
            h, w = gt0.shape
            yy, xx = np.mgrid[0:h, 0:w]
            labs = {0: gt0}
            for t in range(-1, PROXY_WINDOW[0] - 1, -1):  # backward warping with the exact flow t -> t+1
                i = ex_off.index(t)
                x2 = np.rint(xx + ex_flow[i, 0]).astype(int)
                y2 = np.rint(yy + ex_flow[i, 1]).astype(int)
                ok = ex_valid[i] & (x2 >= 0) & (x2 < w) & (y2 >= 0) & (y2 < h)
                lab = np.full((h, w), 255, np.uint8)
                lab[ok] = labs[t + 1][y2[ok], x2[ok]]
                labs[t] = lab
            heat = simulated_heatmaps(np.stack([labs[t] for t in PROXY_WINDOW]), tid, rng)
            frames = np.stack([read_rgb(s.frame_path(o), m.size) for o in PROXY_WINDOW])
            preds = {"heatmap_argmax_tagged": tid[heat[-1].argmax(0)]}
            for solver in ("expansion", "per_class"):
                t0 = time.perf_counter()
                r = label_window(frames, flow[[fo.index(o) for o in PROXY_WINDOW[:-1]]], heat, mov,
                                 dict(cfg, solver=solver, ablations=True),
                                 motion_flows=flow[[fo.index(o) for o in PROXY_WINDOW]])
                secs.append(time.perf_counter() - t0)
                for k, v in r.ablations.items():
                    preds[f"{k} [{solver}]"] = tid[v[-1]]
            for k, v in preds.items():
                n = m.table.num_classes
                confusion_matrix(gt0, v, n=n, out=conf.setdefault(k, np.zeros((n, n + 1), np.int64)))
    print(f"synthcity {split} shard {shard}: simulated heatmaps, frames {PROXY_WINDOW}, "
          f"{np.mean(secs):.2f} s per window")
    for k, c in conf.items():
        print(f"  {k:38s} mIoU {scores(c, table=m.table)['miou']:.4f}")


def main() -> None:
    from tagseg.config import section
    from tagseg.pseudolabels.pipeline import label_window

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--size", type=int, nargs=2, default=(256, 512), metavar=("H", "W"))
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--proxy", metavar="RESULTS_DIR", help="controlled experiment on results/synthcity")
    p.add_argument("--split", default="val")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--config", default="config/config.yaml", help="pseudolabels section read from here")
    a = p.parse_args()
    if a.proxy:
        import yaml

        cfg = section("pseudolabels", yaml.safe_load(open(a.config))["pseudolabels"])
        proxy_experiment(a.proxy, a.split, a.shard, cfg)
        return
    frames, flows, heat, gt, moving = synthetic_snippet(a.frames, *a.size)
    print(f"window: {a.frames} frames at {a.size[1]}x{a.size[0]}, 4 tagged classes")
    label_window(frames[:2], flows[:1], heat[:2], moving, section("pseudolabels", {"ablations": False}))  # warm-up imports
    base = miou(heat.argmax(1), gt, 4)
    for backend in ("skimage", "opencv"):
        for solver in ("expansion", "per_class"):
            cfg = section("pseudolabels", {"superpixels": {"backend": backend}, "solver": solver,
                                           "ablations": False})
            times, steps = [], {}
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                r = label_window(frames, flows[:-1], heat, moving, cfg, motion_flows=flows)
                times.append(time.perf_counter() - t0)
                steps = r.timings
            print(f"{backend:8s} {solver:10s} {min(times):6.2f} s/snippet  nodes {r.graph.n_nodes:5d} "
                  f"edges {len(r.graph.edges):6d}  mIoU {miou(r.labels, gt, 4):.3f} (heatmap argmax {base:.3f})  "
                  + " ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    loop, vec = loop_vs_vectorised()
    print(f"PyMaxflow graph of 4000 nodes / 20000 edges: per-edge loop {loop * 1e3:.1f} ms, "
          f"vectorised {vec * 1e3:.1f} ms, ratio {loop / vec:.1f}x")


if __name__ == "__main__":
    main()
