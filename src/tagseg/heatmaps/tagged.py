"""A multi-label CAM classifier trained on a dataset's own tagged images (Hong et al. eq. 1-2).

Hong et al. train their encoder on PASCAL VOC's image-level labels: one sigmoid output per
class, a binary cross-entropy per class (eq. 1), and the class activation maps of its last
conv layer as attention (eq. 2). This is the alternative to the iconic-image classifier of
:mod:`.train`, chosen per dataset by config ``datasets.{name}.classifier: tags``.

Data: the annotated frame of every ``train`` snippet of the manifest with its tags as a
multi-hot target over the table's foreground classes (the 20 VOC object classes); the table's
one background class (``background``) gets no output but head ``complement`` (its map:
1 - the max of the object maps, :mod:`.multiscale`). A stratified-by-first-tag fraction
``heatmaps.cam.val_fraction`` of the train images is held out; its multi-label mAP
(scikit-learn ``average_precision_score`` per class, mean over classes with a positive) goes
to ``classifiers/accuracy.json``. The network, augmentation and optimiser are the iconic
classifier's (:class:`.cam.CAMNet`, :class:`.iconic.IconicImages`, ``heatmaps.cam`` keys);
the loss is always ``sigmoid``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.manifest import Manifest
from ..datasets.manifest import load as load_manifest
from ..errors import TagsegError
from ..h5io import write_json
from ..images import read_rgb
from .cam import CAMNet
from .iconic import IconicImages, split_held_out
from .model import save_checkpoint
from .train import seed_everything

log = logging.getLogger("tagseg.heatmaps")

SOURCES = ("iconic", "tags")
"""``datasets.{name}.classifier``: iconic images (:mod:`.train`) or the dataset's tags (here)."""


class TaggedClassifierError(TagsegError, ValueError):
    """The dataset's tagged images cannot train a classifier (none, or no class tagged)."""


