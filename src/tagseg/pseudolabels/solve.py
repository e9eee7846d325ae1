"""Multi-label Potts energy minimisation on a superpixel graph with PyMaxflow graph cuts.

``E(l) = sum_i U[i, l_i] + sum_(i,j) w_ij [l_i != l_j]``.

* :func:`alpha_expansion` — Boykov, Veksler & Zabih (2001): sweep over labels alpha; each
  move lets every node keep its label or switch to alpha, solved exactly by one s-t min cut
  (Potts is a metric, so every move is submodular). Energy never increases.
* :func:`per_class_cuts` — one binary cut per class l (l against the best other class,
  ``U_i(not l) = min_{m != l} U_i(m)``), merged by taking, among the classes that claim a node,
  the one of lowest unary energy (all classes when none claims it).
"""

from __future__ import annotations

import maxflow
import numpy as np

SOLVERS = ("expansion", "per_class")


def potts_energy(unary: np.ndarray, edges: np.ndarray, w: np.ndarray, labels: np.ndarray) -> float:
    """Energy of ``labels`` (N,) under (N, K) ``unary``, (E, 2) ``edges``, (E,) weights ``w``."""
    u = unary[np.arange(len(labels)), labels].sum()
    return float(u + w[labels[edges[:, 0]] != labels[edges[:, 1]]].sum())


def _binary_cut(
    cost0: np.ndarray, cost1: np.ndarray, edges: np.ndarray,
    e00: np.ndarray, e01: np.ndarray, e10: np.ndarray, e11: np.ndarray,
) -> np.ndarray:
    """Minimise sum_i cost_{y_i}(i) + sum_e E_{y_i y_j}(e) over y in {0,1}^N -> (N,) bool (y = 1).

    Requires e01 + e10 >= e00 + e11 (submodular). Node in the sink segment <=> y = 1.
    """
    n = len(cost0)
    c1 = cost1.astype(np.float64).copy()  # paid when y = 1 (source t-link cut)
    c0 = cost0.astype(np.float64).copy()  # paid when y = 0 (sink t-link cut)
    i, j = edges[:, 0], edges[:, 1]
    # E = e00 + (e10 - e00) y_i + (e11 - e10) y_j + (e01 + e10 - e00 - e11) (1 - y_i) y_j
    a = e10 - e00
    b = e11 - e10
    np.add.at(c1, i, np.maximum(a, 0))
    np.add.at(c0, i, np.maximum(-a, 0))
    np.add.at(c1, j, np.maximum(b, 0))
    np.add.at(c0, j, np.maximum(-b, 0))
    pair = e01 + e10 - e00 - e11
    m = np.minimum(c0, c1)
    g = maxflow.Graph[float](n, len(i))
    nodes = g.add_nodes(n)
    g.add_grid_tedges(nodes, c1 - m, c0 - m)
    keep = pair > 0
    if keep.any():
        g.add_edges(i[keep].astype(np.int32), j[keep].astype(np.int32),
                    pair[keep].astype(np.float64), np.zeros(int(keep.sum())))
    g.maxflow()
    return g.get_grid_segments(nodes)


def alpha_expansion(
    unary: np.ndarray, edges: np.ndarray, w: np.ndarray,
    init: np.ndarray | None = None, max_sweeps: int = 5,
) -> np.ndarray:
    """α-expansion for the Potts model -> (N,) int labels in 0..K-1.

    Starts from ``init`` (default: unary argmin); stops after a sweep with no decrease.
    """
    n, k = unary.shape
    lab = unary.argmin(axis=1) if init is None else np.asarray(init).copy()
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if len(edges) == 0:
        return unary.argmin(axis=1)
    i, j = edges[:, 0], edges[:, 1]
    best = potts_energy(unary, edges, w, lab)
    rows = np.arange(n)
    for _ in range(max_sweeps):
        improved = False
        for alpha in range(k):
            li, lj = lab[i], lab[j]
            e00 = w * (li != lj)
            e01 = w * (li != alpha)
            e10 = w * (alpha != lj)
            e11 = np.zeros_like(w)
            y = _binary_cut(unary[rows, lab], unary[:, alpha], edges, e00, e01, e10, e11)
            cand = np.where(y, alpha, lab)
            e = potts_energy(unary, edges, w, cand)
            if e < best - 1e-9:
                lab, best, improved = cand, e, True
        if not improved:
            break
    return lab


def per_class_cuts(unary: np.ndarray, edges: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One binary Potts cut per class, merged by lowest unary energy -> (N,) int labels."""
    n, k = unary.shape
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    claims = np.zeros((n, k), dtype=bool)
    zero = np.zeros(len(edges))
    for l in range(k):
        other = np.delete(unary, l, axis=1).min(axis=1)
        claims[:, l] = _binary_cut(other, unary[:, l], edges, zero, w, w, zero)
    masked = np.where(claims, unary, np.inf)
    none = ~claims.any(axis=1)
    masked[none] = unary[none]
    return masked.argmin(axis=1)


def solve(unary: np.ndarray, edges: np.ndarray, w: np.ndarray, solver: str = "expansion") -> np.ndarray:
    """Minimise the Potts energy with ``solver`` (one of :data:`SOLVERS`)."""
    if solver == "expansion":
        return alpha_expansion(unary, edges, w)
    if solver == "per_class":
        return per_class_cuts(unary, edges, w)
    raise ValueError(f"unknown solver {solver!r} (config pseudolabels.solver; one of {', '.join(SOLVERS)})")
