"""Inference: labelId PNGs (raw and dense-CRF refined) named like Cityscapes results, overlays,
and evaluation of a variant's predictions.

``results/{dataset}/predict/{variant}/``::

    raw/{city}/{city}_{seq:06d}_{frame:06d}_{variant}_labelIds.png   network argmax
    crf/{city}/{city}_{seq:06d}_{frame:06d}_{variant}_labelIds.png   after pydensecrf
    overlay/{city}/{snippet}_{raw|crf}.png                            colour over the frame

PNGs are at ground-truth resolution (the original frame size when there is no ground truth).
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

from .classtable import ClassTable
from .config import section
from .crf import CRFParams, dense_crf
from .datasets.manifest import Manifest, Snippet
from .h5io import open_artifact, write_json
from .images import image_size, read_rgb, write_png
from .provenance import Expectations
from .model.normalise import normalise_rgb
from .model.two_stream import TwoStreamNet
from .train.checkpoint import CheckpointError, load_model
from .train.readers import Readers

log = logging.getLogger("tagseg.predict")

SCORE_KEYS = ("class_iou", "miou", "class_accuracy", "mean_class_accuracy", "global_accuracy",
              "category_iou", "category_miou")


def label_id_lut(table: ClassTable, class_names: Sequence[str]) -> np.ndarray:
    """(len(class_names),) uint8: class index -> label id of ``table``."""
    return np.array([table.label(n).label_id for n in class_names], dtype=np.uint8)


def colourise(index: np.ndarray, table: ClassTable, class_names: Sequence[str]) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) uint8 colours of ``table``."""
    pal = np.array([table.label(n).color for n in class_names], dtype=np.uint8)
    return pal[index]


