"""Retrieved clips as a `webvideos` dataset, and `train.extra_datasets` (manifest + data path)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from tagseg import classes as C
from tagseg import plan
from tagseg.config import section, validate
from tagseg.datasets import extra, webvideos
from tagseg.datasets.manifest import Manifest, ManifestError, Snippet, load
from tagseg.plan import frame_span, needed_offsets
from tagseg.h5io import write_artifact
from tagseg.images import read_rgb, write_png
from tagseg.clipfile import STAGE as CLIPS_STAGE
from tagseg.train.data import FrameDataset
from tagseg.train.readers import Readers
from tagseg.train.resize import resize_artifact

REPO = Path(__file__).resolve().parents[1]
NAMES = list(C.CLASS_NAMES)
OFFSETS = needed_offsets({"frames": {"train_offsets": [0]}, "flow": {"L": 4}})  # pairs -1..2


def write_clips(path: Path, cls: str, lengths, size=(16, 24)) -> None:
    """A `retrieval_clips` artifact with clips of the given frame counts (frame k has value k)."""
    with write_artifact(path, CLIPS_STAGE, attrs={"class": cls, "size": list(size), "fps": 10.0}) as f:
        for seq, n in enumerate(lengths):
            ann = n // 2
            g = f.create_group(f"{webvideos_city(cls)}_{seq:06d}_{ann:06d}")
            frames = np.stack([np.full((*size, 3), 10 * k % 256, np.uint8) for k in range(n)])
            g.create_dataset("frames", data=frames)
            g.create_dataset("times", data=np.arange(n) / 10.0)
            g.create_dataset("scores", data=np.full(n, 0.9, np.float32))
            g.create_dataset("offsets", data=np.arange(n) - ann)
            g.attrs.update({"video_id": f"{cls}-{seq:03d}", "class": cls, "url": f"file:///v/{seq}.mp4",
                            "annotated": ann, "fps": 10.0})


def webvideos_city(cls: str) -> str:
    from tagseg.clipfile import city_name

    return city_name(cls)


def test_windows():
    assert frame_span(OFFSETS) == (-1, 3)
    assert frame_span(needed_offsets({"frames": {"train_offsets": [0]}, "flow": section("flow")})) == (-4, 6)
    assert webvideos.window_starts(25, -1, 3) == [1, 6, 11, 16, 21]  # last window: frames 20..24
    assert webvideos.window_starts(25, -1, 3, stride=10) == [1, 11, 21]
    assert webvideos.window_starts(4, -1, 3) == []
    assert webvideos.window_starts(5, -1, 3) == [1]


def test_manifest_from_clips(tmp_path):
    write_clips(tmp_path / "car.h5", "car", [25, 4])  # the second clip is shorter than a window
    write_clips(tmp_path / "bus.h5", "bus", [7])
    root = tmp_path / "frames"
    stale = root / "leftImg8bit_sequence/train/webcar/webcar_000009_000000_leftImg8bit.png"
    write_png(stale, np.zeros((8, 12, 3), np.uint8))
    cfg = {"kind": "webvideos", "source": "synthcity", "root": str(root), "resize": 0.5,
           "shards": {"train": 2}}
    m = webvideos.build_manifest("web", cfg, [tmp_path / "car.h5", tmp_path / "bus.h5"], NAMES, OFFSETS)
    m.save(tmp_path / "manifest.json")
    m = load(tmp_path / "manifest.json")
    assert m.kind == "webvideos" and m.size == (8, 12) and m.classes == NAMES
    assert m.shards == {"train": 2} and {s.split for s in m.snippets} == {"train"}
    ids = [s.id for s in m.snippets]
    assert ids == [f"webcar_000000_{a:06d}" for a in (1, 6, 11, 16, 21)] + ["webbus_000000_000001"]
    assert sorted(s.shard for s in m.snippets) == [0, 0, 0, 1, 1, 1]
    s = m.snippet("webcar_000000_000006")
    assert s.tags == ["car"] and s.gt is None and s.flow_gt is None and s.annotated == 1
    assert len(s.frames) == 5 and s.extra["video_id"] == "car-000"
    assert s.extra["times_s"] == [0.5, 0.6, 0.7, 0.8, 0.9]
    img = read_rgb(s.frame_path(0))
    assert img.shape == (8, 12, 3) and int(img[0, 0, 0]) == 60  # frame 6 of the clip, resized
    assert read_rgb(s.frame_path(3)).shape == (8, 12, 3)
    assert not stale.exists()  # frames of earlier runs are removed
    assert not (root / "leftImg8bit_sequence/train/webcar/webcar_000001_000000_leftImg8bit.png").exists()
    with pytest.raises(ManifestError, match=r"datasets\.web\.shards\.train"):
        webvideos.build_manifest("web", {**cfg, "shards": {"train": 7}}, [tmp_path / "car.h5"], NAMES, OFFSETS)


def _config(extra_datasets):
    return validate({  # defaults filled, as the Snakefile does
        "datasets": {
            "city": {"kind": "synthcity", "root": "data/city", "resize": 1.0, "min_tag_fraction": 0.0,
                     "shards": {"train": 2, "val": 1}},
            "web": {"kind": "webvideos", "source": "city", "root": "results/web/frames",
                    "shards": {"train": 1}},
        },
        "train": {"extra_datasets": extra_datasets, "variants": {
            "two_stream_pseudo": {"two_stream": True, "losses": ["tag", "heatmap", "crf", "pseudo"]},
            "oracle": {"two_stream": True, "losses": ["gt"]}}},
    })


def test_train_inputs_with_extra_datasets():
    base = {"manifest": "results/city/manifest.json",
            "flow": ["results/city/flow/train/shard-0.h5", "results/city/flow/train/shard-1.h5"],
            "heatmaps": ["results/city/heatmaps/train/shard-0.h5", "results/city/heatmaps/train/shard-1.h5"],
            "pseudo": ["results/city/pseudolabels/train/shard-0.h5", "results/city/pseudolabels/train/shard-1.h5"]}
    assert plan.train_inputs(_config([]), "city", "two_stream_pseudo") == base
    cfg = _config(["web"])
    d = plan.train_inputs(cfg, "city", "two_stream_pseudo")
    assert d["manifest"] == "results/city/train/two_stream_pseudo/manifest.json"
    assert d["flow"] == base["flow"] + ["results/web/flow/train/shard-0.h5"]
    assert d["heatmaps"][-1] == "results/web/heatmaps/train/shard-0.h5"
    assert d["pseudo"][-1] == "results/web/pseudolabels/train/shard-0.h5"
    used, skipped = plan.extra_datasets(cfg, "city", "oracle")
    assert used == [] and "ground truth" in skipped["web"] and "oracle" in skipped["web"]
    d = plan.train_inputs(cfg, "city", "oracle")
    assert d["flow"] == base["flow"]  # no web shards for the gt loss
    with pytest.raises(ValueError, match="train.extra_datasets.*'nope'"):
        plan.extra_datasets(_config(["nope"]), "city", "oracle")
    with pytest.raises(ValueError, match="target dataset itself"):
        plan.extra_datasets(_config(["city"]), "city", "oracle")


def _manifest(name, kind, size, snippets, shards) -> Manifest:
    return Manifest(dataset=name, kind=kind, root="r", size=size, resize=1.0, classes=NAMES,
                    iconic=None, shards=shards, snippets=snippets)


def _snip(sid, frames, split="train", shard=0, tags=("road",), gt=None):
    return Snippet(id=sid, split=split, city=sid.split("_")[0], frames=frames, annotated=0,
                   tags=list(tags), gt=gt, shard=shard)


def test_combine_and_frame_dataset_resize(tmp_path):
    """Extra snippets get shard numbers after the target's and are resized to its working size."""
    H, W, h, w = 8, 16, 4, 6
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    write_png(big, np.full((H, W, 3), 100, np.uint8))
    write_png(small, np.full((h, w, 3), 200, np.uint8))
    target = _manifest("city", "synthcity", (H, W), [
        _snip("town_000000_000019", [str(big)], shard=0), _snip("town_000001_000019", [str(big)], shard=1),
        _snip("val_000000_000019", [str(big)], split="val")], {"train": 2, "val": 1})
    web = _manifest("web", "webvideos", (h, w), [
        _snip("webcar_000000_000004", [str(small)], shard=0, tags=("car",)),
        _snip("webcar_000001_000004", [str(small)], shard=1, tags=("car",))], {"train": 2})
    m = extra.combine(target, [web])
    assert m.shards == {"train": 4, "val": 1} and m.dataset == "city" and m.size == (H, W)
    assert [s.shard for s in m.split("train")] == [0, 1, 2, 3]
    s = m.snippet("webcar_000001_000004")
    assert s.extra == {"dataset": "web", "size": [h, w], "shard": 1} and s.tags == ["car"]
    with pytest.raises(ManifestError, match="snippet id"):
        extra.combine(target, [web, web])
    other = copy.deepcopy(web)
    other.classes = NAMES[:5]
    with pytest.raises(ManifestError, match="class table"):
        extra.combine(target, [other])

    # every shard path is an empty artifact; the readers return arrays of each snippet's own size
    shards = {}
    for kind in ("flow", "heatmaps", "pseudo"):
        shards[kind] = []
        for i in range(4):
            p = tmp_path / f"{kind}-{i}.h5"
            with write_artifact(p, kind):
                pass
            shards[kind].append(p)
    hw = {s.id: ((H, W) if s.id.startswith("town") else (h, w)) for s in m.snippets}
    readers = Readers(
        stack=lambda f, sid, c, L: np.ones((2 * L, *hw[sid]), np.float32),
        labels=lambda f, sid: (np.array([0]), np.full((1, *hw[sid]), C.train_id("car"), np.uint8),
                               np.ones((1, *hw[sid]), np.float32)),
        heatmap=lambda f, sid, o: (np.full((len(NAMES), *hw[sid]), 0.5, np.float32), np.zeros(len(NAMES))))
    ds = FrameDataset(m, "train", needs=["flow", "heatmaps", "pseudo"], shards=shards, flow_L=2,
                      flow_scale=1.0, readers=readers)
    assert len(ds) == 4
    own, web0 = ds[0], ds[3]
    for sample in (own, web0):
        assert sample["rgb"].shape == (3, H, W) and sample["flow"].shape == (4, H, W)
        assert sample["heatmaps"].shape == (len(NAMES), H, W) and sample["labels"].shape == (H, W)
    assert float(own["flow"][0].mean()) == 1.0
    assert np.allclose(web0["flow"][0::2].numpy(), W / w) and np.allclose(web0["flow"][1::2].numpy(), H / h)
    assert (web0["labels"] == C.train_id("car")).all() and int(web0["image"][0, 0, 0]) == 200
    assert web0["tags"][NAMES.index("car")] and not web0["tags"][NAMES.index("road")]
    ds.close()
    # a target snippet of the wrong size is still an error (only extra snippets are resized)
    bad = Readers(stack=lambda f, sid, c, L: np.ones((2 * L, h, w), np.float32))
    with pytest.raises(ValueError, match="expected the working size"):
        FrameDataset(m, "train", needs=["flow"], shards=shards, flow_L=2, flow_scale=1.0, readers=bad)[0]


