"""Pseudo-labels of one snippet window from frames, flows and heatmaps (pure numpy in, out).

:func:`label_window` runs superpixels -> graph -> unaries (attention, appearance, motion) ->
Potts graph cut, and returns per-pixel label maps over the window's frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import unaries
from .graph import Graph, build_graph, pairwise_weights
from .motion import inside_outside
from .solve import solve
from .superpixels import segment_window

ABLATIONS: dict[str, tuple[str, ...]] = {
    "attention": ("a",),
    "attention+appearance": ("a", "c"),
    "attention+motion": ("a", "m"),
    "full": ("a", "c", "m"),
}
"""Unary subsets of the ablation (all with the Potts pairwise term)."""


@dataclass
class WindowLabels:
    """Result of :func:`label_window` for F frames and K tagged classes.

    ``labels`` (F, H, W) int16 index into the tagged classes, -1 = unsure;
    ``confidence`` (F, H, W) float32 in [1/K, 1]: the unary-energy softmax of the chosen label
    at the pixel's superpixel; ``ablations`` name -> (F, H, W) int16 labels of each unary subset
    (see :data:`ABLATIONS`); ``graph`` the superpixel graph; ``timings`` seconds per step.
    """

    labels: np.ndarray
    confidence: np.ndarray
    ablations: dict[str, np.ndarray] = field(default_factory=dict)
    graph: Graph | None = None
    timings: dict[str, float] = field(default_factory=dict)


def label_window(
    frames: np.ndarray,
    flows: np.ndarray | None,
    heatmaps: np.ndarray,
    moving: np.ndarray,
    cfg: dict[str, Any],
    motion_flows: np.ndarray | None = None,
    seed: int = 0,
) -> WindowLabels:
    """Pseudo-label a window of F consecutive frames.

    ``frames`` (F, H, W, 3) uint8 RGB; ``flows`` (F-1, 2, H, W) float32 pixels, forward flow
    frame t -> t+1 (x, y), or None when F = 1; ``heatmaps`` (F, K, H, W) in [0, 1], one map
    per tagged class; ``moving`` (K,) bool, tagged class moves on its own; ``cfg`` the validated
    ``pseudolabels`` config section (defaults from config/schema.yaml: :func:`tagseg.config.validate`,
    or :func:`tagseg.config.section` for a partial one); ``motion_flows``
    (F, 2, H, W): flow used for the inside-outside map of each frame (default: pair t for
    frame t, the last frame reusing pair F-2).
    """
    import time

    c = cfg
    f, h, w = frames.shape[:3]
    k = heatmaps.shape[1]
    if heatmaps.shape != (f, k, h, w):
        raise ValueError(f"heatmaps {heatmaps.shape} do not match frames {frames.shape}")
    if k == 0:
        raise ValueError("no tagged classes: nothing to label")
    if f > 1 and (flows is None or flows.shape != (f - 1, 2, h, w)):
        raise ValueError(f"flows must be {(f - 1, 2, h, w)} for {f} frames, got "
                         f"{None if flows is None else flows.shape}")
    moving = np.asarray(moving, dtype=bool)
    t = {}
    t0 = time.perf_counter()
    spc = c["superpixels"]
    n_seg = max(1, int(round(h * w / float(spc["pixels_per_superpixel"]))))
    sp, _ = segment_window(frames, n_seg, float(spc["compactness"]), spc["backend"], float(spc["sigma"]))
    t["superpixels"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    g = build_graph(frames, flows if f > 1 else None, sp)
    wts = pairwise_weights(g, float(c["pairwise"]), float(c["temporal"]))
    t["graph"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    att_px = np.nan_to_num(heatmaps.transpose(0, 2, 3, 1).reshape(-1, k).astype(np.float64))
    a = unaries.attention(g.pooling.mean(att_px), float(c["attention_eps"]))
    terms = {"a": a}
    need_c = float(c["lambda_c"]) != 0 or c["ablations"]
    need_m = float(c["lambda_m"]) != 0 or c["ablations"]
    if need_c:
        ac = c["appearance"]
        terms["c"] = unaries.appearance(g.colour, a, float(ac["threshold"]), int(ac["n_components"]),
                                        float(ac["reg_covar"]), int(ac["min_seeds"]),
                                        float(ac["floor"]), seed)
    t["appearance"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if need_m:
        mc = c["motion"]
        if motion_flows is None and f > 1:
            motion_flows = np.concatenate([flows, flows[-1:]], axis=0)
        elif motion_flows is not None and motion_flows.shape != (f, 2, h, w):
            raise ValueError(f"motion_flows must be {(f, 2, h, w)}, got {motion_flows.shape}")
    if need_m and motion_flows is None:  # one frame, no flow: motion says nothing
        terms["m"] = np.full((g.n_nodes, k), 1.0 / k)
    elif need_m:
        inside = np.stack([
            inside_outside(motion_flows[i], float(mc["lam_m"]), float(mc["lam_theta"]),
                           float(mc["strong"]), float(mc["threshold"]))
            for i in range(f)
        ])
        terms["m"] = unaries.motion(g.pooling.mean(inside.ravel().astype(np.float64)), moving,
                                    float(mc["inside_moving"]), float(mc["inside_static"]))
    t["motion"] = time.perf_counter() - t0

    lam = {"a": float(c["lambda_a"]), "c": float(c["lambda_c"]), "m": float(c["lambda_m"])}
    t0 = time.perf_counter()
    u = unaries.energy(terms, lam)
    node = solve(u, g.edges, wts, c["solver"])
    t["solve"] = time.perf_counter() - t0

    z = -(u - u.min(axis=1, keepdims=True))
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    conf_node = p[np.arange(len(node)), node].astype(np.float32)
    node_lab = node.astype(np.int16)
    node_lab[conf_node < float(c["unsure_below"])] = -1
    labels = node_lab[sp]
    confidence = conf_node[sp]

    abl: dict[str, np.ndarray] = {}
    if c["ablations"]:
        t0 = time.perf_counter()
        for name, keys in ABLATIONS.items():
            if keys == ("a", "c", "m"):
                abl[name] = node.astype(np.int16)[sp]
                continue
            ua = unaries.energy({kk: terms[kk] for kk in keys}, lam)
            abl[name] = solve(ua, g.edges, wts, c["solver"]).astype(np.int16)[sp]
        abl["attention_no_pairwise"] = a.argmax(axis=1).astype(np.int16)[sp]
        t["ablations"] = time.perf_counter() - t0
    return WindowLabels(labels, confidence, abl, g, t)
