"""Gaussian mixtures fitted with per-sample weights (weighted EM).

scikit-learn's ``GaussianMixture.fit`` takes no ``sample_weight``; Hong et al. (§3.2) fit the
appearance GMMs "with their attention values as sample weights". Weighted EM replaces every
count in the M-step by a weighted count: for weights w_n and responsibilities r_nk,
``N_k = sum_n w_n r_nk``, ``mu_k = sum_n w_n r_nk x_n / N_k``, and so on. Integer weights give
exactly the fit on the data with each sample repeated w_n times. Initialisation is
scikit-learn's weighted k-means (``KMeans.fit(sample_weight=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp


@dataclass
class GMM:
    """Full-covariance mixture: ``weights`` (K,), ``means`` (K, D), ``covariances`` (K, D, D)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    n_iter: int = 0
    converged: bool = False

    def component_log_prob(self, x: np.ndarray) -> np.ndarray:
        """log(pi_k N(x | mu_k, S_k)) for (N, D) ``x`` -> (N, K)."""
        x = np.asarray(x, dtype=np.float64)
        k, d = self.means.shape
        out = np.empty((x.shape[0], k))
        for c in range(k):
            chol = np.linalg.cholesky(self.covariances[c])
            z = solve_triangular(chol, (x - self.means[c]).T, lower=True)  # (D, N)
            logdet = 2.0 * np.log(np.diag(chol)).sum()
            out[:, c] = (np.log(max(self.weights[c], 1e-300)) - 0.5 * (z**2).sum(axis=0)
                         - 0.5 * (d * np.log(2 * np.pi) + logdet))
        return out

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Log density log p(x) of (N, D) ``x`` -> (N,)."""
        return logsumexp(self.component_log_prob(x), axis=1)


def fit_weighted_gmm(
    x: np.ndarray,
    w: np.ndarray,
    n_components: int = 5,
    reg_covar: float = 1e-3,
    max_iter: int = 50,
    tol: float = 1e-3,
    seed: int = 0,
    init_means: np.ndarray | None = None,
) -> GMM:
    """Fit a full-covariance GMM to (N, D) ``x`` with non-negative (N,) sample weights ``w``.

    ``reg_covar`` is added to every covariance diagonal (units of x squared). Samples of zero
    weight do not influence the fit. Components are capped at the number of samples of
    positive weight. ``tol`` is on the change of the weighted mean log-likelihood.
    ``init_means`` (K, D) replaces the weighted k-means initialisation.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or w.shape != (x.shape[0],):
        raise ValueError(f"x must be (N, D) and w (N,), got {x.shape} and {w.shape}")
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("sample weights must be finite and non-negative")
    keep = w > 0
    if not keep.any():
        raise ValueError("all sample weights are zero: nothing to fit")
    x, w = x[keep], w[keep]
    w = w / w.sum()
    if init_means is not None:
        means = np.array(init_means, dtype=np.float64)
    else:
        k = max(1, min(n_components, len(np.unique(x, axis=0))))
        if k == 1:
            means = (w @ x)[None]
        else:
            from sklearn.cluster import KMeans

            km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x, sample_weight=w)
            means = km.cluster_centers_
    k = means.shape[0]
    # initial responsibilities: hard assignment to the nearest mean
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    resp = np.zeros((x.shape[0], k))
    resp[np.arange(x.shape[0]), d2.argmin(1)] = 1.0
    gmm = _m_step(x, w, resp, reg_covar)
    prev = -np.inf
    for it in range(1, max_iter + 1):
        logp = gmm.component_log_prob(x)
        norm = logsumexp(logp, axis=1)
        resp = np.exp(logp - norm[:, None])
        ll = float(w @ norm)
        gmm = _m_step(x, w, resp, reg_covar)
        gmm.n_iter = it
        if abs(ll - prev) < tol:
            gmm.converged = True
            break
        prev = ll
    return gmm


def _m_step(x: np.ndarray, w: np.ndarray, resp: np.ndarray, reg: float) -> GMM:
    d = x.shape[1]
    wr = resp * w[:, None]  # (N, K)
    nk = wr.sum(axis=0) + 10 * np.finfo(float).eps
    means = (wr.T @ x) / nk[:, None]
    covs = np.empty((len(nk), d, d))
    for c in range(len(nk)):
        diff = x - means[c]
        covs[c] = (wr[:, c, None] * diff).T @ diff / nk[c] + reg * np.eye(d)
    return GMM(nk / nk.sum(), means, covs)
