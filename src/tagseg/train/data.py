"""Training / inference samples read from the manifest and the per-shard HDF5 artifacts.

One sample = one (snippet, frame offset). Readers follow the contracts of the other stages
(notes/HELPERS.md): ``tagseg.flow.storage.read_stack``, ``tagseg.heatmaps.storage.read_heatmaps``,
``tagseg.pseudolabels.storage.read_labels``; they can be replaced (tests, other layouts) via
:class:`Readers`. HDF5 files are opened lazily in each DataLoader worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from ..classtable import IGNORE, ClassTable
from ..datasets.manifest import Manifest, Snippet
from ..errors import TagsegError
from ..h5io import open_artifact
from ..images import read_label, read_rgb
from ..model.vgg import IMAGENET_MEAN, IMAGENET_STD


class DataError(TagsegError, ValueError):
    """An input artifact is missing a snippet or frame, or has the wrong shape / depth."""


def _read_stack(f: h5py.File, sid: str, center: int, L: int) -> np.ndarray:
    from ..flow.storage import read_stack

    return read_stack(f, sid, center=center, L=L)


def _read_heatmaps(f: h5py.File, sid: str):
    from ..heatmaps.storage import read_heatmaps

    return read_heatmaps(f, sid)


def _read_heatmap(f: h5py.File, sid: str, offset: int):
    from ..heatmaps.storage import read_heatmap

    return read_heatmap(f, sid, offset)


def _read_labels(f: h5py.File, sid: str):
    from ..pseudolabels.storage import read_labels

    return read_labels(f, sid)


@dataclass
class Readers:
    """Artifact readers (the stage contracts by default).

    ``heatmap`` (one frame: (C, H, W) maps, (C,) scores) is used when set: it reads one chunk
    instead of all F frames of ``heatmaps`` (measured: the all-frames read made data loading
    the bottleneck of training on synthcity). ``None`` falls back to ``heatmaps``.
    """

    stack: Callable[[h5py.File, str, int, int], np.ndarray] = _read_stack
    heatmaps: Callable[[h5py.File, str], tuple] = _read_heatmaps
    labels: Callable[[h5py.File, str], tuple] = _read_labels
    heatmap: Callable[[h5py.File, str, int], tuple] | None = _read_heatmap


def normalise_rgb(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 normalised with ImageNet mean / std."""
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return (x - mean) / std


def train_id_lut(table: ClassTable, class_names: Sequence[str]) -> np.ndarray:
    """(256,) uint8: train id of ``table`` -> index in ``class_names`` (255 if absent)."""
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for t, name in enumerate(table.names):
        if name in class_names:
            lut[t] = list(class_names).index(name)
    return lut


def tag_vector(snippet: Snippet, manifest: Manifest) -> np.ndarray:
    """(C,) bool: True for the snippet's tags in the manifest class table."""
    v = np.zeros(len(manifest.classes), dtype=bool)
    for t in snippet.tags:
        v[manifest.class_index(t)] = True
    return v


def resize_artifact(arr: np.ndarray, kind: str, size: tuple[int, int]) -> np.ndarray:
    """Bring an extra dataset's artifact to the working ``size`` (H, W) of the target.

    ``kind``: ``flow`` ((2L, h, w) pixels, x then y: bilinear, x scaled by W/w, y by H/h),
    ``heatmaps`` ((C, h, w): bilinear) or ``labels`` ((h, w): nearest).
    """
    import cv2

    H, W = size
    if tuple(arr.shape[-2:]) == (H, W):
        return arr
    h, w = arr.shape[-2:]
    if kind == "heatmaps":
        from ..heatmaps.storage import upsample

        return upsample(arr[None], size)[0]
    if kind == "labels":
        return cv2.resize(np.ascontiguousarray(arr), (W, H), interpolation=cv2.INTER_NEAREST)
    if kind != "flow":
        raise ValueError(f"unknown artifact kind {kind!r} (flow, heatmaps, labels)")
    out = np.stack([cv2.resize(np.ascontiguousarray(c, dtype=np.float32), (W, H),
                               interpolation=cv2.INTER_LINEAR) for c in arr])
    out[0::2] *= W / w
    out[1::2] *= H / h
    return out


def foreground_mask(table: ClassTable, class_names: Sequence[str]) -> torch.Tensor:
    """(C,) bool: True for the foreground ('thing') classes of ``table`` in ``class_names``."""
    return torch.tensor([name in table.foreground for name in class_names], dtype=torch.bool)


