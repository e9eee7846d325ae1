"""Image reading with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .errors import TagsegError

if TYPE_CHECKING:
    from .classtable import ClassTable


class ImageError(TagsegError, ValueError):
    """A frame or label image is missing, unreadable or of the wrong shape."""


def imread(path: str | os.PathLike, flags: int, what: str = "image",
           missing: str | None = None) -> np.ndarray:
    """``cv2.imread(path, flags)`` whose failures name the file: :class:`ImageError`
    "PATH: {missing or what} not found" / "PATH: unreadable or corrupt {what}"."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: {missing or what} not found")
    img = cv2.imread(str(path), flags)
    if img is None:
        raise ImageError(f"{path}: unreadable or corrupt {what}")
    return img


def read_rgb(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a colour image as (H, W, 3) uint8 RGB.

    ``size`` is the working (height, width); the image is resized with area interpolation
    when it differs. Missing or corrupt files raise :class:`ImageError` naming the file.
    """
    img = imread(path, cv2.IMREAD_COLOR, "image", missing="frame")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if size is not None and img.shape[:2] != tuple(size):
        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return img


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(H, W) of an image file from its header only (no pixel decoding); errors name the file."""
    from PIL import Image, UnidentifiedImageError  # Pillow: a dependency of matplotlib

    path = Path(path)
    try:
        with Image.open(path) as img:
            w, h = img.size
    except FileNotFoundError:
        raise ImageError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: unreadable or corrupt image ({e})") from None
    return int(h), int(w)


def read_label_ids(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel label PNG (8 or 16 bit) as (H, W) integers, unconverted; a palette
    PNG (PASCAL VOC's ``SegmentationClass``) as its palette indices."""
    path = Path(path)
    img = imread(path, cv2.IMREAD_UNCHANGED, "label image")
    if img.ndim != 2 and _is_palette(path):  # PASCAL VOC: the palette index is the label id
        from PIL import Image

        with Image.open(path) as pimg:
            return np.asarray(pimg)
    if img.ndim != 2:
        raise ImageError(
            f"{path}: label image must be single-channel labelIds, found shape {img.shape}"
            " (colour PNGs are not label-id images)"
        )
    return img


def _is_palette(path: Path) -> bool:
    """Whether ``path`` is a palette (mode P) image, from its header."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.mode == "P"
    except OSError:
        return False


def read_label(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel label image (e.g. ``*_gtFine_labelIds.png``) as (H, W) uint8."""
    img = read_label_ids(path)
    if img.dtype != np.uint8 and img.size and int(img.max()) > 255:
        raise ImageError(f"{path}: label ids above 255 (max {int(img.max())}); expected 8-bit labelIds")
    return img.astype(np.uint8)


def read_ground_truth(path: str | os.PathLike, table: "ClassTable") -> np.ndarray:
    """A ground-truth label image -> (H, W) label ids of ``table``, by its ``encoding``:
    ``"ids"`` a single-channel label-id PNG (:func:`read_label`), ``"colors"`` an RGB PNG whose
    colours are the table's (CamVid ``*_L.png``; :meth:`ClassTable.decode`); ``"ids"``
    come back unconverted (:func:`read_label_ids`), as the label-id readers always read them. A colour outside
    the table, or a file of the other encoding, raises :class:`ImageError` naming the file."""
    if table.encoding == "ids":
        return read_label_ids(path)
    path = Path(path)
    img = imread(path, cv2.IMREAD_UNCHANGED, "label image")
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ImageError(f"{path}: the {table.name} class table reads colour-coded label images "
                         f"(RGB), found shape {img.shape}")
    rgb = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
    try:
        return table.decode(rgb, str(path))
    except ValueError as e:
        raise ImageError(str(e)) from None


def write_png(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write (H, W) labels or (H, W, 3) RGB uint8 as PNG, atomically."""
    from .h5io import atomic_path

    arr = np.asarray(img)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    with atomic_path(path, suffix=".tmp.png") as tmp:
        if not cv2.imwrite(str(tmp), arr):
            raise ImageError(f"{path}: could not write PNG")