class TaggedImages(IconicImages):
    """Tagged images as (3, S, S) normalised tensors and (C,) float multi-hot targets."""

    def image(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = read_rgb(self.items[i][0])
        if self._cache is not None:
            self._cache[i] = img
        return img

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        x, y = super().__getitem__(i)
        return x, torch.as_tensor(y, dtype=torch.float32)


def training_items(manifest: Manifest, cam_classes: Sequence[str], split: str = "train",
                   ) -> list[tuple[Path, np.ndarray]]:
    """(annotated frame, (C,) multi-hot over ``cam_classes``) of each snippet of ``split``."""
    out = []
    for s in manifest.split(split):
        y = np.array([c in s.tags for c in cam_classes], np.float32)
        out.append((Path(s.frame_path(0)), y))
    return out


def mean_average_precision(scores: np.ndarray, targets: np.ndarray,
                           names: Sequence[str]) -> tuple[float | None, dict[str, float | None]]:
    """(mAP, per-class AP) of (N, C) scores against (N, C) 0/1 targets; a class with no
    positive has AP None and is left out of the mean (scikit-learn's average precision)."""
    from sklearn.metrics import average_precision_score

    per: dict[str, float | None] = {}
    for k, name in enumerate(names):
        per[name] = (float(average_precision_score(targets[:, k], scores[:, k]))
                     if targets[:, k].any() else None)
    vals = [v for v in per.values() if v is not None]
    return (float(np.mean(vals)) if vals else None), per


@torch.no_grad()
def predict_scores(model: CAMNet, loader: torch.utils.data.DataLoader, device: torch.device,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(sigmoid scores (N, C), targets (N, C)) over a loader of :class:`TaggedImages`."""
    model.eval()
    s, t = [], []
    for x, y in loader:
        s.append(torch.sigmoid(model(x.to(device)).float()).cpu().numpy())
        t.append(y.numpy())
    c = model.num_classes
    return (np.concatenate(s) if s else np.zeros((0, c)), np.concatenate(t) if t else np.zeros((0, c)))


def train_tagged(manifest: Manifest, cam_cfg: Mapping[str, Any], device: torch.device,
                 seed: int = 0, init_state: Mapping[str, torch.Tensor] | None = None,
                 init_source: str = "") -> tuple[CAMNet, list[str], dict[str, Any]]:
    """Train the multi-label CAM classifier on the manifest's tagged train images.

    ``init_state``: ImageNet VGG-16 weights for the backbone (as the iconic classifier's;
    Hong et al. start from ImageNet); an ``efficientnet_lite0`` backbone starts from
    ``heatmaps.cam.weights``.

    Returns (model in eval mode, its classes = the table's foreground classes in table order,
    report with the held-out mAP, per-class AP, counts, history and seconds).
    """
    seed_everything(seed)
    t0 = time.time()
    cam_classes = [c for c in manifest.classes if c in manifest.table.foreground]
    items = training_items(manifest, cam_classes)
    if not items:
        raise TaggedClassifierError(f"dataset {manifest.dataset!r}: no train images to train the "
                                    "tag classifier (datasets.{name}.classifier: tags)")
    tagged = np.stack([y for _, y in items]).sum(0)
    if not tagged.any():
        raise TaggedClassifierError(f"dataset {manifest.dataset!r}: no train image is tagged with "
                                    f"any of {cam_classes}")
    # stratify by each image's first tag (images without an object tag form their own group)
    strata = [(i, int(np.argmax(y)) if y.any() else -1) for i, (_, y) in enumerate(items)]
    tr, va = split_held_out(strata, float(cam_cfg["val_fraction"]), seed)  # type: ignore[arg-type]
    train_items = [items[i] for i, _ in tr]
    val_items = [items[i] for i, _ in va]
    size = int(cam_cfg["input_size"])
    train_ds = TaggedImages(train_items, cam_classes, size, augment=True,  # type: ignore[arg-type]
                            crop_scale=tuple(cam_cfg["crop_scale"]), jitter=float(cam_cfg["jitter"]),
                            seed=seed)
    val_ds = TaggedImages(val_items, cam_classes, size, augment=False)  # type: ignore[arg-type]
    g = torch.Generator().manual_seed(seed)
    bs = int(cam_cfg["batch_size"])
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=bs, shuffle=True, generator=g,
                                           drop_last=len(train_ds) > bs)
    val_dl = torch.utils.data.DataLoader(val_ds, batch_size=2 * bs, shuffle=False)
    model = CAMNet(len(cam_classes), width=float(cam_cfg["width"]), channels=cam_cfg.get("channels"),
                   batch_norm=bool(cam_cfg["batch_norm"]), backbone=str(cam_cfg.get("backbone", "vgg16")))
    if init_state is not None:
        from ..model.vgg import check_and_load

        check_and_load(model.features, init_state, init_source, prefix="features.")
        log.info("backbone initialised from ImageNet weights %s", init_source)
    elif model.backbone == "efficientnet_lite0" and cam_cfg.get("weights", "none") != "none":
        from ..model.efficientnet_lite import load_imagenet

        weights = cam_cfg["weights"]
        load_imagenet(model.features, None if weights == "imagenet" else weights, "heatmaps.cam.weights")
    if model.backbone == "efficientnet_lite0":
        model.features.freeze(int(cam_cfg.get("frozen_blocks", 0)))
    model.to(device)
    epochs = int(cam_cfg["epochs"])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=float(cam_cfg["lr"]),
                           weight_decay=float(cam_cfg["weight_decay"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(cam_cfg["lr"]),
                                                total_steps=max(1, epochs * len(train_dl)), pct_start=0.15)
    history = []
    for epoch in range(epochs):
        model.train()
        losses = []
        for x, y in train_dl:
            x, y = x.to(device), y.to(device)
            loss = F.binary_cross_entropy_with_logits(model(x), y)  # Hong eq. 1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        m = mean_average_precision(*predict_scores(model, val_dl, device), cam_classes)[0] if len(val_ds) else None
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_map": m})
        log.info("tag classifier epoch %d/%d loss %.4f held-out mAP %s", epoch + 1, epochs,
                 history[-1]["loss"], "n/a" if m is None else f"{m:.3f}")
    model.eval()
    scores, targets = predict_scores(model, val_dl, device) if len(val_ds) else (None, None)
    mAP, per = (mean_average_precision(scores, targets, cam_classes) if scores is not None
                else (None, {c: None for c in cam_classes}))
    report = {
        "source": "tags", "loss": "sigmoid", "val_map": mAP,
        "classes": {c: {"val_ap": per[c], "head": "cam",
                        "n_train": int(sum(y[k] for _, y in train_items)),
                        "n_val": int(sum(y[k] for _, y in val_items))}
                    for k, c in enumerate(cam_classes)},
        "n_train": len(train_items), "n_val": len(val_items),
        "history": history, "seconds": round(time.time() - t0, 1),
    }
    return model, cam_classes, report


def run_tagged_classifiers(manifest: Manifest | str | os.PathLike, cfg: Mapping[str, Any],
                           model_path: str | os.PathLike, accuracy_path: str | os.PathLike,
                           device: torch.device, seed: int = 0) -> dict[str, Any]:
    """Rule ``tagged_classifiers``: train on the tags, write the checkpoint (the format of
    :mod:`.model`: object classes head ``cam`` with sigmoid scores, the background class head
    ``complement``, any other class ``none``) and ``accuracy.json``. ``cfg``: the ``heatmaps``
    section. Returns the report."""
    from ..model.vgg import load_state
    from .train import _imagenet_state

    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    cam_cfg, im_cfg = cfg["cam"], dict(cfg.get("imagenet") or {})
    init_state, init_source = None, ""
    weights = cam_cfg.get("weights") or "imagenet"
    if cam_cfg.get("backbone", "vgg16") == "vgg16" and weights != "none":  # as the iconic classifier
        if weights != "imagenet":
            init_state, init_source = load_state(weights), str(weights)
        elif ((im_cfg.get("weights") and im_cfg.get("backbone", "vgg16") == "vgg16")
              or im_cfg.get("allow_download")):
            init_state, init_source = _imagenet_state(im_cfg)
    model, cam_classes, report = train_tagged(manifest, cam_cfg, device, seed, init_state, init_source)
    bg = "background" if "background" in manifest.table.background else None
    heads = {c: "cam" if c in cam_classes else "complement" if c == bg else "none"
             for c in manifest.classes}
    for c in manifest.classes:
        report["classes"].setdefault(c, {"val_ap": None})["head"] = heads[c]
    report["classes"] = {c: report["classes"][c] for c in manifest.classes}
    report["device"] = str(device)
    save_checkpoint(model_path, {
        "classes": list(manifest.classes), "heads": heads, "cam_classes": cam_classes,
        "cam_arch": model.arch(), "cam_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "score": "sigmoid", "input_size": int(cfg["cam"]["input_size"]), "imagenet": {},
        "imagenet_classes": {}, "val_accuracy": {c: report["classes"][c].get("val_ap") for c in manifest.classes},
        "source": "tags", "cam_maps": "sigmoid",
    })
    write_json(accuracy_path, report)
    log.info("tag classifier of %s: held-out mAP %s on %d images", manifest.dataset,
             report["val_map"], report["n_val"])
    return report