class FrameDataset(Dataset):
    """Samples of one split: every snippet (with ``shard_of`` artifacts) x ``offsets``.

    ``needs``: subset of {"flow", "heatmaps", "pseudo", "gt"}; ``shards``: for each need
    that reads an artifact ("flow", "heatmaps", "pseudo"), the list of shard paths indexed
    by shard number (``results/{dataset}/{stage}/{split}/shard-{i}.h5``).
    A sample is a dict:

    - ``rgb`` (3, H, W) float32 normalised; ``image`` (3, H, W) uint8 (for the CRF)
    - ``tags`` (C,) bool; ``tags_complete`` () bool (False: partial tags, see ``Snippet.tags_complete``)
    - ``flow`` (2L, H, W) float32, pixels / ``flow_scale`` (needs "flow")
    - ``heatmaps`` (C, H, W) float32 in [0, 1] (needs "heatmaps")
    - ``labels`` (H, W) int64 class indices, 255 = ignore (needs "pseudo" or "gt")
    - ``index`` int (position in :attr:`items`)
    """

    def __init__(
        self,
        manifest: Manifest,
        split: str,
        offsets: Sequence[int] = (0,),
        needs: Sequence[str] = (),
        shards: dict[str, Sequence[str | os.PathLike]] | None = None,
        flow_L: int = 10,
        flow_scale: float = 10.0,
        hflip: bool = False,
        readers: Readers | None = None,
        seed: int = 0,
    ) -> None:
        unknown = set(needs) - {"flow", "heatmaps", "pseudo", "gt"}
        if unknown:
            raise ValueError(f"unknown sample inputs {sorted(unknown)}")
        self.manifest = manifest
        self.split = split
        self.needs = tuple(needs)
        self.shards = {k: [Path(p) for p in v] for k, v in (shards or {}).items()}
        for need in ("flow", "heatmaps", "pseudo"):
            if need in self.needs and not self.shards.get(need):
                raise ValueError(f"sample input {need!r} needs its shard paths")
        self.flow_L = flow_L
        self.flow_scale = flow_scale
        self.hflip = hflip
        self.readers = readers or Readers()
        self.size = tuple(manifest.size)
        self.lut = train_id_lut(manifest.table, manifest.classes)
        self.seed = seed
        snippets = manifest.split(split)
        if "gt" in self.needs:
            missing = [s.id for s in snippets if s.gt is None]
            if missing:
                raise DataError(f"split {split!r}: snippets without ground truth: {missing[:5]}")
            offsets = (0,)  # ground truth exists for the annotated frame only
        self.items: list[tuple[Snippet, int]] = [(s, int(o)) for s in snippets for o in offsets]
        if not self.items:
            raise DataError(f"dataset {manifest.dataset!r}: split {split!r} has no snippets")
        self._files: dict[tuple[str, int], h5py.File] = {}
        self._pid = None
        self._epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch

    def _file(self, kind: str, snippet: Snippet) -> h5py.File:
        if self._pid != os.getpid():  # reopen after fork (h5py handles are not fork-safe)
            self._files, self._pid = {}, os.getpid()
        key = (kind, snippet.shard)
        if key not in self._files:
            paths = self.shards[kind]
            if snippet.shard >= len(paths):
                raise DataError(
                    f"snippet {snippet.id} is in shard {snippet.shard} but only {len(paths)} "
                    f"{kind} shards were given"
                )
            self._files[key] = open_artifact(paths[snippet.shard])
        return self._files[key]

    def _path(self, kind: str, snippet: Snippet) -> Path:
        return self.shards[kind][snippet.shard]

    def _fit_extra(self, arr: np.ndarray, kind: str, snippet: Snippet) -> np.ndarray:
        """Resize an artifact of a snippet from ``train.extra_datasets`` (``extra['size']`` set by
        :func:`tagseg.datasets.extra.combine`) to the working size; others are returned as is."""
        if snippet.extra.get("size") is None or tuple(snippet.extra["size"]) == self.size:
            return arr
        return resize_artifact(arr, kind, self.size)

    def _check_hw(self, arr: np.ndarray, what: str, snippet: Snippet, kind: str) -> None:
        if tuple(arr.shape[-2:]) != self.size:
            raise DataError(
                f"{self._path(kind, snippet)}: {what} of snippet {snippet.id} is "
                f"{arr.shape[-2]}x{arr.shape[-1]}, expected the working size {self.size[0]}x{self.size[1]}"
            )

    @staticmethod
    def _at(offsets: np.ndarray, offset: int, path: Path, snippet: Snippet, what: str) -> int:
        hit = np.flatnonzero(np.asarray(offsets) == offset)
        if hit.size == 0:
            raise DataError(
                f"{path}: snippet {snippet.id} has no {what} at frame offset {offset} "
                f"(has {np.asarray(offsets).tolist()}; config key frames.train_offsets)"
            )
        return int(hit[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        snippet, offset = self.items[index]
        img = read_rgb(snippet.frame_path(offset), self.size)
        sample: dict[str, Any] = {"index": index, "tags": torch.from_numpy(tag_vector(snippet, self.manifest)),
                                  "tags_complete": torch.tensor(snippet.tags_complete)}
        flow = heat = labels = None
        if "flow" in self.needs:
            try:
                flow = self.readers.stack(self._file("flow", snippet), snippet.id, offset, self.flow_L)
            except KeyError as e:  # the contract readers raise KeyError subclasses naming the file
                msg = e.args[0] if e.args else f"{self._path('flow', snippet)}: snippet {snippet.id}"
                raise DataError(str(msg)) from e
            flow = np.asarray(flow, dtype=np.float32)
            if flow.ndim != 3 or flow.shape[0] != 2 * self.flow_L:
                raise DataError(
                    f"{self._path('flow', snippet)}: flow stack of snippet {snippet.id} has shape "
                    f"{flow.shape}, expected (2L={2 * self.flow_L}, H, W) (config key train.model.flow_L)"
                )
            flow = self._fit_extra(flow, "flow", snippet)
            self._check_hw(flow, "flow stack", snippet, "flow")
        if "heatmaps" in self.needs:
            if self.readers.heatmap is not None:
                heat = np.asarray(self.readers.heatmap(self._file("heatmaps", snippet), snippet.id, offset)[0],
                                  dtype=np.float32)
            else:
                offs, maps, _ = self.readers.heatmaps(self._file("heatmaps", snippet), snippet.id)
                i = self._at(offs, offset, self._path("heatmaps", snippet), snippet, "heatmaps")
                heat = np.asarray(maps[i], dtype=np.float32)
            if heat.shape[0] != len(self.manifest.classes):
                raise DataError(
                    f"{self._path('heatmaps', snippet)}: {heat.shape[0]} heatmap classes for snippet "
                    f"{snippet.id}, the manifest has {len(self.manifest.classes)}"
                )
            heat = self._fit_extra(heat, "heatmaps", snippet)
            self._check_hw(heat, "heatmaps", snippet, "heatmaps")
        if "pseudo" in self.needs:
            offs, labs, _ = self.readers.labels(self._file("pseudo", snippet), snippet.id)
            i = self._at(offs, offset, self._path("pseudo", snippet), snippet, "pseudo-labels")
            labels = self.lut[np.asarray(labs[i]).astype(np.intp)]
            labels = self._fit_extra(labels, "labels", snippet)
            self._check_hw(labels, "pseudo-labels", snippet, "pseudo")
        if "gt" in self.needs:
            ids = read_label(snippet.gt)
            train = self.manifest.table.to_train_ids(ids, str(snippet.gt))
            if train.shape != self.size:
                import cv2

                train = cv2.resize(train, (self.size[1], self.size[0]), interpolation=cv2.INTER_NEAREST)
            labels = self.lut[train.astype(np.intp)]
        if self.hflip:
            rng = np.random.default_rng((self.seed, self._epoch, index))
            if rng.random() < 0.5:
                img = img[:, ::-1]
                if flow is not None:
                    flow = flow[..., ::-1].copy()
                    flow[0::2] *= -1  # x components change sign
                if heat is not None:
                    heat = heat[..., ::-1]
                if labels is not None:
                    labels = labels[..., ::-1]
        img = np.ascontiguousarray(img)
        sample["rgb"] = normalise_rgb(img)
        sample["image"] = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        if flow is not None:
            sample["flow"] = torch.from_numpy(np.ascontiguousarray(flow)) / self.flow_scale
        if heat is not None:
            sample["heatmaps"] = torch.from_numpy(np.ascontiguousarray(heat))
        if labels is not None:
            sample["labels"] = torch.from_numpy(np.ascontiguousarray(labels)).long()
        return sample

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files = {}
