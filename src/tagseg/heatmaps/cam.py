"""CAM classifier (Hong et al. §3.1): VGG-16 conv layers, a new conv layer, GAP, FC.

``F(x)`` is the new conv layer's ReLU output (B, d, h, w) at stride 16 (pool5 dropped, as in
Zhou et al.'s CAM); logits = FC(GAP(F(x))); the class activation map of class c is
``F(x) · W · y^c`` (eq. 2), i.e. ``einsum('bdhw,cd->bchw', F, W)`` — the FC bias is a
per-class constant and is left out of the map.
"""

from __future__ import annotations

import torch
from torch import nn

from ..model import backbones
from ..model.vgg import init_weights, scaled

STRIDE = 16
"""Input pixels per CAM cell."""


class CAMNet(nn.Module):
    """Multi-class / one-vs-all classifier whose maps are class activation maps.

    Input (B, 3, H, W) normalised with ImageNet mean/std; ``forward`` -> (B, C) logits;
    :meth:`cam` -> logits and (B, C, H/16, W/16) maps. ``features`` is the backbone's trunk at
    stride 16 (:mod:`tagseg.model.backbones`): for ``vgg16`` it carries torchvision's VGG-16 (or
    ``vgg16_bn``) names, so ImageNet conv weights load with ``prefix="features."``; for
    ``efficientnet_lite0`` EfficientNet-PyTorch's (``width`` then only scales the new conv).
    """

    def __init__(
        self,
        num_classes: int,
        width: float = 0.25,
        channels: int | None = None,
        batch_norm: bool = False,
        backbone: str = "vgg16",
    ) -> None:
        super().__init__()
        self.width = width
        self.batch_norm = batch_norm
        self.backbone = backbones.check(backbone, "heatmaps.cam.backbone")
        self.channels = channels or scaled(1024, width)
        self.features = backbones.trunk(backbone, 3, STRIDE, width, batch_norm)
        self.adapt = nn.Sequential(
            nn.Conv2d(backbones.channels(backbone, width), self.channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(self.channels, num_classes)
        if backbone == "vgg16":
            init_weights(self)
        else:  # the EfficientNet trunk keeps its own initialisation
            init_weights(self.adapt)
            init_weights(self.fc)

    @property
    def num_classes(self) -> int:
        return self.fc.out_features

    def arch(self) -> dict:
        """Constructor arguments, stored in checkpoints."""
        return {"num_classes": self.num_classes, "width": self.width, "channels": self.channels,
                "batch_norm": self.batch_norm, "backbone": self.backbone}

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): (B, d, H/16, W/16), non-negative."""
        return self.adapt(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.feature_map(x).mean(dim=(2, 3)))

    def cam(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, C) and class activation maps (B, C, H/16, W/16) (eq. 2, no bias)."""
        f = self.feature_map(x)
        maps = torch.einsum("bdhw,cd->bchw", f, self.fc.weight)
        logits = maps.mean(dim=(2, 3)) + self.fc.bias
        return logits, maps
