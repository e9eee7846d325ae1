"""The flow stage on a tiny hand-made dataset: shard layout, stacks, quality, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from synthcity import flow_pairs as S
from tagseg import h5io
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.flow import quality, stage, storage
from tagseg.plan import needed_pairs

H, W, SHIFT = 48, 64, (2, 1)  # content moves +2 px in x, +1 px in y per frame
CFG = {
    "L": 4,
    "backend": "opencv",
    "batch_size": 4,
    "tvl1": {"nscales": 3, "warps": 3, "outer_iterations": 5, "scale_step": 0.5},
    "storage": {"encoding": "int16", "quantum": 0.01, "compression": "gzip", "compression_level": 4},
}


def _dataset(root: Path, n_frames: int = 8, annotated: int = 3, n_snippets: int = 2) -> Path:
    big = cv2.cvtColor(S.texture(H + 64, W + 64, seed=5), cv2.COLOR_GRAY2BGR)
    snippets = []
    for s in range(n_snippets):
        frames = []
        for i in range(n_frames):
            y0, x0 = 32 - SHIFT[1] * i, 32 - SHIFT[0] * i + s
            p = root / f"s{s}" / f"f{i:02d}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), big[y0 : y0 + H, x0 : x0 + W])
            frames.append(str(p))
        gt = root / f"s{s}" / "flow_gt.h5"
        with h5py.File(gt, "w") as f:
            k = np.arange(-annotated, n_frames - annotated - 1)
            flow = np.zeros((len(k), 2, H, W), np.float32)
            flow[:, 0], flow[:, 1] = SHIFT
            f.create_dataset("flow", data=flow).attrs["offsets"] = k
            moving = np.zeros((len(k), H, W), bool)
            moving[:, :, : W // 4] = True
            f.create_dataset("moving", data=moving)
        snippets.append(Snippet(id=f"town_{s:06d}_000003", split="val", city="town", frames=frames,
                                annotated=annotated, tags=["road"], flow_gt=str(gt)))
    m = Manifest(dataset="tiny", kind="synthcity", root=str(root), size=(H, W), resize=1.0,
                 classes=["road"], iconic=None, shards={"train": 1, "val": 1}, snippets=snippets)
    m.save(root / "manifest.json")
    return root / "manifest.json"


def test_needed_pairs_union_of_centres():
    assert needed_pairs([0], 10) == list(range(-4, 6))
    assert needed_pairs([0, 3], 4) == [-1, 0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="flow.L"):
        needed_pairs([0], 5)


@pytest.mark.parametrize("backend", ["opencv", "torch"])
def test_shard_stacks_and_quality(tmp_path, backend):
    man = _dataset(tmp_path / "d")
    out = tmp_path / "flow" / "val" / "shard-0.h5"
    cfg = {**CFG, "backend": backend}
    stats = stage.run_shard(man, "val", 0, out, cfg, centers=[0], device="cpu", threads=1)
    assert stats["pairs"] == 8 and 0 < stats["bytes_per_pair"] < 2 * H * W * 2
    with h5io.open_artifact(out, "flow", config=cfg) as f:
        assert sorted(f.keys()) == ["town_000000_000003", "town_000001_000003"]
        offs, flow = storage.read_pairs(f, "town_000000_000003")
        assert offs.tolist() == [-1, 0, 1, 2]
        stack = storage.read_stack(f, "town_000000_000003", center=0, L=4)
        assert stack.shape == (8, H, W)
        inner = stack[:, 8:-8, 8:-8]
        assert abs(np.median(inner[0::2]) - SHIFT[0]) < 0.1 and abs(np.median(inner[1::2]) - SHIFT[1]) < 0.1
    q = quality.write_quality(tmp_path / "quality.json", man, [out], cfg=cfg)
    back = json.loads((tmp_path / "quality.json").read_text())
    assert back["backend"] == backend and back["pairs"] == 8 and back["snippets"] == 2
    assert 0 < q["epe"]["all"] < 0.5 and q["epe"]["moving"] is not None and q["epe"]["static"] is not None


def test_too_few_frames_names_snippet_and_frames(tmp_path):
    man = _dataset(tmp_path / "d", n_frames=5, annotated=3)  # L=4 needs frames -1..+3
    out = tmp_path / "shard-0.h5"
    with pytest.raises(stage.FlowInputError, match=r"town_000000_000003.*-1\.\.\+3"):
        stage.run_shard(man, "val", 0, out, CFG, device="cpu")
    assert not out.exists() and not list(tmp_path.glob(".shard-0*"))


def test_unreadable_frame_names_snippet_and_frame(tmp_path):
    man = _dataset(tmp_path / "d")
    bad = tmp_path / "d" / "s1" / "f05.png"  # offset +2 of the second snippet
    bad.write_bytes(b"not a png")
    out = tmp_path / "shard-0.h5"
    with pytest.raises(stage.FlowInputError, match=r"town_000001_000003, frame \+2.*f05\.png"):
        stage.run_shard(man, "val", 0, out, CFG, device="cpu")
    assert not out.exists() and not list(tmp_path.glob(".shard-0*"))


def test_frames_of_different_sizes_are_refused(tmp_path):
    man = _dataset(tmp_path / "d")
    odd = tmp_path / "d" / "s0" / "f04.png"
    cv2.imwrite(str(odd), np.zeros((H + 2, W, 3), np.uint8))
    with pytest.raises(stage.FlowInputError, match=r"town_000000_000003, frame \+1.*differs"):
        stage.run_shard(man, "val", 0, tmp_path / "shard-0.h5", CFG, device="cpu")


def test_quality_without_ground_truth_says_so(tmp_path):
    man = _dataset(tmp_path / "d", n_snippets=1)
    m = json.loads(man.read_text())
    m["snippets"][0]["flow_gt"] = None
    man.write_text(json.dumps(m))
    out = tmp_path / "shard-0.h5"
    stage.run_shard(man, "val", 0, out, CFG, device="cpu")
    q = quality.evaluate(man, [out], CFG)
    assert q["epe"] is None and "no flow ground truth" in q["note"]


def test_unknown_backend_names_config_key():
    with pytest.raises(ValueError, match="flow.backend"):
        stage.make_backend({**CFG, "backend": "farneback"})
