"""Iconic images: ``{root}/{class_name}/*.{png,jpg,jpeg}``, one folder per class.

:func:`scan` lists them (errors name the class and folder), :func:`split_held_out` makes a
stratified train/validation split, :class:`IconicImages` is a torch dataset with
augmentation (random resized crop, horizontal flip, brightness/contrast jitter).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from ..model.vgg import IMAGENET_MEAN, IMAGENET_STD

EXTENSIONS = (".png", ".jpg", ".jpeg")


class IconicError(ValueError):
    """Iconic images are missing, empty or unreadable (names the class and folder/file)."""


def class_folder(root: str | os.PathLike, name: str) -> Path:
    return Path(root) / name


def list_images(root: str | os.PathLike, name: str) -> list[Path]:
    """Sorted image files of class ``name``; a missing or empty folder raises :class:`IconicError`."""
    folder = class_folder(root, name)
    if not folder.is_dir():
        raise IconicError(f"class {name!r}: iconic folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise IconicError(
            f"class {name!r}: iconic folder {folder} holds no images ({', '.join(EXTENSIONS)})"
        )
    return files


def has_images(root: str | os.PathLike | None, name: str) -> bool:
    """Whether ``root/name`` is a folder with at least one image file."""
    if root is None:
        return False
    folder = class_folder(root, name)
    return folder.is_dir() and any(p.suffix.lower() in EXTENSIONS for p in folder.iterdir())


def read_image(path: str | os.PathLike, cls: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB; unreadable files raise :class:`IconicError` naming class and file."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise IconicError(f"class {cls!r}: unreadable or corrupt iconic image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def scan(root: str | os.PathLike, class_names: Sequence[str]) -> list[tuple[Path, int]]:
    """(file, label index into ``class_names``) for every iconic image of every class."""
    if not Path(root).is_dir():
        raise IconicError(f"iconic image folder {root} does not exist")
    items: list[tuple[Path, int]] = []
    for i, name in enumerate(class_names):
        items += [(p, i) for p in list_images(root, name)]
    return items


def split_held_out(
    items: Sequence[tuple[Path, int]], fraction: float, seed: int
) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    """Stratified split: per class, ``ceil(fraction * n)`` images (at least 1 when n >= 2 and
    fraction > 0) go to validation. Deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[tuple[Path, int]]] = {}
    for it in items:
        by_class.setdefault(it[1], []).append(it)
    train, val = [], []
    for label in sorted(by_class):
        group = by_class[label]
        order = rng.permutation(len(group))
        n_val = min(len(group) - 1, math.ceil(fraction * len(group))) if fraction > 0 else 0
        val += [group[j] for j in order[:n_val]]
        train += [group[j] for j in order[n_val:]]
    return train, val


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 normalised with ImageNet mean/std."""
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


class IconicImages(torch.utils.data.Dataset):
    """Iconic images as (3, size, size) normalised tensors and integer labels.

    ``augment``: random resized crop (area fraction in ``crop_scale``, aspect 3/4..4/3),
    horizontal flip, brightness/contrast jitter of ±``jitter``; otherwise a plain resize.
    Decoded images are cached in memory (``cache=True``).
    """

    def __init__(
        self,
        items: Sequence[tuple[Path, int]],
        class_names: Sequence[str],
        size: int,
        augment: bool,
        crop_scale: tuple[float, float] = (0.35, 1.0),
        jitter: float = 0.2,
        seed: int = 0,
        cache: bool = True,
    ) -> None:
        self.items = list(items)
        self.class_names = list(class_names)
        self.size = size
        self.augment = augment
        self.crop_scale = crop_scale
        self.jitter = jitter
        self.rng = np.random.default_rng(seed)
        self._cache: dict[int, np.ndarray] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.items)

    def image(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        path, label = self.items[i]
        img = read_image(path, self.class_names[label])
        if self._cache is not None:
            self._cache[i] = img
        return img

    def _crop(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        for _ in range(10):
            area = h * w * self.rng.uniform(*self.crop_scale)
            aspect = math.exp(self.rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw = int(round(math.sqrt(area * aspect)))
            ch = int(round(math.sqrt(area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                y = int(self.rng.integers(0, h - ch + 1))
                x = int(self.rng.integers(0, w - cw + 1))
                return img[y:y + ch, x:x + cw]
        return img

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self.image(i)
        if self.augment:
            img = self._crop(img)
        interp = cv2.INTER_AREA if min(img.shape[:2]) > self.size else cv2.INTER_LINEAR
        img = cv2.resize(img, (self.size, self.size), interpolation=interp)
        if self.augment:
            if self.rng.random() < 0.5:
                img = img[:, ::-1]
            if self.jitter > 0:
                a = 1.0 + self.rng.uniform(-self.jitter, self.jitter)  # contrast
                b = 255.0 * self.rng.uniform(-self.jitter, self.jitter) / 2  # brightness
                mean = img.mean()
                img = np.clip((img.astype(np.float32) - mean) * a + mean + b, 0, 255).astype(np.uint8)
        return to_tensor(img), self.items[i][1]
