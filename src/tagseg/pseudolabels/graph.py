"""Spatio-temporal superpixel graph (Hong et al. 2017, §3.2): nodes, edges, Potts weights.

Spatial edges join 4-adjacent superpixels of one frame; temporal edges join a superpixel of
frame t to every superpixel of frame t+1 that one of its pixels reaches along the forward flow
(rounded to the nearest pixel), with ``phi_t`` = fraction of the source superpixel's pixels
that land in the target. Everything is vectorised (``np.unique`` over packed pair keys).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .superpixels import Pooling


@dataclass
class Graph:
    """A superpixel graph over a window of F frames.

    ``labels`` (F, H, W) int32 node ids; ``frame`` (N,) frame index of each node;
    ``size`` (N,) pixels; ``colour`` (N, 3) mean RGB in [0, 1]; ``centroid`` (N, 2) (y, x)
    pixels; ``edges`` (E, 2) int64 node pairs; ``temporal`` (E,) bool; ``phi_t`` (E,)
    fraction of pixels connected by flow (1 for spatial edges).
    """

    labels: np.ndarray
    pooling: Pooling
    frame: np.ndarray
    size: np.ndarray
    colour: np.ndarray
    centroid: np.ndarray
    edges: np.ndarray
    temporal: np.ndarray
    phi_t: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.size.shape[0])


def spatial_edges(labels: np.ndarray) -> np.ndarray:
    """Unique pairs (i < j) of 4-adjacent superpixels in (F, H, W) ``labels`` -> (E, 2) int64."""
    lab = labels.astype(np.int64)
    n = int(lab.max()) + 1
    pairs = []
    for a, b in ((lab[:, :, :-1], lab[:, :, 1:]), (lab[:, :-1, :], lab[:, 1:, :])):
        m = a != b
        lo = np.minimum(a[m], b[m])
        hi = np.maximum(a[m], b[m])
        pairs.append(lo * n + hi)
    keys = np.unique(np.concatenate(pairs))
    return np.stack([keys // n, keys % n], axis=1)


def temporal_edges(
    labels: np.ndarray, flows: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edges between superpixels of consecutive frames connected by at least one flow vector.

    ``labels`` (F, H, W) node ids; ``flows`` (F-1, 2, H, W) float, pixels, channel 0 = x,
    1 = y, pair t maps frame t to t+1; ``size`` (N,) pixels per node.
    Returns ``edges`` (E, 2) (node in t, node in t+1) and ``phi_t`` (E,) = fraction of the
    source node's pixels whose flow lands in the target node.
    """
    f, h, w = labels.shape
    if flows.shape != (f - 1, 2, h, w):
        raise ValueError(f"flows must be {(f - 1, 2, h, w)} for labels {labels.shape}, got {flows.shape}")
    n = int(labels.max()) + 1
    yy, xx = np.mgrid[0:h, 0:w]
    keys = []
    for t in range(f - 1):
        x2 = np.rint(xx + flows[t, 0]).astype(np.int64)
        y2 = np.rint(yy + flows[t, 1]).astype(np.int64)
        ok = (x2 >= 0) & (x2 < w) & (y2 >= 0) & (y2 < h) & np.isfinite(flows[t]).all(axis=0)
        src = labels[t][ok].astype(np.int64)
        dst = labels[t + 1][y2[ok], x2[ok]].astype(np.int64)
        keys.append(src * n + dst)
    if not keys:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    edges = np.stack([uniq // n, uniq % n], axis=1)
    return edges, counts / size[edges[:, 0]]


def build_graph(frames: np.ndarray, flows: np.ndarray | None, labels: np.ndarray) -> Graph:
    """Graph of superpixels ``labels`` (F, H, W) over ``frames`` (F, H, W, 3) uint8.

    ``flows`` (F-1, 2, H, W) pixels forward flow between consecutive frames, or None / empty
    for a single frame (no temporal edges).
    """
    f, h, w = labels.shape
    pool = Pooling.from_labels(labels)
    colour = pool.mean(frames.reshape(-1, 3).astype(np.float64) / 255.0)
    yy, xx = np.mgrid[0:h, 0:w]
    yx = np.stack([np.broadcast_to(yy, (f, h, w)).ravel(), np.broadcast_to(xx, (f, h, w)).ravel()], 1)
    centroid = pool.mean(yx.astype(np.float64))
    frame = pool.mean(np.repeat(np.arange(f, dtype=np.float64), h * w))
    es = spatial_edges(labels)
    if flows is not None and f > 1:
        et, phi = temporal_edges(labels, flows, pool.size)
    else:
        et, phi = np.zeros((0, 2), np.int64), np.zeros(0)
    edges = np.concatenate([es, et])
    temporal = np.concatenate([np.zeros(len(es), bool), np.ones(len(et), bool)])
    phi_t = np.concatenate([np.ones(len(es)), phi])
    return Graph(labels, pool, np.rint(frame).astype(np.int64), pool.size, colour, centroid,
                 edges, temporal, phi_t)


def pairwise_weights(g: Graph, pairwise: float = 1.0, temporal: float = 1.0) -> np.ndarray:
    """Potts weights of Hong eq. 5 for every edge -> (E,) float.

    Spatial: ``pairwise * phi_s * phi_c``; temporal: ``pairwise * temporal * phi_t * phi_c``,
    with ``phi_c = exp(-beta |c_i - c_j|^2)`` (mean RGB, beta = 1 / (2 <|c_i - c_j|^2>) over
    all edges, as in GrabCut / Papazoglou & Ferrari) and ``phi_s = d0 / |x_i - x_j|``, the
    inverse centroid distance normalised by its median over spatial edges ``d0`` (so a typical
    spatial neighbour has ``phi_s`` = 1).
    """
    i, j = g.edges[:, 0], g.edges[:, 1]
    d2 = ((g.colour[i] - g.colour[j]) ** 2).sum(axis=1)
    mean_d2 = float(d2.mean()) if d2.size else 0.0
    beta = 1.0 / (2.0 * mean_d2) if mean_d2 > 0 else 0.0
    phi_c = np.exp(-beta * d2)
    w = np.empty(len(i))
    s = ~g.temporal
    if s.any():
        dist = np.linalg.norm(g.centroid[i[s]] - g.centroid[j[s]], axis=1)
        dist = np.maximum(dist, 1.0)
        phi_s = np.median(dist) / dist
        w[s] = pairwise * phi_s * phi_c[s]
    w[~s] = pairwise * temporal * g.phi_t[~s] * phi_c[~s]
    return w
