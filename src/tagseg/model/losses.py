"""Weak losses of Saleh et al. (ICCV 2017, §3.2.1) plus pseudo-label and ground-truth terms.

Shapes: logits (B, C, H, W) network scores; probs = softmax over C; tags (B, C) bool, True
where class k is among the frame's tags; heatmaps (B, C, H, W) in [0, 1]; labels (B, H, W)
int64 train ids with 255 = ignore. Every loss returns a scalar tensor (mean over the batch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from ..classtable import IGNORE

EPS = 1e-6
LOSS_TERMS = ("tag", "heatmap", "crf", "pseudo", "gt")
"""Names of the loss terms a variant may switch on (config key ``train.variants.*.losses``)."""


def lse_pool(probs: torch.Tensor, r: float = 5.0) -> torch.Tensor:
    """Log-Sum-Exp pooling (eq. 3): (B, C, H, W) -> (B, C), ``1/r log mean exp(r S)``.

    Between the mean (r -> 0) and the max (r -> inf) of each class map.
    """
    b, c = probs.shape[:2]
    flat = probs.float().reshape(b, c, -1)
    return (torch.logsumexp(r * flat, dim=-1) - math.log(flat.shape[-1])) / r


def tag_loss(probs: torch.Tensor, tags: torch.Tensor, r: float = 5.0,
             complete: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 2: present classes should score high somewhere, absent ones nowhere.

    ``-1/|L| sum_{k in L} log S~k - 1/|L̄| sum_{k not in L} log(1 - S~k)``, S~ from :func:`lse_pool`.
    A frame without tags (or with all classes tagged) contributes only the non-empty term.
    ``complete`` (B,) bool: False for frames whose tags are partial (a web video's keyword):
    their untagged classes are unknown, not absent, so only the present term counts.
    """
    s = lse_pool(probs, r).clamp(EPS, 1 - EPS)
    pos = tags.float()
    neg = 1.0 - pos
    if complete is not None:
        neg = neg * complete.to(neg.device).float()[:, None]
    present = -(pos * torch.log(s)).sum(1) / pos.sum(1).clamp_min(1)
    absent = -(neg * torch.log1p(-s)).sum(1) / neg.sum(1).clamp_min(1)
    return (present + absent).mean()


def heatmap_masks(heatmaps: torch.Tensor, threshold: float = 0.2) -> torch.Tensor:
    """Binary masks B_k (§3.2.1): True where a heatmap exceeds ``threshold`` x its own maximum.

    heatmaps (B, C, H, W) >= 0 -> (B, C, H, W) bool; an all-zero heatmap gives an empty mask.
    """
    peak = heatmaps.flatten(2).amax(-1)[..., None, None]
    return (heatmaps > threshold * peak) & (peak > 0)


def heatmap_loss(
    log_probs: torch.Tensor,
    masks: torch.Tensor,
    tags: torch.Tensor,
    classes: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 4: ``-1/|L| sum_{k in L} 1/|B_k| sum_{(i,j) in B_k} log S_ij^k``.

    log_probs (B, C, H, W) log-softmax; masks (B, C, H, W) bool from :func:`heatmap_masks`;
    ``classes`` (C,) bool restricts the sum to some classes (the ``fg_heatmap`` variant: the
    foreground classes only). Classes with an empty mask are left out of the mean; a frame
    with none contributes 0.
    """
    m = masks.float()
    use = tags.bool()
    if classes is not None:
        use = use & classes.to(use.device).bool()[None]
    area = m.flatten(2).sum(-1)  # (B, C)
    use = use & (area > 0)
    per_class = -(log_probs.float() * m).flatten(2).sum(-1) / area.clamp_min(1)  # (B, C)
    per_frame = (per_class * use).sum(1) / use.sum(1).clamp_min(1)
    return per_frame.mean()


def crf_loss(probs: torch.Tensor, crf_probs: torch.Tensor) -> torch.Tensor:
    """SEC's constrain-to-boundary loss: mean over pixels of KL(Q_crf || S).

    ``crf_probs`` (the CRF run on the network's own softmax) is a fixed target (no gradient).
    """
    q = crf_probs.detach().float().clamp_min(EPS)
    p = probs.float().clamp_min(EPS)
    return (q * (torch.log(q) - torch.log(p))).sum(1).mean()


def label_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pixel-wise cross-entropy on train-id labels, 255 ignored (pseudo-labels or ground truth).

    A batch with no labelled pixel gives 0 (with a gradient path, so backward still works).
    """
    labels = labels.long()
    if not (labels != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE)


def restrict_to_tags(probs: torch.Tensor, tags: torch.Tensor,
                     complete: torch.Tensor | None = None) -> torch.Tensor:
    """Zero the probabilities of classes absent from the tags and renormalise (B, C, H, W).

    Used on the CRF's unaries when ``train.crf.tags_only`` is set (tags are known
    at training time). Frames without tags, or with partial tags (``complete`` (B,) False),
    are left unchanged.
    """
    keep = tags.bool()
    use = keep.any(1, keepdim=True)
    if complete is not None:
        use = use & complete.to(use.device).bool()[:, None]
    keep = torch.where(use, keep, torch.ones_like(keep))
    p = probs * keep[..., None, None].to(probs.dtype)
    return p / p.sum(1, keepdim=True).clamp_min(EPS)


def combine(terms: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """Weighted sum of the loss terms present in ``terms`` (``weights``: the validated
    ``train.loss_weights`` section, one weight per term)."""
    total = None
    for name, value in terms.items():
        w = float(weights[name])
        total = w * value if total is None else total + w * value
    if total is None:
        raise ValueError("no loss term enabled")
    return total
