"""Retrieved clips as a dataset of kind ``webvideos``: PNG frames + a manifest every stage reads.

Each clip (relevant run) of ``clips/{class}.h5`` becomes one train snippet: frames written as
``{root}/leftImg8bit_sequence/train/{city}/{city}_{seq:06d}_{k:06d}_leftImg8bit.png``
(``city = web{class}``), the annotated frame is the clip's middle frame, ``tags = [class]``
(the keyword's class, one-hot as in Hong et al. §3.2), no ground truth. ``extra`` keeps the
source video id, URL and times, so flow / heatmaps / pseudolabels run on it like on any
other dataset, and a target dataset can list it in its training data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .. import classes as cls_table
from ..datasets.manifest import Manifest, Snippet, assign_shards
from ..h5io import open_artifact
from ..images import write_png
from .clips import STAGE, read_clip

KIND = "webvideos"


def build_manifest(
    dataset: str, clip_h5s: Sequence[str | os.PathLike], root: str | os.PathLike,
    shards: int = 1, class_names: Sequence[str] = cls_table.CLASS_NAMES,
) -> Manifest:
    """Write every clip's frames under ``root`` and return the ``webvideos`` manifest (split train)."""
    root = Path(root)
    snippets: list[Snippet] = []
    size = None
    for path in clip_h5s:
        with open_artifact(path, STAGE) as f:
            h, w = (int(v) for v in f.attrs["size"])
            if size is not None and size != (h, w):
                raise ValueError(f"{path}: clip size {(h, w)} differs from earlier files' {size}; "
                                 "set config key retrieval.clip_size")
            size = (h, w)
            for cid in sorted(k for k in f.keys()):
                offsets, frames, times, scores = read_clip(f, cid)
                g = f[cid]
                city, seq, _ = cid.rsplit("_", 2)
                cname = str(g.attrs["class"])
                paths = []
                for k, img in enumerate(frames):
                    p = root / "leftImg8bit_sequence" / "train" / city / f"{city}_{seq}_{k:06d}_leftImg8bit.png"
                    if not p.exists():
                        write_png(p, img)
                    paths.append(str(p))
                snippets.append(Snippet(
                    id=cid, split="train", city=city, frames=paths, annotated=int(g.attrs["annotated"]),
                    tags=[cname], gt=None, flow_gt=None,
                    extra={"source": KIND, "video_id": str(g.attrs["video_id"]),
                           "url": str(g.attrs["url"]), "times_s": [float(t) for t in times],
                           "relevance": [float(s) for s in scores]}))
    shard_map = {"train": int(shards)}
    assign_shards(snippets, shard_map)
    return Manifest(dataset=dataset, kind=KIND, root=str(root), size=size or (0, 0), resize=1.0,
                    classes=list(class_names), iconic=None, shards=shard_map, snippets=snippets)
