"""Training / inference samples read from the manifest and the per-shard HDF5 artifacts.

One sample = one (snippet, frame offset). The artifact readers are :class:`tagseg.train.readers.Readers`
(replaceable: tests, other layouts); artifacts of extra datasets are brought to the working size
by :func:`tagseg.train.resize.resize_artifact`; the RGB input is normalised by
:func:`tagseg.model.normalise.normalise_rgb`. HDF5 files are opened lazily in each DataLoader worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
from ..images import read_ground_truth, read_rgb
from ..model.normalise import normalise_rgb
from .readers import Readers
from .resize import resize_artifact


_RESIZE_KIND = {"flow": "flow", "heatmaps": "heatmaps", "pseudo": "labels"}
"""Sample input -> :func:`tagseg.train.resize.resize_artifact` kind."""


class DataError(TagsegError, ValueError):
    """An input artifact is missing a snippet or frame, or has the wrong shape / depth."""


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
        flow_L: int | None = None,
        flow_scale: float | None = None,
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
        if "flow" in self.needs and (flow_L is None or flow_scale is None):
            raise ValueError("sample input 'flow' needs flow_L and flow_scale "
                             "(config keys train.model.flow_L / flow.L and train.flow_scale)")
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

    def _fitted(self, arr: np.ndarray, need: str, what: str, snippet: Snippet) -> np.ndarray:
        """``arr`` (the ``need`` artifact of ``snippet``) at the working size: resized when the
        snippet comes from ``train.extra_datasets`` (``extra['size']`` set by
        :func:`tagseg.datasets.extra.combine`), then checked (:class:`DataError` naming the file)."""
        if snippet.extra.get("size") is not None and tuple(snippet.extra["size"]) != self.size:
            arr = resize_artifact(arr, _RESIZE_KIND[need], self.size)
        if tuple(arr.shape[-2:]) != self.size:
            raise DataError(
                f"{self._path(need, snippet)}: {what} of snippet {snippet.id} is "
                f"{arr.shape[-2]}x{arr.shape[-1]}, expected the working size {self.size[0]}x{self.size[1]}"
            )
        return arr

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
            flow = self._fitted(flow, "flow", "flow stack", snippet)
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
            heat = self._fitted(heat, "heatmaps", "heatmaps", snippet)
        if "pseudo" in self.needs:
            offs, labs, _ = self.readers.labels(self._file("pseudo", snippet), snippet.id)
            i = self._at(offs, offset, self._path("pseudo", snippet), snippet, "pseudo-labels")
            labels = self.lut[np.asarray(labs[i]).astype(np.intp)]
            labels = self._fitted(labels, "pseudo", "pseudo-labels", snippet)
        if "gt" in self.needs:
            ids = read_ground_truth(snippet.gt, self.manifest.table)
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
