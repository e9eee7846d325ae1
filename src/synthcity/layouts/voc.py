"""The synthetic world as a PASCAL VOC 2012 tree (``tagseg synth --layout voc``).

Stills of the VOC classes the renderer can draw (:data:`VOC_OF`: bicycle, bus, car,
motorbike, person, train; riders are persons) framed as photographs of them, in street
worlds whose everything else (road, buildings, trees, sky, trucks...) is ``background``.
Each still is an iconic view of one class (:func:`synthcity.iconic_images.render_iconic_group`:
close-ups and street-level views, other objects around it), so images hold several classes
as VOC's do. Written exactly as the devkit lays out ``VOCdevkit/VOC2012`` (the folder
``root`` stands for; see :mod:`tagseg.datasets.voc`)::

    JPEGImages/{id}.jpg                      RGB, JPEG quality 95
    SegmentationClass/{id}.png               palette PNG (VOC colour map), index = class 0..20,
                                             255 on a band of ``boundary`` px around objects
                                             and on pixels without a VOC class (none here but
                                             fragments smaller than ``min_object_px``)
    Annotations/{id}.xml                     <annotation> with one <object> per connected
                                             region of a class (name, bndbox 1-based pixels)
    ImageSets/Segmentation/{train,val,trainval}.txt
    synthcity.json, .tagseg-synthcity        summary (written last), render marker

Ids are ``2012_{n:06d}`` (train first, then val), as VOC's ``{year}_{n:06d}``. The render is
atomic and refuses a root it did not write, as :func:`synthcity.render`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import cv2
import numpy as np

from tagseg import __version__, classes
from tagseg.datasets.voc import CLASSES, voc_palette

from ..dataset import CITIES, _atlas, _run_jobs, publish, staging
from ..iconic_images import GROUP, render_iconic_group

VOC_OF: dict[str, str] = {"bicycle": "bicycle", "bus": "bus", "car": "car",
                          "motorcycle": "motorbike", "person": "person", "rider": "person",
                          "train": "train"}
"""Cityscapes class the renderer draws -> the VOC class it is; every other class is background."""

SUBJECTS: tuple[str, ...] = ("bicycle", "bus", "car", "motorcycle", "person", "train")
"""Classes the stills are about (cycled), as the renderer names them."""

SPLIT_ORDER = ("train", "val")


def cityscapes_to_voc() -> np.ndarray:
    """(256,) uint8 LUT: Cityscapes label id -> VOC class index (void labels -> 255)."""
    lut = np.zeros(256, np.uint8)
    for lab in classes.LABELS:
        if lab.ignore_in_eval and lab.category == "void":
            lut[lab.label_id] = 255
    for cs, voc in VOC_OF.items():
        lut[classes.label(cs).label_id] = CLASSES.index(voc)
    return lut


def voc_mask(cs_labels: np.ndarray, boundary: int, min_object_px: int) -> np.ndarray:
    """Cityscapes label ids (H, W) -> VOC mask (H, W) uint8: classes 0..20, 255 void on a band
    of ``boundary`` px on each side of every edge between different classes (VOC's object
    outlines) and on object fragments under ``min_object_px`` pixels."""
    m = cityscapes_to_voc()[cs_labels]
    for c in np.unique(m):
        if c in (0, 255):
            continue
        n, comp, stats, _ = cv2.connectedComponentsWithStats((m == c).astype(np.uint8), connectivity=8)
        for k in range(1, n):
            if stats[k, cv2.CC_STAT_AREA] < min_object_px:
                m[comp == k] = 255
    if boundary > 0:
        base = np.where(m == 255, 0, m).astype(np.uint8)
        kernel = np.ones((2 * boundary + 1, 2 * boundary + 1), np.uint8)
        band = cv2.dilate(base, kernel) != cv2.erode(base, kernel)
        m[band] = 255
    return m


def objects_of(mask: np.ndarray) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(class, (xmin, ymin, xmax, ymax) 1-based inclusive) of each 8-connected region of every
    object class in a VOC mask (the 255 band is counted with the region it surrounds)."""
    out = []
    for c in range(1, len(CLASSES)):
        inside = mask == c
        if not inside.any():
            continue
        grown = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8))
        n, comp, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
        for k in range(1, n):
            if not (inside & (comp == k)).any():
                continue
            x, y, w, h = (int(v) for v in stats[k, :4])
            out.append((CLASSES[c], (x + 1, y + 1, x + w, y + h)))
    return out


