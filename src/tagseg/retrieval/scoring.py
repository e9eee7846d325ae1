"""Scorers: ``(N, H, W, 3) uint8 RGB -> (N, C) float32`` class scores in [0, 1].

C follows a class table (the manifest's ``classes``). Implementations:

- :func:`palette_scorer` — a transparent stand-in: the score of class c is the fraction of
  pixels within ``tol`` of c's Cityscapes colour, divided by ``full_fraction`` and clipped to 1.
  It is exact on label-coloured synthetic frames and meaningless on real video; it lets the
  retrieval stages be run and measured before a classifier exists.
- :func:`classifier_scorer` — the ``classifiers`` checkpoint (the paper's method), optionally
  at a larger scale and as the maximum over square crops (the CAM classifier is trained on
  square iconic images);
- :func:`model_scorer` — wraps any torch classifier ``(B, 3, h, w) -> (B, C) logits`` (e.g. the
  ``classifiers`` CAM checkpoint): resize, ImageNet-normalise, sigmoid (one-vs-all, as the
  tag loss) or softmax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from ..classtable import ClassTable

Scorer = Callable[[np.ndarray], np.ndarray]
"""``frames (N, H, W, 3) uint8 RGB -> scores (N, C) float32 in [0, 1]``."""

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"scorer input must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}"
        )
    return frames


def palette_scorer(
    table: ClassTable, class_names: Sequence[str], tol: float = 40.0, full_fraction: float = 0.10
) -> Scorer:
    """Score = min(1, fraction of pixels within ``tol`` (RGB L2) of the class colour in
    ``table`` / ``full_fraction``)."""
    colors = np.array([table.label(n).color for n in class_names], np.float32)  # (C, 3)

    def score(frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.zeros((len(frames), len(colors)), np.float32)
        if frames.size == 0:
            return out
        for i, fr in enumerate(frames):
            px = fr.reshape(-1, 3).astype(np.float32)
            # nearest colour per pixel only counts once: (P, C) distances
            d = np.sqrt(((px[:, None, :] - colors[None, :, :]) ** 2).sum(-1))
            hit = d <= tol
            out[i] = hit.mean(0) / full_fraction
        return np.clip(out, 0.0, 1.0)

    return score


def model_scorer(
    model, input_size: tuple[int, int] = (224, 224), activation: str = "sigmoid",
    device: str = "cpu", batch_size: int = 16,
) -> Scorer:
    """Wrap a torch classifier ``(B, 3, h, w) ImageNet-normalised -> (B, C) logits``.

    ``input_size`` is (h, w) pixels; ``activation`` is ``sigmoid`` or ``softmax``.
    """
    import torch

    if activation not in ("sigmoid", "softmax"):
        raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")
    model = model.to(device).eval()
    h, w = input_size

    @torch.no_grad()
    def score(frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        outs = []
        for start in range(0, len(frames), batch_size):
            batch = np.stack(
                [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames[start:start + batch_size]]
            ).astype(np.float32) / 255.0
            batch = (batch - IMAGENET_MEAN) / IMAGENET_STD
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(device)
            logits = model(x)
            p = torch.sigmoid(logits) if activation == "sigmoid" else torch.softmax(logits, 1)
            outs.append(p.float().cpu().numpy())
        if not outs:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(outs).astype(np.float32)

    return score


def square_crops(frame: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` square crops (side = the shorter side) evenly spaced along the longer side of
    ``frame`` (H, W, 3); ``n = 1`` is the centre crop, ``n = 0`` the whole frame."""
    if n <= 0:
        return [frame]
    h, w = frame.shape[:2]
    side, room = min(h, w), max(h, w) - min(h, w)
    starts = np.round(np.linspace(0, room, n) if n > 1 else [room / 2]).astype(int)
    return [frame[:, s:s + side] if w >= h else frame[s:s + side] for s in starts]


IMAGENET_SIDE = 224
"""Shorter side, pixels, at which ImageNet heads see frames: the resolution those networks were
trained at (the ``scale`` knob applies to the CAM heads' own training size)."""


