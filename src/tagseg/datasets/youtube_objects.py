"""Dataset kind ``youtube_objects``: YouTube-Objects v1.0 videos with the foreground masks of
Jain & Grauman (2014) as ground truth (Saleh et al. 2017, §4.1 and Table 7; Hong et al. 2017,
§5.3 and Table 4).

**Layouts read** (config ``datasets.{name}``: ``root``, ``frames``, ``masks``)::

    {root}/{frames}/{class}/data/{video:04d}/shots/{shot:03d}/frame{n:04d}.jpg
    {root}/{masks}/{class}/data/{video:04d}/shots/{shot:03d}/labels/{n:05d}.jpg

- ``frames`` (default ``v1``): the frames of YouTube-Objects v1.0 (Prest et al. 2012; download:
  https://data.vision.ee.ethz.ch/cvl/youtube-objects/), one folder per class, ``data/`` per
  video, ``shots/`` per shot, JPEG frames ``frame0001.jpg`` ... (its ``*.jpg_sticks.mat``
  boxes and ``{class}/sets/{train,test}.txt`` are not needed). The names are those that
  readers of the release use: shelhamer/clockwork-fcn ``datasets/youtube.py``
  (``v1/{class}/data/{vid}/shots/{shot}/frame{:0>4d}.jpg``) and sbelharbi/colo-cam
  ``dlib/datasets/_video_ds_ytov1_0.py`` (``{class}/data/{vid}/shots/{shot}/*.jpg``,
  ``{class}/sets/train.txt``).
- ``masks`` (default ``youtube_masks``): Jain & Grauman's release
  (https://vision.cs.utexas.edu/projects/videoseg/), the same class / video / shot folders
  with ``labels/{n:05d}.jpg``: a JPEG mask of frame ``n`` of that shot (the v1 frame
  ``frame{n:04d}.jpg``; grey > ``mask_threshold`` = the object), about every 10th frame of
  126 shots (clockwork-fcn ``datasets/youtube.py``: ``labels/{:0>5d}.jpg``, threshold 15;
  linjieyangsc/video_seg ``preprocessing/preprocess_youtube.py``: threshold 127). Its
  ``images/`` folders are not read: they hold the masked frames only, not the frames around
  them that the flow stacks need. The "full" repackaging (``images/frame{n:04d}.jpg`` of every
  frame of the masked shots beside ``labels/``, e.g. ``youtube_masks_full`` of
  Voigtlaender's OnAVOS) is read when the v1 tree lacks that shot.

Not read: YouTube-Objects v2.x (``YTOdevkit/YTO/{JPEGImages,Annotations,ImageSets}``,
vkalogeiton/yto-dataset): its JPEG images are the box-annotated key frames only, and the
masks of Jain & Grauman number v1's shot frames. DAVIS-style repackagings (``Images/``,
``Labels/``, ``all.txt``) keep only one shot per video and drop the shot number.

**Snippets.** ``train``: ``frames_per_shot`` annotated frames per shot of the v1 tree, evenly
spread over the positions whose flow window (frames ``lo..hi`` around it,
:func:`tagseg.plan.frame_span` of the offsets the stages need) lies inside the shot (Saleh:
6-8 frames drawn at random per shot, 10-frame flow snippets). Shots with masks are left out
of ``train`` unless ``train_on_masked_shots`` (Saleh trained on every shot), so ``val`` is
held out. ``val``: one snippet per mask whose flow window lies inside its shot (others are
skipped and counted in the log). Ids are ``{class}{video}_{shot:06d}_{n:06d}`` (the Cityscapes
form ``{city}_{seq}_{frame}``, city = class + video). Tags = the video's class.

**Ground truth.** Each mask becomes a label-id PNG of :data:`TABLE` (0 background, the
video's class id) under :func:`tagseg.plan.ground_truth_dir`, written when the manifest is
built; ``Snippet.gt`` points there, ``extra["mask"]`` at the mask. The class table uses the
PASCAL VOC label ids and colours (the 10 classes are VOC classes) with one background class.

**Evaluation** (:func:`evaluate`, Saleh Table 7): per class, the IoU of the predicted object
mask (pixels predicted as the video's class) with the ground-truth mask, accumulated over the
class's masked frames, and their mean over the classes that have masks. Also reported:
per-frame mean IoU per class, IoU of "any object predicted" masks, frames per class.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..classtable import IGNORE, ClassTable, Label, imagenet_pairs
from ..config import section
from ..images import ImageError, image_size, imread, read_label_ids
from .kinds import Kind
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

KIND = "youtube_objects"
CLASSES = ("aeroplane", "bird", "boat", "car", "cat", "cow", "dog", "horse", "motorbike", "train")
"""The 10 YouTube-Objects classes (PASCAL VOC names), in train-id order 1..10."""
BACKGROUND = "background"
VOC_IDS = {"background": 0, "aeroplane": 1, "bird": 3, "boat": 4, "car": 7, "cat": 8, "cow": 10,
           "dog": 12, "horse": 13, "motorbike": 14, "train": 19, "void": 255}
"""PASCAL VOC 2012 label ids (``SegmentationClass`` palette indices) of the classes."""

VIDEOSEG_URL = "https://vision.cs.utexas.edu/projects/videoseg/"
YTO_URL = "https://data.vision.ee.ethz.ch/cvl/youtube-objects/"


def voc_color(i: int) -> tuple[int, int, int]:
    """RGB of PASCAL VOC palette index ``i`` (the devkit's ``VOClabelcolormap``: bits of ``i``
    spread over the high bits of r, g, b)."""
    r = g = b = 0
    c = i
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return r, g, b


LABELS: tuple[Label, ...] = (
    Label(BACKGROUND, 0, 0, "background", False, False, voc_color(0)),
    *(Label(c, VOC_IDS[c], k + 1, "object", True, False, voc_color(VOC_IDS[c]))
      for k, c in enumerate(CLASSES)),
    Label("void", 255, IGNORE, "void", False, True, voc_color(255)),
)

IMAGENET: dict[str, list[int]] = {
    # ILSVRC-2012 class indices (synset order of the devkit's LOC_synset_mapping.txt)
    "aeroplane": [404, 895],  # airliner n02690373, warplane n04552348
    "bird": [*range(7, 25), *range(80, 101), *range(127, 147)],  # cock..great grey owl,
    #   black grouse..black swan, white stork..albatross
    "boat": [472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914],  # canoe, catamaran,
    #   container ship, fireboat, gondola, lifeboat, liner, pirate ship, schooner, speedboat,
    #   submarine, trimaran, yawl
    "car": [436, 468, 511, 609, 627, 656, 661, 717, 751, 817],  # as the Cityscapes table's car
    "cat": [281, 282, 283, 284, 285],  # tabby n02123045, tiger cat n02123159, Persian
    #   n02123394, Siamese n02123597, Egyptian cat n02124075
    "cow": [345, 346, 347],  # ox n02403003, water buffalo n02408429, bison n02410509
    "dog": list(range(151, 269)),  # Chihuahua n02085620 .. Mexican hairless n02113978
    "horse": [339, 603],  # sorrel n02389026, horse cart n03538406
    "motorbike": [665, 670],  # moped, motor scooter
    "train": [466, 547, 565, 705, 820, 829],  # bullet train, electric locomotive, freight car,
    #   passenger car, steam locomotive, streetcar
}
"""Class -> ImageNet class indices (its heatmap is the max over them); config
``heatmaps.imagenet.classes`` overrides entries. ImageNet has no cow or horse class: ox /
water buffalo / bison and sorrel / horse cart stand for them."""

TABLE = ClassTable("youtube_objects", LABELS, encoding="ids", imagenet=imagenet_pairs(IMAGENET))
"""10 object classes (train ids 1..10) and one background class (0), VOC label ids; 255 void."""

FRAME_RE = re.compile(r"^frame(\d+)\.jpg$")
MASK_RE = re.compile(r"^(\d+)\.(jpg|png)$")


def frame_name(n: int) -> str:
    """File name of frame ``n`` of a v1 shot: ``frame0001.jpg``."""
    return f"frame{n:04d}.jpg"


def mask_name(n: int) -> str:
    """File name of the mask of frame ``n`` in Jain & Grauman's ``labels/``: ``00001.jpg``."""
    return f"{n:05d}.jpg"