def annotation_xml(image_id: str, size: tuple[int, int],
                   objects: list[tuple[str, tuple[int, int, int, int]]]) -> bytes:
    """A VOC ``Annotations/{id}.xml`` document (the devkit's fields) as UTF-8 bytes."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2012"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    src = ET.SubElement(root, "source")
    ET.SubElement(src, "database").text = "synthcity"
    sz = ET.SubElement(root, "size")
    ET.SubElement(sz, "width").text = str(size[1])
    ET.SubElement(sz, "height").text = str(size[0])
    ET.SubElement(sz, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "1"
    for name, (x0, y0, x1, y1) in objects:
        o = ET.SubElement(root, "object")
        ET.SubElement(o, "name").text = name
        ET.SubElement(o, "pose").text = "Unspecified"
        trunc = x0 == 1 or y0 == 1 or x1 == size[1] or y1 == size[0]
        ET.SubElement(o, "truncated").text = str(int(trunc))
        ET.SubElement(o, "difficult").text = "0"
        bb = ET.SubElement(o, "bndbox")
        for tag, v in (("xmin", x0), ("ymin", y0), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(bb, tag).text = str(v)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8")


def write_palette_png(path: Path, mask: np.ndarray) -> None:
    """``mask`` (H, W) uint8 as a palette PNG with the VOC colour map (as the devkit's)."""
    from PIL import Image

    img = Image.fromarray(mask, mode="P")
    img.putpalette(voc_palette().ravel().tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def _group_job(tmp: str, split: str, subject: str, group: int, first: int, count: int,
               p: dict[str, Any]) -> list[dict[str, Any]]:
    """Render ``count`` stills of ``subject`` (one street world) as images ``first ..``."""
    si = SPLIT_ORDER.index(split)
    ci = SUBJECTS.index(subject)
    city = CITIES[split][group % len(CITIES[split])]
    res = render_iconic_group(subject, [p["seed"], 211, si, ci, group], count, p["size"],
                              _atlas(p["seed"]), city, noise=p["noise"])
    root = Path(tmp)
    out = []
    for j, r in enumerate(res):
        image_id = f"2012_{first + j:06d}"
        mask = voc_mask(r.labels, p["boundary"], p["min_object_px"])
        objs = objects_of(mask)
        jpg = root / "JPEGImages" / f"{image_id}.jpg"
        jpg.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(jpg), cv2.cvtColor(r.image, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f"{jpg}: could not write JPEG")
        write_palette_png(root / "SegmentationClass" / f"{image_id}.png", mask)
        xml = root / "Annotations" / f"{image_id}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_bytes(annotation_xml(image_id, mask.shape, objs))
        out.append({"id": image_id, "split": split, "subject": VOC_OF[subject],
                    "tags": sorted({o[0] for o in objs}),
                    "counts": np.bincount(mask.ravel(), minlength=256)})
    return out


def _jobs(tmp: str, p: dict[str, Any]) -> list[tuple]:
    jobs: list[tuple] = []
    n0 = 0
    for split in SPLIT_ORDER:
        n = p[f"{split}_images"]
        per = [n // len(SUBJECTS) + (k < n % len(SUBJECTS)) for k in range(len(SUBJECTS))]
        for subject, m in zip(SUBJECTS, per):
            for g in range(-(-m // GROUP)):
                count = min(GROUP, m - g * GROUP)
                jobs.append((_group_job, tmp, split, subject, g, n0, count, p))
                n0 += count
    return jobs


def render(root: str | Path, *, seed: int = 0, size: int = 128, train_images: int = 120,
           val_images: int = 60, boundary: int = 1, min_object_px: int = 12, noise: float = 1.0,
           workers: int = 1, overwrite: bool = False) -> dict[str, Any]:
    """Render a VOC 2012-layout tree into ``root`` (module docstring); returns the summary
    also written to ``root/synthcity.json``.

    ``size``: image side, pixels; ``train_images`` / ``val_images``: stills per split, the
    subjects cycled over :data:`SUBJECTS`; ``boundary``: void band half-width, pixels (VOC's
    outline is ~5 px wide on ~500 px images); ``min_object_px``: smaller object fragments are
    void and not annotated; ``noise``: sensor-noise multiplier; ``workers``: processes
    (output does not depend on it). Same seed and parameters give the same tree.
    """
    root = Path(root)
    params = dict(layout="voc", seed=int(seed), size=int(size), train_images=int(train_images),
                  val_images=int(val_images), boundary=int(boundary),
                  min_object_px=int(min_object_px), noise=float(noise))
    for key in ("train_images", "val_images"):
        if params[key] < 1:
            raise ValueError(f"synthcity voc: parameter {key!r} = {params[key]}: must be >= 1")
    if params["size"] < 32:
        raise ValueError(f"synthcity voc: parameter 'size' = {size}: must be >= 32 pixels")
    t0 = time.time()
    with staging(root, overwrite) as tmp:
        images = [r for rs in _run_jobs(_jobs(str(tmp), params), int(workers)) for r in rs]
        sets = tmp / "ImageSets" / "Segmentation"
        sets.mkdir(parents=True, exist_ok=True)
        for split in SPLIT_ORDER:
            (sets / f"{split}.txt").write_text("".join(f"{r['id']}\n" for r in images if r["split"] == split))
        (sets / "trainval.txt").write_text("".join(f"{r['id']}\n" for r in images))
        total = np.sum([r["counts"] for r in images], axis=0)
        info = {
            "dataset": "synthcity", "layout": "voc", "version": __version__, "params": params,
            "counts": {s: sum(r["split"] == s for r in images) for s in SPLIT_ORDER},
            "class_frequencies": {c: float(total[i] / max(1, total[:len(CLASSES)].sum()))
                                  for i, c in enumerate(CLASSES)},
            "void_fraction": float(total[255] / max(1, total.sum())),
            "images_per_tag": {c: sum(c in r["tags"] for r in images) for c in CLASSES[1:]
                               if any(c in r["tags"] for r in images)},
            "render_seconds": round(time.time() - t0, 2), "workers": int(workers),
        }
        publish(tmp, root, info)
    return info