def overlay(image: np.ndarray, index: np.ndarray, table: ClassTable, class_names: Sequence[str],
            alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised prediction over the (H, W, 3) uint8 RGB frame."""
    col = colourise(index, table, class_names).astype(np.float32)
    return (alpha * col + (1 - alpha) * image.astype(np.float32)).round().clip(0, 255).astype(np.uint8)


@torch.no_grad()
def predict_probs(net: TwoStreamNet, rgb: np.ndarray, flow: np.ndarray | None, flow_scale: float,
                  device: torch.device, amp: torch.dtype | None = None) -> torch.Tensor:
    """Softmax (C, H, W) float32 on CPU for one frame. rgb (H, W, 3) uint8; flow (2L, H, W) pixels."""
    x = normalise_rgb(rgb)[None].to(device)
    fl = None
    if flow is not None:
        fl = (torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32)) / flow_scale)[None].to(device)
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else torch.autocast(device.type, enabled=False)
    with ctx:
        logits = net(x, fl)
    return torch.softmax(logits.float(), 1)[0].cpu()


def output_size(snippet: Snippet) -> tuple[int, int]:
    """(H, W) of the ground truth, else of the original annotated frame."""
    if snippet.gt is not None:
        return image_size(snippet.gt)
    return tuple(read_rgb(snippet.frame_path(0)).shape[:2])


def predict_split(
    manifest: Manifest,
    split: str,
    model_path: str | os.PathLike,
    variant: str,
    out_dir: str | os.PathLike,
    flow_shards: Sequence[str | os.PathLike] | None = None,
    cfg: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    readers: Readers | None = None,
    backbone: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write raw / CRF / overlay PNGs for every snippet of ``split``; returns timing figures.

    ``cfg`` is the config ``predict`` section (``crf`` parameters, ``overlays``; keys left out
    take the schema's defaults, :func:`tagseg.config.section`); ``backbone``
    (``train.model.backbone``), when given, must be the checkpoint's; ``provenance`` (the rule's
    param, :func:`tagseg.provenance.rule_param`): the flow shards must match it.
    """
    cfg = section("predict", cfg)
    device = torch.device(device)
    net, meta = load_model(model_path, variant, list(manifest.classes), backbone)
    net.to(device).eval()
    ncfg = net.cfg
    L = ncfg.flow_channels // 2
    expect = (Expectations.from_param(provenance, manifest).of("flow")
              if provenance and ncfg.two_stream else None)
    trained = meta.get("stage_hashes") or {}
    stale = [s for s, h in (provenance or {}).get("hashes", {}).items() if s in trained and trained[s] != h]
    if stale:
        raise CheckpointError(f"{model_path}: trained on {stale[0]} shards of another {stale[0]!r} config "
                              f"section; rerun: snakemake --forcerun=train <target>")
    flow_scale = float(meta.get("flow_scale", 10.0))
    readers = readers or Readers()
    params = CRFParams.from_config(cfg["crf"], width=int(manifest.size[1]))
    lut = label_id_lut(manifest.table, manifest.classes)
    out = Path(out_dir)
    files: dict[int, Any] = {}
    t_net = t_crf = 0.0
    snippets = manifest.split(split)
    try:
        for s in snippets:
            img = read_rgb(s.frame_path(0), tuple(manifest.size))
            flow = None
            if ncfg.two_stream:
                if not flow_shards:
                    raise ValueError(f"variant {variant} is two-stream: flow shards of split {split!r} needed")
                if s.shard not in files:
                    files[s.shard] = open_artifact(flow_shards[s.shard], "flow", expect=expect)
                flow = np.asarray(readers.stack(files[s.shard], s.id, 0, L), dtype=np.float32)
                if flow.shape[0] != ncfg.flow_channels:
                    raise ValueError(
                        f"{flow_shards[s.shard]}: flow stack of {s.id} has {flow.shape[0]} channels, "
                        f"the model {model_path} expects {ncfg.flow_channels}"
                    )
            t = time.perf_counter()
            probs = predict_probs(net, img, flow, flow_scale, device)
            h, w = output_size(s)
            if (h, w) != tuple(probs.shape[-2:]):
                probs = F.interpolate(probs[None], size=(h, w), mode="bilinear", align_corners=False)[0]
            raw = probs.argmax(0).numpy()
            t_net += time.perf_counter() - t
            full = read_rgb(s.frame_path(0), (h, w))
            t = time.perf_counter()
            refined = dense_crf(full, probs.numpy(), params).argmax(0)
            t_crf += time.perf_counter() - t
            name = f"{s.id}_{variant}_labelIds.png"
            write_png(out / "raw" / s.city / name, lut[raw])
            write_png(out / "crf" / s.city / name, lut[refined])
            if cfg["overlays"]:
                for tag, index in (("raw", raw), ("crf", refined)):
                    write_png(out / "overlay" / s.city / f"{s.id}_{tag}.png",
                              overlay(full, index, manifest.table, manifest.classes))
    finally:
        for f in files.values():
            f.close()
    n = len(snippets)
    summary = {"variant": variant, "split": split, "images": n, "device": str(device),
               "seconds_per_image_network": t_net / max(1, n), "seconds_per_image_crf": t_crf / max(1, n)}
    log.info("%s/%s: %d images, %.3f s/image network, %.3f s/image CRF", variant, split, n,
             summary["seconds_per_image_network"], summary["seconds_per_image_crf"])
    return summary


def evaluate_variant(manifest: Manifest, split: str, pred_root: str | os.PathLike,
                     variant: str, out_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score ``pred_root/raw`` and ``pred_root/crf`` with the evaluation protocol of the
    manifest's kind (:mod:`tagseg.datasets.kinds`; Cityscapes and synthcity:
    :func:`tagseg.metrics.evaluate_folder` over the manifest's class table).

    Returns (and writes to ``out_path``) ``{dataset, variant, split, n_images, raw: {...}, crf: {...}}``
    where each block holds per-class IoU, mIoU, class / mean class / global accuracy, category
    IoU and category mIoU (fractions in [0, 1]; classes absent from ground truth and
    predictions are NaN, null in the JSON file) and the confusion matrix.
    """
    from .datasets.kinds import protocol

    evaluate = protocol(manifest.kind)
    result: dict[str, Any] = {"dataset": manifest.dataset, "variant": variant, "split": split}
    for kind in ("raw", "crf"):
        r = evaluate(manifest, split, Path(pred_root) / kind)  # ours: label ids
        result["n_images"] = r["n_images"]
        keys = (*SCORE_KEYS, *r.get("extra_keys", ()), "confusion_rows", "confusion_columns",
                "confusion_matrix")  # extra_keys: a protocol's own scores (youtube_objects)
        result[kind] = {k: r[k] for k in keys}
    if out_path is not None:
        write_json(out_path, result)
    return result