def test_resize_artifact_nearest_and_flow_scale():
    lab = np.array([[1, 2], [3, 4]], np.uint8)
    assert set(np.unique(resize_artifact(lab, "labels", (4, 4)))) == {1, 2, 3, 4}
    flow = np.stack([np.full((2, 3), 1.5, np.float32), np.full((2, 3), -2.0, np.float32)])
    out = resize_artifact(flow, "flow", (4, 9))
    assert out.shape == (2, 4, 9) and np.allclose(out[0], 4.5) and np.allclose(out[1], -4.0)


def test_schema_accepts_webvideos_and_extra_datasets():
    from snakemake.utils import validate

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert cfg["datasets"]["synthcity_web"]["kind"] == "webvideos" and cfg["train"]["extra_datasets"] == []
    good = copy.deepcopy(cfg)
    good["train"]["extra_datasets"] = ["synthcity_web"]
    validate(good, str(REPO / "config/schema.yaml"))
    bad = copy.deepcopy(cfg)
    del bad["datasets"]["synthcity_web"]["source"]
    with pytest.raises(Exception, match="source"):
        validate(bad, str(REPO / "config/schema.yaml"))
    bad = copy.deepcopy(cfg)
    bad["datasets"]["synthcity_web"]["min_tag_fraction"] = 0.1  # a Cityscapes-kind key
    with pytest.raises(Exception, match="min_tag_fraction"):
        validate(bad, str(REPO / "config/schema.yaml"))
    bad = copy.deepcopy(cfg)
    bad["train"]["extra_datasets"] = "synthcity_web"
    with pytest.raises(Exception, match="extra_datasets|not of type"):
        validate(bad, str(REPO / "config/schema.yaml"))
