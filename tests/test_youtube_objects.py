"""Dataset kind youtube_objects: the real release's layout in miniature, its errors, the
evaluation protocol (Saleh Table 7), the embedded render of the layout and one tiny
end-to-end run to metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tagseg.datasets import kinds
from tagseg.datasets import youtube_objects as yto
from tagseg.datasets.manifest import ManifestError
from tagseg.metrics import EvaluationError
from tagseg.plan import needed_offsets

OFFSETS = list(range(-4, 6))  # flow.L = 10, frames.train_offsets [0]: frames -4..+6
H, W = 24, 40


def _jpeg(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 75])


def _box(n: int) -> np.ndarray:
    """The object of frame ``n`` of the miniature: a rectangle drifting right."""
    m = np.zeros((H, W), bool)
    m[6:18, 5 + n % 10: 20 + n % 10] = True
    return m


def write_mini_release(root: Path, frames_per_shot: int = 20, full: bool = False) -> Path:
    """YouTube-Objects v1.0 frames + Jain & Grauman masks, as released (file names, JPEG masks):
    cat videos 0001 (train, shots 001-002) and 0002 (masked shot 001, masks 00001 and 00011);
    car video 0001 shot 001 (masked, mask 00011). ``full``: no v1 tree, the masked shots' frames in
    images/ beside labels/ instead."""
    rng = np.random.default_rng(0)
    shots = [("cat", "0001", 1, ()), ("cat", "0001", 2, ()), ("cat", "0002", 1, (1, 11)),
             ("car", "0001", 1, (11,))]
    for cls, video, shot, masked in shots:
        rel = Path(cls) / "data" / video / "shots" / f"{shot:03d}"
        if full and not masked:
            continue
        fdir = root / "youtube_masks" / rel / "images" if full else root / "v1" / rel
        for n in range(1, frames_per_shot + 1):
            _jpeg(fdir / f"frame{n:04d}.jpg", rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        for n in masked:
            _jpeg(root / "youtube_masks" / rel / "labels" / f"{n:05d}.jpg",
                  (_box(n) * 255).astype(np.uint8))
    if not full:
        (root / "v1" / "cat" / "sets").mkdir(parents=True)
        (root / "v1" / "cat" / "sets" / "train.txt").write_text("0001\n")
    return root


def _cfg(root: Path, **kw) -> dict:
    return {"kind": "youtube_objects", "root": str(root), "shards": {"train": 1, "val": 1},
            "frames_per_shot": 3, **kw}


def test_class_table_uses_voc_ids_colours_and_imagenet_classes():
    t = yto.TABLE
    assert t.names == ("background", *yto.CLASSES)
    assert t.label("aeroplane").label_id == 1 and t.label("aeroplane").color == (128, 0, 0)
    assert t.label("train").label_id == 19 and t.label("train").color == (128, 192, 0)
    assert t.label("motorbike").label_id == 14 and t.label("motorbike").color == (64, 128, 128)
    assert t.foreground == frozenset(yto.CLASSES) and t.background == {"background"}
    im = t.imagenet_classes
    assert set(im) == set(yto.CLASSES)
    assert im["cat"] == [281, 282, 283, 284, 285] and len(im["dog"]) == 118
    assert kinds.table("youtube_objects") is t


def test_reads_the_miniature_release(tmp_path):
    root = write_mini_release(tmp_path / "yto")
    m = kinds.build_manifest("yto", {**_cfg(root), "offsets": OFFSETS})
    assert needed_offsets({"frames": {"train_offsets": [0]}, "flow": {"L": 10}}) == OFFSETS
    assert m.kind == "youtube_objects" and m.size == (H, W)
    assert m.classes == ["background", "car", "cat"]
    val = {s.id: s for s in m.split("val")}
    # mask 00001 of cat/0002 is skipped: frames -4..-1 are before the shot's first frame
    assert sorted(val) == ["car0001_000001_000011", "cat0002_000001_000011"]
    s = val["cat0002_000001_000011"]
    assert s.tags == ["cat"] and s.annotated == 4 and len(s.frames) == 11
    assert s.frames[0].endswith("v1/cat/data/0002/shots/001/frame0007.jpg")
    assert s.frames[-1].endswith("frame0017.jpg")
    assert s.extra["mask"].endswith("youtube_masks/cat/data/0002/shots/001/labels/00011.jpg")
    gt = cv2.imread(s.gt, cv2.IMREAD_UNCHANGED)
    assert set(np.unique(gt)) == {0, 8}  # VOC ids: background, cat
    assert np.mean((gt == 8) == _box(11)) > 0.99  # the JPEG mask thresholded back to its box
    train = m.split("train")
    # cat/0001 shots 001 and 002 (unmasked), 3 snippets each, windows inside the 20 frames
    assert sorted(s.id for s in train) == [
        "cat0001_000001_000005", "cat0001_000001_000009", "cat0001_000001_000014",
        "cat0001_000002_000005", "cat0001_000002_000009", "cat0001_000002_000014"]
    assert all(s.gt is None and s.tags == ["cat"] for s in train)
    m2 = kinds.build_manifest("yto", {**_cfg(root, train_on_masked_shots=True), "offsets": OFFSETS})
    assert len(m2.split("train")) == 6 + 3 + 3


def test_reads_the_full_repackaging_of_the_masked_shots(tmp_path):
    root = write_mini_release(tmp_path / "yto", full=True)
    cfg = {**_cfg(root, frames=None), "shards": {"train": 1, "val": 1}, "train_on_masked_shots": True}
    m = kinds.build_manifest("yto", {**cfg, "offsets": OFFSETS})
    s = m.snippet("cat0002_000001_000011")
    assert s.frames[s.annotated].endswith("youtube_masks/cat/data/0002/shots/001/images/frame0011.jpg")


@pytest.mark.parametrize("break_it, words", [
    (lambda r: __import__("shutil").rmtree(r), ["no data at", "datasets.yto.root", "youtube_masks"]),
    (lambda r: __import__("shutil").rmtree(r / "youtube_masks"),
     ["youtube_masks missing", "datasets.yto.masks", "vision.cs.utexas.edu"]),
    (lambda r: __import__("shutil").rmtree(r / "v1"), ["v1 missing", "datasets.yto.frames"]),
    (lambda r: __import__("shutil").rmtree(r / "v1/car/data/0001/shots/001"),
     ["00011.jpg: its shot's frames are missing", "v1/car/data/0001/shots/001",
      "datasets.yto.frames"]),
    (lambda r: (r / "v1/cat/data/0002/shots/001/frame0011.jpg").unlink(),
     ["cat/data/0002/shots/001/labels/00011.jpg: its frame", "frame0011.jpg is missing"]),
    (lambda r: (r / "youtube_masks/cat").rename(r / "youtube_masks/kitten"),
     ["class folder 'kitten' is not a YouTube-Objects class", "datasets.yto.masks"]),
    (lambda r: __import__("shutil").rmtree(r / "youtube_masks/car/data/0001/shots/001/labels"),
     ["has no labels/ folder", "datasets.yto.masks"]),
])
def test_wrong_or_partial_tree_is_named(tmp_path, break_it, words):
    root = write_mini_release(tmp_path / "yto")
    break_it(root)
    with pytest.raises(ManifestError) as e:
        kinds.build_manifest("yto", {**_cfg(root), "offsets": OFFSETS})
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_too_many_shards_names_the_key(tmp_path):
    root = write_mini_release(tmp_path / "yto")
    with pytest.raises(ManifestError, match=r"split 'val' has 2 masked frames .* "
                                            r"'datasets.yto.shards.val' asks for 3"):
        kinds.build_manifest("yto", {**_cfg(root), "shards": {"train": 1, "val": 3},
                                     "offsets": OFFSETS})


def _write_pred(pred_dir: Path, s, train_ids: np.ndarray) -> None:
    p = pred_dir / s.city / f"{s.id}_v_labelIds.png"
    p.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(p), yto.TABLE.train_to_label_lut()[train_ids])


def test_protocol_is_per_class_iou_of_the_object_masks(tmp_path):
    root = write_mini_release(tmp_path / "yto")
    m = kinds.build_manifest("yto", {**_cfg(root), "offsets": OFFSETS})
    t = yto.TABLE
    cat, car = m.snippet("cat0002_000001_000011"), m.snippet("car0001_000001_000011")
    gt_cat = t.to_train_ids(cv2.imread(cat.gt, -1)) == t.train_id("cat")
    gt_car = t.to_train_ids(cv2.imread(car.gt, -1)) == t.train_id("car")
    pred = tmp_path / "pred"
    _write_pred(pred, cat, np.where(gt_cat, t.train_id("cat"), 0).astype(np.uint8))  # perfect
    # car frame: left half of the box as car, the right half as cat (an object, wrong class)
    half = np.zeros_like(gt_car)
    half[:, :15] = gt_car[:, :15]
    lab = np.where(half, t.train_id("car"), np.where(gt_car, t.train_id("cat"), 0)).astype(np.uint8)
    _write_pred(pred, car, lab)
    r = kinds.protocol("youtube_objects")(m, "val", pred)
    assert r["n_images"] == 2
    assert r["class_iou"]["cat"] == 1.0
    assert r["class_iou"]["car"] == pytest.approx(half.sum() / gt_car.sum())
    assert r["class_iou_any_object"]["car"] == 1.0
    assert r["class_iou"]["dog"] != r["class_iou"]["dog"]  # NaN: no masks of dogs
    assert r["miou"] == pytest.approx((1.0 + half.sum() / gt_car.sum()) / 2)
    assert r["frames_per_class"] == {**{c: 0 for c in yto.CLASSES}, "cat": 1, "car": 1}
    assert np.array(r["confusion_matrix"]).sum() == 2 * H * W
    (pred / car.city / f"{car.id}_v_labelIds.png").unlink()
    with pytest.raises(EvaluationError, match="no prediction for ground truth .*car0001_000001_000011"):
        kinds.protocol("youtube_objects")(m, "val", pred)


def test_embedded_layout_is_the_release_layout(tmp_path):
    from synthcity.layouts import LAYOUTS, render

    assert {"cityscapes", "youtube_objects"} <= set(LAYOUTS)
    root = tmp_path / "synth"
    info = render(root, layout="youtube_objects", width=48, height=32, classes=["car", "train"],
                  videos_per_class=2, masked_videos=1, shots_per_video=1, frames=18,
                  iconic_per_class=2)
    assert info["counts"] == {"shots": 4, "frames": 72, "masks": 4, "iconic": 6}
    assert (root / "v1/car/data/0001/shots/001/frame0001.jpg").is_file()
    assert (root / "v1/car/data/0002/shots/001/frame0018.jpg").is_file()
    assert (root / "v1/train/sets/test.txt").read_text() == "0002\n"
    mask = cv2.imread(str(root / "youtube_masks/train/data/0002/shots/001/labels/00011.jpg"), -1)
    assert mask.shape == (32, 48) and mask.dtype == np.uint8 and (mask > 128).mean() > 0.02
    assert sorted(p.name for p in (root / "iconic").iterdir()) == ["background", "car", "train"]
    m = kinds.build_manifest("s", {**_cfg(root), "offsets": OFFSETS})
    assert m.classes == ["background", "car", "train"]
    assert [s.id for s in m.split("val")] == ["car0002_000001_000011", "train0002_000001_000011"]
    assert len(m.split("train")) == 2 * 3


def test_synth_command_refuses_an_unknown_layout(tmp_path, capsys):
    """`tagseg synth --layout NAME` renders synthcity.layouts.LAYOUTS[NAME] (the youtube_objects
    render is tested above, and through the `synthesize` rule below); a typo is named."""
    from tagseg.cli import main

    assert main(["synth", "--layout", "camvid_typo", "--root", str(tmp_path / "x")]) == 2
    assert "unknown layout 'camvid_typo'; known: cityscapes, youtube_objects" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_tiny_run_reaches_metrics(tmp_path):
    """`snakemake results/synthcity_yto/metrics.json` on a tiny render: synthesize (youtube_objects
    layout) -> manifest -> train -> predict -> the kind's protocol. The single-stream variant
    without heatmaps keeps it short; the full DAG is measured in docs/results.md."""
    import snakemake_runs as sr

    wd = tmp_path / "run"
    sr.write_config(wd, {
        "datasets": {"synthcity_yto": {
            "shards": {"train": 1, "val": 1}, "frames_per_shot": 2,
            "synth": {"width": 48, "height": 32, "videos_per_class": 2, "masked_videos": 1,
                      "shots_per_video": 1, "frames": 18, "iconic_per_class": 2, "workers": 1}}},
        "train": {"variant": "no_heatmap", "iterations": 4, "checkpoint_every": 0}})
    sr.snakemake(wd, "--cores", "2", "results/synthcity_yto/metrics.json", timeout=300)
    m = json.loads((wd / "results/synthcity_yto/metrics.json").read_text())
    assert m["default_variant"] == "no_heatmap" and m["n_images"] == 3  # one mask per class
    crf = m["crf"]
    assert list(crf["class_iou"]) == list(yto.CLASSES)
    for c in ("car", "motorbike", "train"):
        assert 0.0 <= crf["class_iou"][c] <= 1.0 and crf["frames_per_class"][c] == 1
    assert crf["class_iou"]["cat"] is None
    assert crf["miou"] == pytest.approx(np.mean([crf["class_iou"][c] for c in ("car", "motorbike", "train")]))
    man = json.loads((wd / "results/synthcity_yto/manifest.json").read_text())
    assert man["kind"] == "youtube_objects" and man["class_table"]["name"] == "youtube_objects"