def classifier_scorer(
    checkpoint: str, class_names: Sequence[str], device: str = "cpu",
    heatmaps_cfg: dict | None = None, batch_size: int = 16, scale: float = 1.0, crops: int = 0,
    imagenet_side: int = IMAGENET_SIDE,
) -> Scorer:
    """Scorer from the ``classifiers`` checkpoint (:func:`tagseg.heatmaps.model.load_model`).

    Frames are resized so the shorter side is ``scale`` x the checkpoint's ``input_size`` for
    classes with CAM heads (unchanged when that is 0) and ``imagenet_side`` for classes with
    ImageNet heads, ImageNet-normalised, cut into ``crops`` square crops (0: the whole frame;
    :func:`square_crops`) and scored by ``HeatmapModel.maps``; a frame's score is the maximum
    over its crops. Columns follow ``class_names`` (a class the checkpoint lacks scores 0).
    """
    import torch

    from ..device import resolve
    from ..heatmaps.model import load_model

    if scale <= 0 or crops < 0 or imagenet_side <= 0:
        raise ValueError(f"config key retrieval.classifiers: scale and imagenet_side must be > 0 "
                         f"and crops >= 0, got scale={scale}, imagenet_side={imagenet_side}, "
                         f"crops={crops}")
    dev = resolve(device) if device else torch.device("cpu")
    model = load_model(checkpoint, heatmaps_cfg, dev)
    cam_side = scale * int(getattr(model, "input_size", 0) or 0)
    # shorter side -> [(output column, model column)]: one pass per resolution in use
    passes: dict[float, list[tuple[int, int]]] = {}
    for j, name in enumerate(class_names):
        if name in model.class_names:
            side = float(imagenet_side) if model.heads.get(name) == "imagenet" else cam_side
            passes.setdefault(side, []).append((j, model.class_names.index(name)))
    per = max(crops, 1)

    @torch.no_grad()
    def views(chunk: np.ndarray, side: float) -> torch.Tensor:
        h, w = chunk.shape[1:3]
        if side:
            k = side / min(h, w)
            chunk = np.stack([cv2.resize(f, (max(1, round(w * k)), max(1, round(h * k))),
                                         interpolation=cv2.INTER_AREA) for f in chunk])
        v = np.stack([c for f in chunk for c in square_crops(f, crops)])
        x = (v.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return torch.from_numpy(x).permute(0, 3, 1, 2).to(dev)

    @torch.no_grad()
    def score(frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.zeros((len(frames), len(class_names)), np.float32)
        for start in range(0, len(frames), batch_size):
            chunk = frames[start:start + batch_size]
            for side, cols in passes.items():
                s, _ = model.maps(views(chunk, side), (1, 1))
                s = s.float().cpu().numpy().reshape(len(chunk), per, -1).max(1)
                for j, c in cols:
                    out[start:start + len(chunk), j] = s[:, c]
        return np.clip(out, 0.0, 1.0)

    return score


def from_config(cfg: dict, table: ClassTable, class_names: Sequence[str],
                checkpoint: str | None = None, device: str = "cpu",
                heatmaps_cfg: dict | None = None) -> Scorer:
    """Scorer named by config key ``retrieval.scorer``: ``palette`` (colours of ``table``, the
    manifest's) or ``classifiers``; ``cfg`` the validated ``retrieval`` section
    (:func:`tagseg.plan.retrieval_config`)."""
    kind = cfg["scorer"]
    if kind == "palette":
        p = cfg["palette"]
        return palette_scorer(table, class_names, tol=float(p["tol"]), full_fraction=float(p["full_fraction"]))
    if kind == "classifiers":
        if not checkpoint:
            raise ValueError("config key retrieval.scorer is 'classifiers' but no checkpoint path was given")
        c = cfg["classifiers"]
        return classifier_scorer(checkpoint, class_names, device, heatmaps_cfg, scale=float(c["scale"]),
                                 crops=int(c["crops"]), imagenet_side=int(c["imagenet_side"]))
    raise ValueError(f"config key retrieval.scorer: unknown scorer {kind!r} (palette | classifiers)")
