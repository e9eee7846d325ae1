"""Unary terms of Hong et al. eq. 4, generalised from one keyword to the K tagged classes.

Each term is a per-superpixel distribution over the K tagged classes, (N, K), rows summing
to 1; the unary energy is ``-lam_a log A - lam_m log M - lam_c log C`` (eq. 4). For K = 2
(foreground / background) this is Hong's binary problem with A(bg) = 1 - A(fg).
"""

from __future__ import annotations

import numpy as np

from .gmm import fit_weighted_gmm


def attention(att: np.ndarray, eps: float = 0.01) -> np.ndarray:
    """A: (N, K) mean heatmap of each tagged class over each superpixel -> (N, K) distribution.

    ``A(l) = (a_l + eps) / sum_k (a_k + eps)``; ``eps`` keeps log A finite where all maps are 0.
    """
    a = np.clip(att, 0.0, None) + eps
    return a / a.sum(axis=1, keepdims=True)


def appearance(
    colour: np.ndarray,
    att: np.ndarray,
    threshold: float = 0.5,
    n_components: int = 5,
    reg_covar: float = 1e-3,
    min_seeds: int = 3,
    floor: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """C: appearance likelihood of each superpixel's colour under one GMM per tagged class.

    ``colour`` (N, 3) mean RGB in [0, 1]; ``att`` (N, K) attention distribution (from
    :func:`attention`). Superpixels are first labelled by thresholding attention: node i seeds
    class l when ``att[i, l] >= threshold`` (and it is its largest). Class l's GMM is fitted
    by weighted EM to its seeds, with their attention values ``att[i, l]`` as sample weights
    (Hong §3.2). A class with fewer than ``min_seeds`` seeds is fitted to all superpixels
    weighted by ``att[:, l]``. Returns (N, K) posteriors ``p_l(c) / sum_k p_k(c)`` (uniform
    prior), floored at ``floor`` and renormalised.
    """
    n, k = att.shape
    if k == 1:
        return np.ones((n, 1))
    best = att.argmax(axis=1)
    loglik = np.empty((n, k))
    for l in range(k):
        seeds = (best == l) & (att[:, l] >= threshold)
        w = np.where(seeds, att[:, l], 0.0) if seeds.sum() >= min_seeds else att[:, l].copy()
        gmm = fit_weighted_gmm(colour, w, n_components=n_components, reg_covar=reg_covar, seed=seed)
        loglik[:, l] = gmm.score_samples(colour)
    loglik -= loglik.max(axis=1, keepdims=True)
    p = np.exp(loglik)
    p /= p.sum(axis=1, keepdims=True)
    p = np.maximum(p, floor)
    return p / p.sum(axis=1, keepdims=True)


def motion(
    inside: np.ndarray, moving: np.ndarray, inside_moving: float = 0.9, inside_static: float = 0.1
) -> np.ndarray:
    """M: (N,) fraction ``m`` of each superpixel's pixels voted inside a motion boundary, and
    (K,) bool ``moving`` (tagged class moves on its own) -> (N, K) distribution.

    ``M(l)`` is the likelihood of the observed inside fraction under the class's kind:
    ``m p + (1 - m)(1 - p)`` with ``p = inside_moving`` for moving classes and
    ``p = inside_static`` for the others (the rates at which pixels of each kind are voted
    inside). Hong et al.'s symmetric form is ``inside_moving = 1 - inside_static``; a lower
    ``inside_moving`` says that being outside every closed motion boundary is weak evidence
    against a moving class (parked cars, unclosed boundaries). Classes of one kind only
    (all moving or none) give a uniform M: motion then says nothing.
    """
    for name, v in (("inside_moving", inside_moving), ("inside_static", inside_static)):
        if not 0.0 < v < 1.0:
            raise ValueError(f"config pseudolabels.motion.{name} must be in (0, 1), got {v}")
    m = np.clip(np.asarray(inside, dtype=np.float64), 0.0, 1.0)[:, None]
    p = np.where(np.asarray(moving, dtype=bool)[None, :], inside_moving, inside_static)
    lik = m * p + (1.0 - m) * (1.0 - p)
    return lik / lik.sum(axis=1, keepdims=True)


def energy(
    terms: dict[str, np.ndarray], weights: dict[str, float]
) -> np.ndarray:
    """Unary energy ``-sum_t weights[t] log terms[t]`` -> (N, K); terms of weight 0 are skipped."""
    out = None
    for name, p in terms.items():
        lam = float(weights.get(name, 0.0))
        if lam == 0.0:
            continue
        e = -lam * np.log(np.maximum(p, 1e-12))
        out = e if out is None else out + e
    if out is None:
        raise ValueError("all unary weights are zero (config pseudolabels.lambda_*)")
    return out
