"""Fully connected CRF (Krähenbühl & Koltun 2011) on softmax outputs: pydensecrf and a torch ConvCRF.

Two implementations of the same mean-field inference with a Potts model and two Gaussian
pairwise kernels (appearance: position + colour; smoothness: position only):

- :func:`dense_crf` wraps ``pydensecrf`` (the reference, CPU, exact permutohedral filtering,
  unbounded range). Used for the refined predictions and, optionally, for the training loss.
- :class:`ConvCRF` is a torch re-implementation restricted to a local window (Teichmann &
  Cipolla's ConvCRF): it runs batched on the training device (GPU), at the price of
  truncating each kernel to ``window`` x ``window`` pixels of an optionally ``blur``-downsampled
  grid. :func:`batch_crf` dispatches between them for the training loss.

Parameters follow pydensecrf's names; the defaults are the example values of Krähenbühl &
Koltun's ``dense_inference.cpp`` (also pydensecrf's README): smoothness ``sxy=3, compat=3``;
appearance ``sxy=80, srgb=13, compat=10``; 5 mean-field iterations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-8


@dataclass(frozen=True)
class CRFParams:
    """Dense-CRF parameters (pixels, RGB 0..255 levels, dimensionless weights)."""

    iterations: int = 5
    gauss_sxy: float = 3.0
    gauss_compat: float = 3.0
    bilateral_sxy: float = 80.0
    bilateral_srgb: float = 13.0
    bilateral_compat: float = 10.0

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None, width: int | None = None) -> CRFParams:
        """Build from a config mapping holding any of the field names (others ignored).

        With ``width`` (the image width, pixels) and ``cfg["reference_width"]`` set, the
        spatial standard deviations (``gauss_sxy``, ``bilateral_sxy``), given in pixels at the
        reference width, are scaled by ``width / reference_width``.
        """
        cfg = cfg or {}
        p = cls(**{k: cfg[k] for k in asdict(cls()) if k in cfg})
        ref = cfg.get("reference_width")
        if width is not None and ref:
            f = float(width) / float(ref)
            p = replace(p, gauss_sxy=p.gauss_sxy * f, bilateral_sxy=p.bilateral_sxy * f)
        return p


def dense_crf(image: np.ndarray, probs: np.ndarray, params: CRFParams = CRFParams()) -> np.ndarray:
    """Refine class probabilities with pydensecrf's fully connected CRF.

    image: (H, W, 3) uint8 RGB; probs: (C, H, W) float, summing to 1 over C.
    Returns Q: (C, H, W) float32 marginals after ``params.iterations`` mean-field steps.
    """
    import pydensecrf.densecrf as dcrf

    c, h, w = probs.shape
    if image.shape[:2] != (h, w) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"dense_crf: image {image.shape} does not match probabilities {probs.shape}")
    d = dcrf.DenseCRF2D(w, h, c)
    unary = -np.log(np.clip(probs.astype(np.float32), EPS, 1.0)).reshape(c, -1)
    d.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    d.addPairwiseGaussian(sxy=params.gauss_sxy, compat=params.gauss_compat)
    d.addPairwiseBilateral(
        sxy=params.bilateral_sxy,
        srgb=params.bilateral_srgb,
        rgbim=np.ascontiguousarray(image, dtype=np.uint8),
        compat=params.bilateral_compat,
    )
    q = np.array(d.inference(params.iterations), dtype=np.float32)
    return q.reshape(c, h, w)


class ConvCRF(torch.nn.Module):
    """Mean-field CRF with Gaussian kernels truncated to a local window (ConvCRF), in torch.

    ``window``: odd kernel size in (downsampled) pixels; ``blur``: integer downsampling of the
    message-passing grid (the bilateral kernel's ``sxy`` = 80 spans far more than a window, so
    messages are computed on a grid ``blur`` times coarser and upsampled, as in ConvCRF).
    Forward: image (B, 3, H, W) float 0..255, probs (B, C, H, W) -> Q (B, C, H, W).
    No parameters are learned; call it under ``torch.no_grad()`` for the loss target.
    """

    def __init__(self, params: CRFParams = CRFParams(), window: int = 7, blur: int = 4) -> None:
        super().__init__()
        if window % 2 != 1 or window < 3:
            raise ValueError(f"ConvCRF window must be odd and >= 3, got {window}")
        if blur < 1:
            raise ValueError(f"ConvCRF blur must be >= 1, got {blur}")
        self.params = params
        self.window = window
        self.blur = blur

    def _kernels(self, image: torch.Tensor) -> torch.Tensor:
        """Combined pairwise weights (B, K*K, h, w) on the blurred grid.

        Each kernel (smoothness, appearance) is normalised to sum to 1 over the window (self
        included), like pydensecrf's normalised filtering, then scaled by its ``compat``; so a
        message is a compat-weighted local average of Q.
        """
        p, k, s = self.params, self.window, self.blur
        b, _, h, w = image.shape
        r = k // 2
        padded = F.pad(image, (r, r, r, r), mode="replicate")
        gauss = image.new_zeros(1, k * k, 1, 1)
        bil = image.new_zeros(b, k * k, h, w)
        for i, dy in enumerate(range(-r, r + 1)):
            for j, dx in enumerate(range(-r, r + 1)):
                d2 = float((dy * s) ** 2 + (dx * s) ** 2)  # distance in full-resolution pixels
                shifted = padded[:, :, r + dy : r + dy + h, r + dx : r + dx + w]
                col = ((shifted - image) ** 2).sum(1)
                gauss[0, i * k + j] = float(np.exp(-d2 / (2 * p.gauss_sxy**2)))
                bil[:, i * k + j] = torch.exp(-d2 / (2 * p.bilateral_sxy**2) - col / (2 * p.bilateral_srgb**2))
        # zero weight where the window leaves the image (replicate padding would double-count)
        valid = F.pad(image.new_ones(1, 1, h, w), (r, r, r, r))
        mask = torch.cat(
            [valid[:, :, r + dy : r + dy + h, r + dx : r + dx + w] for dy in range(-r, r + 1) for dx in range(-r, r + 1)],
            dim=1,
        )
        gauss = gauss * mask
        bil = bil * mask
        gauss = gauss / gauss.sum(1, keepdim=True)
        bil = bil / bil.sum(1, keepdim=True)
        return p.gauss_compat * gauss + p.bilateral_compat * bil

    def _message(self, q: torch.Tensor, kern: torch.Tensor) -> torch.Tensor:
        """sum_j k(i, j) Q_j over the window (self included): (B, C, h, w)."""
        k = self.window
        r = k // 2
        h, w = q.shape[-2:]
        padded = F.pad(q, (r, r, r, r))
        msg = torch.zeros_like(q)
        for i, dy in enumerate(range(-r, r + 1)):
            for j, dx in enumerate(range(-r, r + 1)):
                msg += kern[:, i * k + j : i * k + j + 1] * padded[:, :, r + dy : r + dy + h, r + dx : r + dx + w]
        return msg

    def forward(self, image: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        if image.shape[0] != probs.shape[0] or image.shape[-2:] != probs.shape[-2:]:
            raise ValueError(f"ConvCRF: image {tuple(image.shape)} does not match probabilities {tuple(probs.shape)}")
        probs = probs.float()
        h, w = probs.shape[-2:]
        small = image.float()
        if self.blur > 1:
            small = F.avg_pool2d(small, self.blur, ceil_mode=True)
        kern = self._kernels(small)
        unary = torch.log(probs.clamp_min(EPS))  # = -U
        q = probs
        for _ in range(self.params.iterations):
            qs = F.avg_pool2d(q, self.blur, ceil_mode=True) if self.blur > 1 else q
            msg = self._message(qs, kern)
            if self.blur > 1:
                msg = F.interpolate(msg, size=(h, w), mode="bilinear", align_corners=False)
            # Potts model: energy(l) = U(l) - sum_j k(i,j) Q_j(l) + const (pydensecrf's sign)
            q = torch.softmax(unary + msg, dim=1)
        return q


def batch_crf(
    images: torch.Tensor,
    probs: torch.Tensor,
    params: CRFParams = CRFParams(),
    backend: str = "convcrf",
    window: int = 7,
    blur: int = 4,
) -> torch.Tensor:
    """CRF marginals for a batch, no gradient. images (B, 3, H, W) 0..255; probs (B, C, H, W).

    ``backend``: ``"convcrf"`` (torch, on the tensors' device) or ``"pydensecrf"`` (CPU, per
    image). Returns (B, C, H, W) float32 on the device of ``probs``.
    """
    with torch.no_grad():
        if backend == "convcrf":
            return ConvCRF(params, window, blur)(images, probs.detach())
        if backend == "pydensecrf":
            imgs = images.detach().round().clamp(0, 255).to("cpu", torch.uint8).permute(0, 2, 3, 1).numpy()
            p = probs.detach().float().cpu().numpy()
            q = np.stack([dense_crf(np.ascontiguousarray(imgs[i]), p[i], params) for i in range(len(p))])
            return torch.from_numpy(q).to(probs.device)
        raise ValueError(f"unknown CRF backend {backend!r} (config key train.crf.backend): convcrf or pydensecrf")
