"""VGG-16 (configuration D) in plain PyTorch, with torchvision's parameter names.

``features.{i}.weight`` / ``classifier.{0,3,6}.weight`` match ``torchvision.models.vgg16``, so
the official ``vgg16-397923af.pth`` loads with :func:`load_imagenet_weights` at width 1.0.
A ``width`` multiplier scales every conv's channels (1.0 = the paper; e.g. 0.125 for CPU runs).
``batch_norm=True`` gives torchvision's ``vgg16_bn`` layout (conv, BatchNorm, ReLU), for
backbones trained from scratch.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

# Conv channels per layer, "M" = 2x2 max-pool; torchvision's cfg "D".
CFG_D: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)
CONV5_3_INDEX = 28
"""Index in ``features`` of conv5_3's ReLU output (before the last pool); 42 with BatchNorm."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"


def scaled(channels: int, width: float) -> int:
    """Channels of a layer at width multiplier ``width`` (at least 8)."""
    return max(8, int(round(channels * width)))


def make_features(
    width: float = 1.0, in_channels: int = 3, pool5: bool = True, batch_norm: bool = False
) -> nn.Sequential:
    """VGG-16 conv layers as ``nn.Sequential`` with torchvision's indices.

    Input (B, in_channels, H, W); output (B, scaled(512), H/32, W/32) with ``pool5``, else H/16.
    ``batch_norm`` inserts ``BatchNorm2d`` after every conv (torchvision ``vgg16_bn`` indices).
    """
    layers: list[nn.Module] = []
    c = in_channels
    cfg = CFG_D if pool5 else CFG_D[:-1]
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out = scaled(int(v), width)
            layers.append(nn.Conv2d(c, out, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            c = out
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """torchvision's VGG initialisation, for training from scratch.

    Conv: Kaiming normal (fan_out, ReLU), zero bias; BatchNorm: weight 1, bias 0;
    Linear: normal(0, 0.01), zero bias.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def feature_channels(width: float) -> int:
    """Channels of conv5_3 at ``width``."""
    return scaled(512, width)


class VGG16(nn.Module):
    """VGG-16 classifier with torchvision-compatible names (``features``, ``classifier``).

    Input (B, 3, 224, 224) normalised with ImageNet mean/std; output (B, num_classes) logits.
    """

    def __init__(self, width: float = 1.0, num_classes: int = 1000, batch_norm: bool = False) -> None:
        super().__init__()
        self.width = width
        self.features = make_features(width, batch_norm=batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        c = feature_channels(width)
        fc = scaled(4096, width)
        self.classifier = nn.Sequential(
            nn.Linear(c * 7 * 7, fc), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(fc, fc), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(fc, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def fully_convolutional_head(vgg: VGG16) -> nn.Sequential:
    """fc6/fc7/fc8 of ``vgg`` as convolutions (7x7, 1x1, 1x1) carrying the trained weights.

    Applied to ``vgg.features`` output (B, C, h, w) it gives (B, num_classes, h-6, w-6) scores;
    callers pad the input (or the features) to keep a map for small images.
    """
    fc6, fc7, fc8 = (vgg.classifier[i] for i in (0, 3, 6))
    c = feature_channels(vgg.width)
    conv6 = nn.Conv2d(c, fc6.out_features, kernel_size=7)
    conv7 = nn.Conv2d(fc7.in_features, fc7.out_features, kernel_size=1)
    conv8 = nn.Conv2d(fc8.in_features, fc8.out_features, kernel_size=1)
    with torch.no_grad():
        conv6.weight.copy_(fc6.weight.view(fc6.out_features, c, 7, 7))
        conv6.bias.copy_(fc6.bias)
        conv7.weight.copy_(fc7.weight.view(*conv7.weight.shape))
        conv7.bias.copy_(fc7.bias)
        conv8.weight.copy_(fc8.weight.view(*conv8.weight.shape))
        conv8.bias.copy_(fc8.bias)
    return nn.Sequential(conv6, nn.ReLU(inplace=True), conv7, nn.ReLU(inplace=True), conv8)


class WeightsError(ValueError):
    """A weights file is missing or does not fit the network (names the file and keys)."""


def load_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a state dict from a local file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for corrupt files
        raise WeightsError(f"{path}: cannot read weights: {e}") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state


def check_and_load(
    module: nn.Module, state: dict[str, torch.Tensor], source: str, prefix: str = ""
) -> None:
    """Copy ``state`` (keys optionally under ``prefix``) into ``module``, strictly.

    Missing keys, unexpected keys and shape mismatches raise :class:`WeightsError` naming
    ``source`` and the offending keys.
    """
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing = sorted(set(own) - set(sub))
    unexpected = sorted(set(sub) - set(own))
    if missing or unexpected:
        raise WeightsError(
            f"{source}: keys do not match the network: missing {missing[:8]}"
            f"{'…' if len(missing) > 8 else ''}, unexpected {unexpected[:8]}"
            f"{'…' if len(unexpected) > 8 else ''}"
        )
    bad = [f"{k}: file {tuple(sub[k].shape)} vs net {tuple(own[k].shape)}"
           for k in own if tuple(sub[k].shape) != tuple(own[k].shape)]
    if bad:
        raise WeightsError(f"{source}: shape mismatch: {'; '.join(bad[:4])}")
    module.load_state_dict(sub, strict=True)


def load_imagenet_weights(
    vgg: VGG16,
    path: str | os.PathLike | None = None,
    allow_download: bool = False,
    url: str = IMAGENET_URL,
    model_dir: str | os.PathLike | None = None,
) -> None:
    """Load torchvision's ImageNet VGG-16 weights into ``vgg``.

    From ``path`` when given (any file whose keys and shapes fit ``vgg``; the official one is
    width 1.0); otherwise, only if ``allow_download``, from ``url`` via
    ``torch.hub.load_state_dict_from_url`` (cached in ``model_dir`` or torch's hub dir; the
    official file is width 1.0 only). Mismatching keys or shapes raise :class:`WeightsError`.
    """
    if path is not None:
        state, source = load_state(path), str(path)
    elif allow_download:
        if url == IMAGENET_URL and vgg.width != 1.0:
            raise WeightsError(f"ImageNet weights need width 1.0, network has width {vgg.width}")
        try:
            state = torch.hub.load_state_dict_from_url(
                url, model_dir=None if model_dir is None else str(model_dir),
                map_location="cpu", progress=False, check_hash=False, weights_only=True,
            )
        except Exception as e:  # noqa: BLE001 - urllib/HTTP/pickle errors
            raise WeightsError(f"{url}: cannot download weights: {e}") from e
        source = url
    else:
        raise WeightsError(
            "no ImageNet weights: set a local path (heatmaps.imagenet_weights) or allow downloads"
        )
    check_and_load(vgg, state, source)
