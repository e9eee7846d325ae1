"""PASCAL VOC 2012 as an image dataset kind (``kind: voc``; Hong et al. 2017's benchmark).

Reads the devkit layout users hold (``VOCtrainval_11-May-2012.tar`` unpacked; config
``datasets.{name}.root`` = its ``VOCdevkit/VOC2012`` folder,
http://host.robots.ox.ac.uk/pascal/VOC/voc2012/)::

    JPEGImages/{id}.jpg                       every image
    Annotations/{id}.xml                      objects: <object><name>car</name>...</object>
    SegmentationClass/{id}.png                palette PNG: index 0..20 = class, 255 = void
                                              (object boundaries and unsure pixels, ignored)
    ImageSets/Segmentation/{train,val}.txt    one image id per line (1,464 / 1,449 images)

and the augmented training set of Hariharan et al.'s SBD (``benchmark.tgz``, unpacked as
``benchmark_RELEASE/``, http://home.bharathh.info/pubs/codes/SBD/download.html) in either of
its two usual forms:

- ``datasets.{name}.sbd``: the ``benchmark_RELEASE`` folder, whose ``dataset/train.txt`` and
  ``dataset/val.txt`` list 11,355 VOC 2011 images (8,498 + 2,857), ``dataset/img/{id}.jpg``
  their images and ``dataset/cls/{id}.mat`` their masks: a MATLAB struct ``GTcls`` whose field
  ``Segmentation`` is the (H, W) uint8 class-index mask (0..20), beside
  ``Boundaries`` and ``CategoriesPresent`` (read as ``loadmat(f)['GTcls'][0]['Segmentation'][0]``
  in open-mmlab/mmsegmentation ``tools/dataset_converters/voc_aug.py`` and pytorch/vision
  ``torchvision/datasets/sbd.py``). The training list is then VOC train ∪ SBD train ∪ SBD val
  minus VOC val: the 10,582 images of Hong et al. (mmsegmentation's ``AUG_LEN`` rule, same
  file). A training image without a VOC mask gets its SBD mask (:func:`read_sbd_mask`),
  converted once, when the manifest is built, to a single-channel PNG under
  :func:`tagseg.plan.ground_truth_dir` (``{city}/{id}.png``); an image missing from
  ``JPEGImages`` is taken from ``dataset/img``;
- ``datasets.{name}.train_list: train_aug``: a list already made that way,
  ``ImageSets/Segmentation/train_aug.txt`` (or ``trainaug.txt``), with the converted masks in
  ``SegmentationClassAug/{id}.png`` (single-channel 0..20, 255; DeepLab's convention).

A snippet is one still image (no flow): ``frames = [JPEGImages/{id}.jpg]``, ``annotated = 0``,
``gt`` its mask (``SegmentationClass``, else ``SegmentationClassAug``, else SBD's ``cls/{id}.mat``
converted; None for a training image with none: weak supervision needs only tags; training
masks serve the quality reports on train and the ``oracle`` variant, never a weak variant's
training), ``city`` the id's year (predictions go to
``predict/{variant}/raw/{year}/``). Tags are the image-level labels: the object classes named
in its XML annotation, plus ``background`` (present in every VOC image, the one background
class of Hong et al.). Images are resized to one working size (``datasets.{name}.size``
[H, W], pixels); predictions are written at each mask's own size.

Evaluation (:func:`evaluate`, the comp6 protocol of Hong et al. §5.2): 21-class IoU from one
confusion matrix accumulated over all val images (not a per-image mean), 255 ignored.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..classtable import IGNORE, ClassTable, Label, imagenet_pairs
from ..config import section
from ..errors import TagsegError
from ..images import ImageError
from .kinds import Kind
from .manifest import Manifest, ManifestError, Snippet, assign_shards

log = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)
"""The 21 classes in palette-index order (VOC devkit ``VOCinit.m``)."""

CATEGORIES = {
    "aeroplane": "vehicle", "bicycle": "vehicle", "boat": "vehicle", "bus": "vehicle",
    "car": "vehicle", "motorbike": "vehicle", "train": "vehicle",
    "bird": "animal", "cat": "animal", "cow": "animal", "dog": "animal", "horse": "animal",
    "sheep": "animal", "person": "person",
    "bottle": "indoor", "chair": "indoor", "diningtable": "indoor", "pottedplant": "indoor",
    "sofa": "indoor", "tvmonitor": "indoor",
}
"""VOC's four super-categories (the devkit's class hierarchy); background is its own."""


def voc_palette() -> np.ndarray:
    """(256, 3) uint8: the devkit's colour map (``VOClabelcolormap.m``: bits of the index
    spread over the high bits of R, G, B); index 255 (void) is (224, 224, 192)."""
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


IMAGENET: dict[str, list[int]] = {
    "aeroplane": [404, 895],  # airliner, warplane
    "bicycle": [444, 671],  # tandem, mountain bike
    "bird": list(range(7, 25)) + list(range(80, 101)) + list(range(127, 147)),
    "boat": [472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914],
    "bottle": [440, 720, 737, 898, 907],  # beer, pill, pop, water, wine bottle
    "bus": [654, 779, 874],  # minibus, school bus, trolleybus
    "car": [436, 468, 511, 609, 627, 656, 661, 717, 751, 817],
    "cat": list(range(281, 286)),  # tabby .. Egyptian cat
    "chair": [423, 559, 765],  # barber chair, folding chair, rocking chair
    "cow": [345, 346, 347],  # ox, water buffalo, bison
    "diningtable": [532],  # dining table
    "dog": list(range(151, 269)),
    "horse": [339, 603],  # sorrel, horse cart
    "motorbike": [665, 670],  # moped, motor scooter
    "person": [],  # ImageNet has no person class (left to the CAM head)
    "pottedplant": [738],  # pot (flowerpot)
    "sheep": [348, 349],  # ram, bighorn
    "sofa": [831],  # studio couch
    "train": [466, 547, 565, 705, 820, 829],
    "tvmonitor": [664, 782, 851],  # monitor, screen, television
}
"""Class -> ImageNet class indices (its ImageNet heatmap is the max over them)."""

_PAL = voc_palette()
LABELS: tuple[Label, ...] = tuple(
    Label(name, i, i, "background" if i == 0 else CATEGORIES[name], i > 0, False,
          tuple(int(v) for v in _PAL[i]))  # type: ignore[arg-type]
    for i, name in enumerate(CLASSES)
) + (Label("void", IGNORE, IGNORE, "void", False, True, tuple(int(v) for v in _PAL[IGNORE])),)  # type: ignore[arg-type]

TABLE = ClassTable("voc", LABELS, encoding="ids",
                   imagenet=imagenet_pairs({c: v for c, v in IMAGENET.items() if v}))
"""The VOC 2012 table: 21 evaluation classes (train id = palette index), 255 void;
foreground = the 20 object classes, background = ``background``."""

BACKGROUND = "background"


class VocError(ManifestError):
    """A VOC tree is missing files, or holds a file of the wrong kind."""


# --------------------------------------------------------------------------- reading files


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """A VOC mask as (H, W) uint8 class indices (0..20, 255 void).

    ``SegmentationClass`` PNGs must be palette images (mode P: the index is the class); a
    ``SegmentationClassAug`` PNG is single-channel (mode L). An RGB PNG (e.g. a colour
    rendering of the mask) is an error naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            mode = img.mode
            arr = np.asarray(img)
    except FileNotFoundError:
        raise ImageError(f"{path}: label image not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ImageError(f"{path}: unreadable or corrupt label image ({e})") from None
    if mode not in ("P", "L"):
        raise ImageError(f"{path}: VOC label PNG is mode {mode}, not a palette image (mode P, "
                         "index = class 0..20, 255 = void) nor single-channel (mode L)")
    bad = np.setdiff1d(np.unique(arr), np.r_[np.arange(len(CLASSES)), IGNORE])
    if bad.size:
        raise ImageError(f"{path}: class indices {bad.tolist()[:5]} outside 0..20 and 255")
    return arr.astype(np.uint8)


def read_sbd_mask(path: str | os.PathLike) -> np.ndarray:
    """An SBD class mask ``dataset/cls/{id}.mat`` as (H, W) uint8 class indices (0..20).

    The file is a MATLAB struct ``GTcls`` with a field ``Segmentation`` (see the module
    docstring). A missing file, one :func:`scipy.io.loadmat` cannot read, a file without that
    struct or field, a mask that is not 2-D or holds indices outside 0..20 and 255 raise
    :class:`VocError` naming the file.
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise VocError(f"{path}: SBD mask not found")
    try:
        data = loadmat(str(path))
    except Exception as e:  # noqa: BLE001 - scipy raises ValueError, TypeError, OSError, ...
        raise VocError(f"{path}: unreadable or corrupt SBD mask ({type(e).__name__}: {e})") from None
    gt = data.get("GTcls")
    names = getattr(getattr(gt, "dtype", None), "names", None) or ()
    if gt is None or "Segmentation" not in names or gt.size != 1:
        raise VocError(f"{path}: not an SBD class mask (expected a MATLAB struct GTcls with a "
                       f"field Segmentation; found variables {sorted(k for k in data if not k.startswith('__'))}"
                       f"{'' if gt is None else f', GTcls fields {list(names)}'})")
    seg = np.asarray(gt["Segmentation"].ravel()[0])
    if seg.ndim != 2 or not np.issubdtype(seg.dtype, np.integer):
        raise VocError(f"{path}: GTcls.Segmentation is {seg.dtype} of shape {seg.shape}, "
                       "expected an (H, W) integer class-index mask")
    bad = np.setdiff1d(np.unique(seg), np.r_[np.arange(len(CLASSES)), IGNORE])
    if bad.size:
        raise VocError(f"{path}: GTcls.Segmentation holds class indices {bad.tolist()[:5]} "
                       "outside 0..20 and 255")
    return seg.astype(np.uint8)


def read_tags(xml_path: str | os.PathLike) -> list[str]:
    """Object classes named in a VOC annotation (``<object><name>``), in table order.

    A missing or malformed file or an unknown class name raises :class:`VocError` naming it.
    """
    xml_path = Path(xml_path)
    try:
        tree = ET.parse(xml_path)
    except FileNotFoundError:
        raise VocError(f"{xml_path}: annotation not found; every image needs its "
                       "Annotations/{id}.xml (the image-level tags come from it)") from None
    except ET.ParseError as e:
        raise VocError(f"{xml_path}: not a valid VOC annotation ({e})") from None
    names = {(o.findtext("name") or "").strip() for o in tree.getroot().iter("object")}
    unknown = sorted(names - set(CLASSES[1:]))
    if unknown:
        raise VocError(f"{xml_path}: unknown class {unknown[0]!r} (VOC classes: "
                       f"{', '.join(CLASSES[1:])})")
    return [c for c in CLASSES[1:] if c in names]


def read_list(path: Path, key: str) -> list[str]:
    """Image ids of an ImageSets list (one per line); a missing file names ``key``."""
    if not path.is_file():
        raise VocError(f"{path}: image list not found (config key {key})")
    return [ln.split()[0] for ln in path.read_text().splitlines() if ln.strip()]


# --------------------------------------------------------------------------- the manifest


def _check_root(name: str, root: Path) -> None:
    key = f"'datasets.{name}.root'"
    if not root.is_dir():
        raise VocError(
            f"dataset {name!r}: no data at {root} (config key {key}): download "
            "VOCtrainval_11-May-2012.tar from http://host.robots.ox.ac.uk/pascal/VOC/voc2012/, "
            f"unpack it and set {key} to its VOCdevkit/VOC2012 folder (docs/datasets.md)")
    missing = [d for d in ("JPEGImages", "Annotations", "ImageSets/Segmentation")
               if not (root / d).is_dir()]
    if missing:
        raise VocError(f"dataset {name!r}: {root / missing[0]} missing (config key {key}: "
                       "the VOCdevkit/VOC2012 folder, holding JPEGImages/, Annotations/, "
                       "SegmentationClass/ and ImageSets/Segmentation/)")


def train_ids(name: str, cfg: Mapping[str, Any], root: Path) -> list[str]:
    """Ids of the training images: ``train_list`` (a list of ImageSets/Segmentation), or with
    ``sbd`` VOC train ∪ SBD train ∪ SBD val − VOC val (see the module docstring)."""
    seg = root / "ImageSets" / "Segmentation"
    which = str(cfg["train_list"])
    path = seg / f"{which}.txt"
    if which == "train_aug" and not path.is_file() and (seg / "trainaug.txt").is_file():
        path = seg / "trainaug.txt"
    ids = read_list(path, f"datasets.{name}.train_list")
    if cfg["sbd"]:
        val = set(read_list(seg / "val.txt", f"datasets.{name}.root"))
        ids = sorted((set(ids) | set(sbd_ids(name, cfg))) - val)
    return ids


def sbd_ids(name: str, cfg: Mapping[str, Any]) -> list[str]:
    """Ids of SBD's ``dataset/train.txt`` then ``dataset/val.txt`` ([] without ``sbd``)."""
    if not cfg["sbd"]:
        return []
    sbd = Path(cfg["sbd"]) / "dataset"
    key = f"datasets.{name}.sbd"
    return read_list(sbd / "train.txt", key) + read_list(sbd / "val.txt", key)


def _mask_path(root: Path, image_id: str) -> Path | None:
    for folder in ("SegmentationClass", "SegmentationClassAug"):
        p = root / folder / f"{image_id}.png"
        if p.is_file():
            return p
    return None


def sbd_mask_png(name: str, cfg: Mapping[str, Any], image_id: str, gt_root: Path) -> Path:
    """Convert SBD's ``dataset/cls/{image_id}.mat`` (:func:`read_sbd_mask`) to the single-channel
    PNG ``{gt_root}/{year}/{image_id}.png`` (written atomically) and return its path. A missing
    .mat names the file and the config key ``datasets.{name}.sbd``."""
    from ..images import write_png

    mat = Path(cfg["sbd"]) / "dataset" / "cls" / f"{image_id}.mat"
    if not mat.is_file():
        raise VocError(f"{mat}: SBD mask not found (config key 'datasets.{name}.sbd': every id "
                       "of dataset/train.txt and dataset/val.txt has its dataset/cls/{id}.mat)")
    out = gt_root / image_id.split("_")[0] / f"{image_id}.png"
    write_png(out, read_sbd_mask(mat))
    return out


def _image_path(name: str, cfg: Mapping[str, Any], root: Path, image_id: str) -> Path:
    p = root / "JPEGImages" / f"{image_id}.jpg"
    if p.is_file():
        return p
    if cfg["sbd"]:
        q = Path(cfg["sbd"]) / "dataset" / "img" / f"{image_id}.jpg"
        if q.is_file():
            return q
    raise VocError(f"{p}: image listed in the {name!r} image lists is missing (config key "
                   f"'datasets.{name}.root')")


def build_manifest(name: str, cfg: Mapping[str, Any],
                   gt_dir: str | os.PathLike | None = None) -> Manifest:
    """Scan a VOC tree (config section ``datasets.{name}``) and return its manifest.

    Splits: ``train`` (:func:`train_ids`) and ``val`` (``ImageSets/Segmentation/val.txt``,
    every image with its mask). ``max_images`` ({split: n}, optional) keeps the first n ids of
    a split (smoke runs). Working size: ``size`` [H, W] pixels. ``gt_dir``: where SBD masks of
    training images without a VOC mask are written as PNGs (default
    :func:`tagseg.plan.ground_truth_dir`; only with ``sbd``).
    """
    from ..plan import ground_truth_dir

    cfg = section(f"datasets.{name}", cfg)  # keys left out take the schema's defaults
    root = Path(cfg["root"])
    _check_root(name, root)
    in_sbd = set(sbd_ids(name, cfg))
    gt_root = Path(gt_dir if gt_dir is not None else ground_truth_dir(name))
    shards = {str(k): int(v) for k, v in cfg["shards"].items()}
    limit = dict(cfg["max_images"] or {})
    snippets: list[Snippet] = []
    for split in shards:
        if split == "train":
            ids = train_ids(name, cfg, root)
        elif split == "val":
            ids = read_list(root / "ImageSets" / "Segmentation" / "val.txt",
                            f"datasets.{name}.root")
        else:
            raise VocError(f"config key 'datasets.{name}.shards': split {split!r} is not one of "
                           "train, val")
        if limit.get(split):
            ids = ids[: int(limit[split])]
        for image_id in ids:
            frame = _image_path(name, cfg, root, image_id)
            mask = _mask_path(root, image_id)
            if mask is not None:
                read_mask(mask)  # a colour PNG or unknown index fails here, naming it
            elif split == "train" and image_id in in_sbd:
                mask = sbd_mask_png(name, cfg, image_id, gt_root)  # a bad .mat fails, naming it
            elif split == "val":
                raise VocError(f"{root / 'SegmentationClass' / (image_id + '.png')}: mask of val "
                               "image missing (every val image is scored)")
            tags = [BACKGROUND, *read_tags(root / "Annotations" / f"{image_id}.xml")]
            snippets.append(Snippet(id=image_id, split=split, city=image_id.split("_")[0],
                                    frames=[str(frame)], annotated=0, tags=tags,
                                    gt=None if mask is None else str(mask),
                                    extra={"still": True}))
    for split, n in shards.items():
        count = sum(s.split == split for s in snippets)
        if count < n:
            raise VocError(f"dataset {name!r}: split {split!r} has {count} images but "
                           f"'datasets.{name}.shards.{split}' asks for {n} shards")
    assign_shards(snippets, shards)
    h, w = (int(v) for v in cfg["size"])
    log.info("dataset %s: %d images (%s), working size %dx%d", name, len(snippets),
             ", ".join(f"{s} {sum(x.split == s for x in snippets)}" for s in shards), h, w)
    return Manifest(dataset=name, kind=str(cfg["kind"]), root=str(root), size=(h, w),
                    resize=1.0, classes=list(TABLE.names), iconic=cfg["iconic"],
                    shards=shards, snippets=snippets, class_table=TABLE)


# --------------------------------------------------------------------------- evaluation


class VocEvaluationError(TagsegError, ValueError):
    """Predictions for the VOC protocol are missing or of the wrong size."""


def confusion(gt: np.ndarray, pred: np.ndarray, n: int = len(CLASSES)) -> np.ndarray:
    """(n, n) pixel counts, row = ground truth, column = prediction, over pixels whose ground
    truth is not 255; a prediction outside 0..n-1 counts as no class (dropped from the row's
    true positives but kept in its total through :func:`voc_scores`' row sums)."""
    g = gt.ravel().astype(np.int64)
    p = pred.ravel().astype(np.int64)
    keep = g != IGNORE
    g, p = g[keep], p[keep]
    p = np.where((p >= 0) & (p < n), p, n)
    return np.bincount(g * (n + 1) + p, minlength=n * (n + 1)).reshape(n, n + 1)


def voc_scores(conf: np.ndarray) -> dict[str, Any]:
    """IoU per class = TP / (TP + FP + FN) from an (n, n+1) confusion matrix (column n:
    predictions of no class); mIoU = their mean over classes present in ground truth or
    predictions (as the devkit's ``VOCevalseg.m``)."""
    from ..metrics import scores

    return scores(conf, table=TABLE)


def evaluate(manifest: Manifest, split: str, pred_dir: str | os.PathLike) -> dict[str, Any]:
    """The kind's protocol: every ``split`` image's mask against the label-id PNG
    ``{pred_dir}/{city}/{id}_*labelIds.png`` (train ids = label ids in this table), one
    confusion matrix over all images. Returns the scores (fractions), ``n_images`` and the
    confusion matrix (pixels)."""
    from ..images import read_label

    pred_dir = Path(pred_dir)
    n = len(CLASSES)
    conf = np.zeros((n, n + 1), np.int64)
    count = 0
    for s in manifest.split(split):
        if s.gt is None:
            continue
        hits = sorted((pred_dir / s.city).glob(f"{s.id}_*labelIds.png"))
        if len(hits) != 1:
            raise VocEvaluationError(
                f"{pred_dir / s.city}: {'no' if not hits else len(hits)} prediction "
                f"{s.id}_*labelIds.png for {s.gt} (run the 'predict' rule)")
        gt = read_mask(s.gt)
        pred = read_label(hits[0])
        if pred.shape != gt.shape:
            raise VocEvaluationError(f"{hits[0]}: prediction {pred.shape[1]}x{pred.shape[0]} differs "
                                     f"from its mask {s.gt} ({gt.shape[1]}x{gt.shape[0]}, WxH)")
        conf += confusion(gt, pred, n)
        count += 1
    if count == 0:
        raise VocEvaluationError(f"dataset {manifest.dataset!r}: no {split} image with a mask")
    out = voc_scores(conf)
    out.update(n_images=count, confusion_rows=list(CLASSES),
               confusion_columns=[*CLASSES, "none"], confusion_matrix=conf.tolist())
    return out


def is_still(dataset_cfg: Mapping[str, Any]) -> bool:
    """True for datasets of still images (this kind): no flow, single-stream variants."""
    return dataset_cfg.get("kind") == "voc"


KINDS = {"voc": Kind("voc", TABLE, build_manifest, evaluate)}
"""PASCAL VOC 2012 (and the synthcity_voc render, which has its layout)."""