def snippet_id(cls: str, video: str, shot: int, n: int) -> str:
    return f"{cls}{video}_{shot:06d}_{n:06d}"


# --------------------------------------------------------------------------- tree scanning


def _key(name: str, key: str) -> str:
    return f"config key 'datasets.{name}.{key}'"


def _folder(root: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else root / p


def _listdir(d: Path) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _classes_in(tree: Path, name: str, key: str) -> list[str]:
    """Class folders of ``tree`` (each must be one of :data:`CLASSES`), in table order."""
    found = [c for c in _listdir(tree) if (tree / c / "data").is_dir()]
    unknown = [c for c in found if c not in CLASSES]
    if unknown:
        raise ManifestError(f"{tree / unknown[0]}: class folder {unknown[0]!r} is not a "
                            f"YouTube-Objects class ({', '.join(CLASSES)}; {_key(name, key)})")
    return [c for c in CLASSES if c in found]


def _shots(tree: Path, cls: str) -> list[tuple[str, int, Path]]:
    """(video, shot number, shot folder) of every ``{cls}/data/{video}/shots/{shot}`` folder."""
    out = []
    data = tree / cls / "data"
    for video in _listdir(data):
        for shot in _listdir(data / video / "shots"):
            d = data / video / "shots" / shot
            if shot.isdigit() and d.is_dir():
                out.append((video, int(shot), d))
    return out


def _frame_numbers(shot_dir: Path) -> set[int]:
    return {int(m[1]) for f in _listdir(shot_dir) if (m := FRAME_RE.match(f))}


def _window_fits(n: int, have: set[int], lo: int, hi: int) -> bool:
    return all(n + o in have for o in range(lo, hi + 1))


def evenly(candidates: Sequence[int], k: int) -> list[int]:
    """``k`` of the sorted ``candidates`` spread evenly (all of them when there are fewer)."""
    if len(candidates) <= k:
        return list(candidates)
    idx = np.linspace(0, len(candidates) - 1, k).round().astype(int)
    return [candidates[i] for i in sorted(set(idx.tolist()))]


def convert_mask(mask_path: str | os.PathLike, cls: str, threshold: int) -> np.ndarray:
    """(H, W) uint8 label ids of :data:`TABLE` of one Jain & Grauman mask: pixels brighter than
    ``threshold`` (grey level 0..255; the masks are JPEGs) are ``cls``, the rest background."""
    img = imread(mask_path, cv2.IMREAD_GRAYSCALE, "mask image", missing="mask")
    return np.where(img > threshold, VOC_IDS[cls], VOC_IDS[BACKGROUND]).astype(np.uint8)


def _check_trees(name: str, root: Path, frames: Path | None, masks: Path) -> None:
    if not root.is_dir():
        raise ManifestError(
            f"dataset {name!r}: no data at {root} ({_key(name, 'root')}): download the "
            f"YouTube-Objects v1.0 frames ({YTO_URL}) and Jain & Grauman's masks ({VIDEOSEG_URL}) "
            f"and unpack them as {root}/v1/{{class}}/data/ and {root}/youtube_masks/{{class}}/data/")
    if not masks.is_dir():
        raise ManifestError(
            f"dataset {name!r}: mask folder {masks} missing ({_key(name, 'masks')}): unpack "
            f"Jain & Grauman's youtube_masks ({VIDEOSEG_URL}) there, giving "
            f"{masks}/{{class}}/data/{{video}}/shots/{{shot}}/labels/00001.jpg")
    if frames is not None and not frames.is_dir():
        raise ManifestError(
            f"dataset {name!r}: frame folder {frames} missing ({_key(name, 'frames')}): unpack "
            f"the YouTube-Objects v1.0 frames ({YTO_URL}) there, giving "
            f"{frames}/{{class}}/data/{{video}}/shots/{{shot}}/frame0001.jpg")


def _masked_frames(name: str, masks: Path, cls: str) -> dict[tuple[str, int], dict[int, Path]]:
    """(video, shot) -> {frame number: mask file} of one class of the masks tree."""
    out: dict[tuple[str, int], dict[int, Path]] = {}
    for video, shot, d in _shots(masks, cls):
        labels = d / "labels"
        if not labels.is_dir():
            raise ManifestError(f"{d}: shot folder of the masks tree has no labels/ folder "
                                f"({_key(name, 'masks')}: Jain & Grauman's layout "
                                "{class}/data/{video}/shots/{shot}/labels/{n:05d}.jpg)")
        got = {int(m[1]): labels / f for f in _listdir(labels) if (m := MASK_RE.match(f))}
        if got:
            out[(video, shot)] = got
    return out


def _shot_frames_dir(frames: Path | None, masks: Path, cls: str, video: str, shot: int,
                     ) -> Path | None:
    """Folder of the frames of a masked shot: the v1 tree's, else ``images/`` beside ``labels/``
    (the "full" repackaging) when it holds ``frame{n:04d}.jpg`` files."""
    sub = Path(cls) / "data" / video / "shots" / f"{shot:03d}"
    if frames is not None and (frames / sub).is_dir():
        return frames / sub
    for shot_dir in (masks / cls / "data" / video / "shots").glob(f"*{shot}"):
        if shot_dir.name.isdigit() and int(shot_dir.name) == shot:
            images = shot_dir / "images"
            if _frame_numbers(images):
                return images
    return None


def build_manifest(name: str, cfg: dict[str, Any], offsets: Sequence[int] = (0,),
                   gt_dir: str | os.PathLike | None = None) -> Manifest:
    """Scan a YouTube-Objects tree (config section ``datasets.{name}``) into its manifest.

    ``offsets``: frame offsets the stages need around each annotated frame
    (:func:`tagseg.plan.needed_offsets`; the snippets' frames are ``frame_span(offsets)``);
    ``gt_dir``: where the masks are written as label-id PNGs (default
    :func:`tagseg.plan.ground_truth_dir`). Bad trees raise :class:`ManifestError` naming the
    folder or file and the config key. Keys left out of ``cfg`` take the schema's defaults
    (:func:`tagseg.config.section`).
    """
    from ..images import write_png
    from ..plan import frame_span, ground_truth_dir

    cfg = section(f"datasets.{name}", cfg)
    root = Path(cfg["root"])
    frames = _folder(root, cfg["frames"])
    masks = _folder(root, cfg["masks"])
    assert masks is not None
    _check_trees(name, root, frames, masks)
    lo, hi = frame_span(offsets)
    threshold = int(cfg["mask_threshold"])
    per_shot = int(cfg["frames_per_shot"])
    gt_root = Path(gt_dir if gt_dir is not None else ground_truth_dir(name))
    mask_classes = _classes_in(masks, name, "masks")
    if not mask_classes:
        raise ManifestError(f"dataset {name!r}: no class folders with data/ under {masks} "
                            f"({_key(name, 'masks')}; expected {{class}}/data/{{video}}/shots/"
                            f"{{shot}}/labels/, classes {', '.join(CLASSES)})")
    frame_classes = _classes_in(frames, name, "frames") if frames is not None else []
    snippets: list[Snippet] = []
    sizes: dict[tuple[int, int], int] = {}
    masked: dict[tuple[str, str, int], dict[int, Path]] = {}
    for cls in mask_classes:
        for (video, shot), ms in _masked_frames(name, masks, cls).items():
            masked[(cls, video, shot)] = ms
    skipped = 0
    shot_dirs: dict[tuple[str, str, int], Path] = {}
    for (cls, video, shot), ms in sorted(masked.items()):
        d = _shot_frames_dir(frames, masks, cls, video, shot)
        if d is None:
            where = (frames / cls / "data" / video / "shots" / f"{shot:03d}") if frames else \
                masks / cls / "data" / video / "shots" / f"{shot:03d}" / "images"
            raise ManifestError(
                f"{next(iter(ms.values()))}: its shot's frames are missing: no folder {where} "
                f"({_key(name, 'frames')}: the YouTube-Objects v1.0 frames, {YTO_URL})")
        shot_dirs[(cls, video, shot)] = d
        have = _frame_numbers(d)
        for n, mask in sorted(ms.items()):
            if n not in have:
                raise ManifestError(f"{mask}: its frame {d / frame_name(n)} is missing "
                                    f"({_key(name, 'frames')})")
            if not _window_fits(n, have, lo, hi):
                skipped += 1
                continue
            sid = snippet_id(cls, video, shot, n)
            label = convert_mask(mask, cls, threshold)
            gt = gt_root / f"{cls}{video}" / f"{sid}_labelIds.png"
            write_png(gt, label)
            hw = image_size(d / frame_name(n))
            sizes[hw] = sizes.get(hw, 0) + 1
            snippets.append(_snippet(sid, "val", cls, video, d, n, lo, hi, str(gt),
                                     {"mask": str(mask), "shot": shot}))
    if skipped:
        log.warning("dataset %s: %d masked frames skipped: their flow window (frames %+d..%+d) "
                    "reaches past the start or end of their shot", name, skipped, lo, hi)
    train_on_masked = bool(cfg["train_on_masked_shots"])
    for cls in frame_classes:
        for video, shot, d in _shots(frames, cls):  # type: ignore[arg-type]
            shot_dirs.setdefault((cls, video, shot), d)
    for (cls, video, shot), d in sorted(shot_dirs.items(), key=lambda kv: (
            CLASSES.index(kv[0][0]), kv[0][1], kv[0][2])):
        if (cls, video, shot) in masked and not train_on_masked:
            continue
        have = sorted(_frame_numbers(d))
        fits = [n for n in have if _window_fits(n, set(have), lo, hi)]
        for n in evenly(fits, per_shot):
            snippets.append(_snippet(snippet_id(cls, video, shot, n), "train", cls, video, d,
                                     n, lo, hi, None, {"shot": shot}))
    shards: dict[str, int] = dict(cfg["shards"])
    for split, k in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < k:
            what = ("masked frames (Jain & Grauman) whose flow window fits in their shot"
                    if split == "val" else
                    f"train snippets (shots without masks; {_key(name, 'frames')} holds the "
                    f"v1 frames, {_key(name, 'train_on_masked_shots')} adds the masked shots)")
            raise ManifestError(
                f"dataset {name!r}: split {split!r} has {count} {what} but "
                f"'datasets.{name}.shards.{split}' asks for {k} shards")
    assign_shards(snippets, shards)
    native = max(sizes, key=lambda hw: sizes[hw]) if sizes else \
        image_size(snippets[0].frames[snippets[0].annotated])
    if len(sizes) > 1:
        log.warning("dataset %s: masked frames have %d sizes %s; all are resized to the most common "
                    "one, %dx%d (WxH) x resize", name, len(sizes), sorted(sizes), native[1], native[0])
    resize = float(cfg["resize"])
    size = (int(round(native[0] * resize)), int(round(native[1] * resize)))
    classes = [BACKGROUND] + [c for c in CLASSES if any(s.tags == [c] for s in snippets)]
    log.info("dataset %s: %d train and %d val snippets of %s, working size %s", name,
             sum(s.split == "train" for s in snippets), sum(s.split == "val" for s in snippets),
             ", ".join(classes[1:]), size)
    return Manifest(dataset=name, kind=KIND, root=str(root), size=size, resize=resize,
                    classes=classes, iconic=cfg["iconic"] or str(root / "iconic"),
                    shards=shards, snippets=snippets, class_table=TABLE)


def _snippet(sid: str, split: str, cls: str, video: str, d: Path, n: int, lo: int, hi: int,
             gt: str | None, extra: dict[str, Any]) -> Snippet:
    return Snippet(id=sid, split=split, city=f"{cls}{video}",
                   frames=[str(d / frame_name(n + o)) for o in range(lo, hi + 1)], annotated=-lo,
                   tags=[cls], gt=gt, flow_gt=None, extra={"video": video, **extra})


# --------------------------------------------------------------------------- evaluation


def _prediction(pred_dir: Path, s: Snippet) -> Path:
    found = sorted((pred_dir / s.city).glob(f"{s.id}_*.png"))
    if len(found) != 1:
        from ..metrics import EvaluationError

        what = "no prediction" if not found else f"{len(found)} predictions"
        raise EvaluationError(f"{what} for ground truth {s.gt}: expected one "
                              f"{pred_dir / s.city / (s.id + '_*.png')}")
    return found[0]


def evaluate(manifest: Manifest, split: str, pred_dir: str | os.PathLike) -> dict[str, Any]:
    """The kind's protocol (Saleh Table 7): per-class IoU of the object masks.

    For each snippet of ``split`` with ground truth, the predicted object mask is where the
    label-id PNG ``pred_dir/{city}/{id}_*.png`` holds the video's class; its intersection and
    union with the ground-truth mask are summed over the class's frames: ``class_iou`` (a
    fraction, NaN for classes without masks) and ``miou`` (their mean). Also:
    ``class_iou_frame_mean`` (mean of per-frame IoU), ``class_iou_any_object`` (predicted mask
    = any class but background), ``class_accuracy`` (object recall), ``global_accuracy``
    (object / background pixel accuracy), ``frames_per_class`` and the 11-class confusion
    matrix (pixels). ``category_iou`` is empty: the table has one category of objects.
    """
    from ..metrics import EvaluationError, _nanmean, confusion_matrix, label_ids_to_train_ids

    table = manifest.table
    n = table.num_classes
    pred_dir = Path(pred_dir)
    snippets = [s for s in manifest.split(split) if s.gt]
    if not snippets:
        raise EvaluationError(f"dataset {manifest.dataset!r}: split {split!r} has no masked frames")
    conf = np.zeros((n, n + 1), np.int64)
    inter = np.zeros(n, np.int64)
    union = np.zeros(n, np.int64)
    inter_any = np.zeros(n, np.int64)
    union_any = np.zeros(n, np.int64)
    gt_obj = np.zeros(n, np.int64)
    correct = total = 0
    frame_iou: dict[int, list[float]] = {}
    for s in snippets:
        assert s.gt is not None
        gt = label_ids_to_train_ids(read_label_ids(s.gt), s.gt, table)
        p = _prediction(pred_dir, s)
        pred = label_ids_to_train_ids(read_label_ids(p), str(p), table)
        if pred.shape != gt.shape:
            raise EvaluationError(f"{p}: prediction is {pred.shape[0]}x{pred.shape[1]} (HxW) but "
                                  f"ground truth {s.gt} is {gt.shape[0]}x{gt.shape[1]}")
        confusion_matrix(gt, pred, n=n, out=conf)
        c = table.train_id(s.tags[0])
        valid = gt != IGNORE
        g = (gt == c) & valid
        obj = (pred == c) & valid
        anyobj = (pred != table.train_id(BACKGROUND)) & (pred != IGNORE) & valid
        i, u = int((g & obj).sum()), int((g | obj).sum())
        inter[c] += i
        union[c] += u
        inter_any[c] += int((g & anyobj).sum())
        union_any[c] += int((g | anyobj).sum())
        gt_obj[c] += int(g.sum())
        correct += int((g == obj)[valid].sum())
        total += int(valid.sum())
        frame_iou.setdefault(c, []).append(i / u if u else 1.0)
    objects = [table.train_id(c) for c in CLASSES]

    def ratio(a: np.ndarray, b: np.ndarray, k: int) -> float:
        return float(a[k] / b[k]) if b[k] > 0 else float("nan")

    class_iou = {table.names[k]: (ratio(inter, union, k) if k in frame_iou else float("nan"))
                 for k in objects}
    return {
        "split": split,
        "pred_dir": str(pred_dir),
        "n_images": len(snippets),
        "class_iou": class_iou,
        "miou": _nanmean(class_iou.values()),
        "class_accuracy": {table.names[k]: ratio(inter, gt_obj, k) for k in objects},
        "mean_class_accuracy": _nanmean(ratio(inter, gt_obj, k) for k in objects),
        "global_accuracy": correct / total if total else float("nan"),
        "category_iou": {},
        "category_miou": float("nan"),
        "class_iou_frame_mean": {table.names[k]: (float(np.mean(frame_iou[k])) if k in frame_iou
                                                  else float("nan")) for k in objects},
        "class_iou_any_object": {table.names[k]: (ratio(inter_any, union_any, k)
                                                  if k in frame_iou else float("nan"))
                                 for k in objects},
        "frames_per_class": {table.names[k]: len(frame_iou.get(k, [])) for k in objects},
        "extra_keys": ["class_iou_frame_mean", "class_iou_any_object", "frames_per_class"],
        "confusion_rows": list(table.names),
        "confusion_columns": [*table.names, "void"],
        "confusion_matrix": conf.tolist(),
    }


KINDS = {KIND: Kind(KIND, TABLE, build_manifest, evaluate)}
"""YouTube-Objects v1.0 frames with Jain & Grauman's masks (and the embedded render of that
layout, ``tagseg synth --layout youtube_objects``)."""
