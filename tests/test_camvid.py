"""Dataset kind ``camvid``: both real releases (miniature copies with real file names), the
32 -> 11 class map, bad trees, ``tagseg frames`` on PyAV-written videos, and one tiny end-to-end
run of the embedded CamVid layout (``synth --layout camvid``) to metrics.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tagseg.config import ConfigError
from tagseg.cli import main as cli
from tagseg.datasets import camvid
from tagseg.datasets.kinds import get, table
from tagseg.datasets.manifest import ManifestError
from tagseg.images import read_ground_truth

RGB = {name: np.array(c, np.uint8) for name, c, _ in camvid.COLORS}
H, W = 36, 48


def _png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    assert cv2.imwrite(str(path), arr)


def _frame(seed: int) -> np.ndarray:
    """A textured RGB frame, different for every seed."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8), (W, H),
                      interpolation=cv2.INTER_LINEAR)
    return base


def _colour_label(names: list[str]) -> np.ndarray:
    """(H, W, 3) CamVid colours: one horizontal band per class name (top to bottom)."""
    img = np.zeros((H, W, 3), np.uint8)
    for i, n in enumerate(names):
        img[i * H // len(names):(i + 1) * H // len(names)] = RGB[n]
    return img


# Stills of every sequence, with real names and their SegNet split.
STILLS = {"0001TP_006690": "train", "0006R0_f00930": "train", "0016E5_07961": "val",
          "0016E5_07963": "val", "Seq05VD_f00000": "test"}
BANDS = ["Sky", "Building", "LaneMkgsDriv", "Road", "Void", "SUVPickupTruck"]


def _original(root: Path, frames: bool = True) -> Path:
    """A miniature original release: stills, *_L.png colour labels, label_colors.txt, and a
    frames folder holding -19..+10 around each still except a few."""
    (root / "label_colors.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "label_colors.txt").write_text(
        "".join(f"{r} {g} {b}\t{n}\n" for n, (r, g, b), _ in camvid.COLORS))
    for k, stem in enumerate(STILLS):
        _png(root / "701_StillsRaw_full" / f"{stem}.png", _frame(k))
        _png(root / "LabeledApproved_full" / f"{stem}_L.png", _colour_label(BANDS))
        if frames:
            seq, num = camvid.parse_stem(stem)
            for off in range(-19, 11):
                if stem == "0001TP_006690" and off == 5:
                    continue  # one missing frame, recorded as missing
                if num + off >= 0:
                    _png(root / "frames" / f"{camvid.frame_stem(seq, num + off)}.png", _frame(100 + off))
    return root


def _cfg(root: Path, **kw) -> dict:
    return {"kind": "camvid", "root": str(root), "resize": 1.0, "min_tag_fraction": 0.0,
            "shards": {"train": 1, "val": 1}, **kw}


def test_the_32_colour_classes_map_to_the_11_and_void():
    t = table("camvid")
    assert t.names == camvid.CLASSES and t.num_classes == 11 and t.encoding == "colors"
    assert len(t.labels) == 32 and len({lab.color for lab in t.labels}) == 32
    assert t.foreground == {"car", "pedestrian", "bicyclist"}
    assert {"road", "sidewalk", "building", "tree", "sky"} <= t.background
    img = np.stack([np.stack([RGB[n] for n in ("LaneMkgsDriv", "SUVPickupTruck", "Child", "Void",
                                                "VegetationMisc", "TrafficLight", "Wall")])])
    train = t.to_train_ids(t.decode(img))
    assert [t.names[i] if i != 255 else "void" for i in train[0]] == [
        "road", "car", "pedestrian", "void", "tree", "sign_symbol", "building"]
    # The evaluation classes take their CamVid colours; the SegNet table reads 0..10, 11 void.
    assert t.colors[t.names.index("sky")] == (128, 128, 128)
    seg = camvid.SEGNET_TABLE
    assert seg.names == t.names and list(seg.label_to_train_lut()[:12]) == [*range(11), 255]
    with pytest.raises(ValueError, match="not in the camvid table"):
        t.decode(np.full((1, 1, 3), 7, np.uint8))


def test_still_names_and_the_segnet_split():
    assert camvid.parse_stem("0001TP_006690") == ("0001TP", 6690)
    assert camvid.parse_stem("Seq05VD_f05100") == ("Seq05VD", 5100)
    assert camvid.frame_stem("0006R0", 929) == "0006R0_f00929"
    with pytest.raises(ValueError, match="not a CamVid still name"):
        camvid.parse_stem("0006R0_00930")  # 0006R0 numbers carry an 'f'
    assert [camvid.segnet_split(*camvid.parse_stem(s)) for s in STILLS] == list(STILLS.values())


def test_original_release_is_read(tmp_path):
    root = _original(tmp_path / "CamVid")
    m = get("camvid").build_manifest("cv", _cfg(root))
    assert m.kind == "camvid" and m.table.encoding == "colors" and m.size == (H, W)
    assert {s.id: s.split for s in m.snippets} == {k: v for k, v in STILLS.items() if v != "test"}
    s = m.snippet("0001TP_006690")
    assert s.city == "0001TP" and s.frames[s.annotated].endswith("701_StillsRaw_full/0001TP_006690.png")
    assert s.frames[0].endswith("frames/0001TP_006671.png") and s.annotated == 19
    assert s.missing_frames() == {5: str(root / "frames" / "0001TP_006695.png")}
    assert len(s.frames) == 24  # -19..+4: the run stops at the missing frame
    assert s.tags == ["sky", "building", "road", "car"]  # void is no tag
    gt = m.table.to_train_ids(read_ground_truth(s.gt, m.table))
    assert set(np.unique(gt)) == {0, 1, 3, 8, 255}
    v = m.snippet("0016E5_07961")
    assert len(v.frames) == 30 and v.frames[0].endswith("0016E5_07942.png")


def test_test_split_is_read_when_it_has_shards_and_refused_where_labels_are_private(tmp_path):
    """shards.test (kind camvid) puts the test stills (SegNet's rule: Seq05VD) in the manifest;
    the plan scores them through their own targets; Cityscapes and VOC refuse, saying why."""
    from tagseg import plan
    from tagseg.datasets import kinds

    root = _original(tmp_path / "CamVid")
    m = get("camvid").build_manifest("cv", _cfg(root, shards={"train": 1, "val": 1, "test": 1}))
    assert [s.id for s in m.split("test")] == ["Seq05VD_f00000"] and m.shards["test"] == 1
    assert len(m.split("train")) == 2 and len(m.split("val")) == 2
    cfg = {"datasets": {"cv": _cfg(root, shards={"train": 1, "val": 1, "test": 2}),
                        "cv2": _cfg(root), "cs": {"kind": "cityscapes", "shards": {"train": 1}},
                        "v": {"kind": "voc", "shards": {"train": 1, "val": 1}}},
           "predict": {"split": "val"},
           "train": {"variant": "two_stream", "variants": {"two_stream": {
               "two_stream": True, "losses": ["pseudo"]}}}}
    for s in m.split("test"):  # the kind's protocol scores the test split (predictions = truth)
        _png(tmp_path / "pred" / s.city / f"{s.id}_v_labelIds.png", read_ground_truth(s.gt, m.table))
    r = kinds.protocol("camvid")(m, "test", tmp_path / "pred")
    assert r["split"] == "test" and r["n_images"] == 1 and r["miou"] == 1.0
    d = plan.predict_inputs(cfg, "cv", "two_stream", split="test")
    assert d["flow"] == ["results/cv/flow/test/shard-0.h5", "results/cv/flow/test/shard-1.h5"]
    assert plan.metrics_test_path("cv") == "results/cv/metrics_test.json"
    assert plan.evaluate_test_path("cv", "x") == "results/cv/evaluate_test/x.json"
    with pytest.raises(ValueError, match=r"'datasets.cv2.shards.test' is not set.*then build "
                                         r"results/cv2/metrics_test.json"):
        plan.predict_inputs(cfg, "cv2", "two_stream", split="test")
    with pytest.raises(ValueError, match=r"'cs' \(kind 'cityscapes'\) cannot be scored on a test "
                                         r"split: Cityscapes' test labels are not public"):
        plan.check_test_split(cfg, "cs")
    with pytest.raises(ValueError, match=r"PASCAL VOC 2012's test masks are not public"):
        plan.check_test_split(cfg, "v")
    from conftest import write_fake_cityscapes  # the manifest builder refuses it too

    cs = write_fake_cityscapes(tmp_path / "cs", splits=("train",), per_split=1, frames=20)
    with pytest.raises(ManifestError, match=r"'datasets.cs.shards.test': Cityscapes' test labels "
                                            r"are not public"):
        get("cityscapes").build_manifest("cs", {"kind": "cityscapes", "root": str(cs), "resize": 1.0,
                                                "min_tag_fraction": 0.0, "shards": {"train": 1, "test": 1}})


def test_metrics_test_json_plans_the_test_split_alone(tmp_path):
    """A dry run of the real Snakefile: metrics_test.json of a camvid dataset with shards.test
    predicts and scores the test split (its own flow shard), nothing of val. Verified once for
    real on synthcity_camvid with its val stills copied as test stills (docs/results.md): the
    test scores equal the val scores."""
    import snakemake_runs as sr

    sr.write_config(tmp_path, {"datasets": {"synthcity_camvid": {"shards": {"train": 1, "val": 1, "test": 1}}}})
    jobs, out = sr.planned_jobs(tmp_path, "results/synthcity_camvid/metrics_test.json", with_output=True)
    assert jobs["predict_test"] == jobs["evaluate_test_variant"] == jobs["evaluate_test"] == 1
    assert "results/synthcity_camvid/flow/test/shard-0.h5" in out and "flow/val/" not in out
    assert "predict" not in jobs and "evaluate" not in jobs  # metrics.json (val) is not asked for


def test_original_release_with_split_lists(tmp_path):
    root = _original(tmp_path / "CamVid")
    (root / "train.txt").write_text("0001TP_006690\n0016E5_07961\n")
    (root / "val.txt").write_text("/SegNet/CamVid/val/0006R0_f00930.png /SegNet/CamVid/valannot/0006R0_f00930.png\n")
    m = get("camvid").build_manifest("cv", _cfg(root))
    assert {s.id: s.split for s in m.snippets} == {"0001TP_006690": "train", "0016E5_07961": "train",
                                                   "0006R0_f00930": "val"}
    (root / "val.txt").write_text("0016E5_09999\n")
    with pytest.raises(ManifestError, match=r"val.txt: still 0016E5_09999 is listed"):
        get("camvid").build_manifest("cv", _cfg(root))


def test_segnet_release_is_read(tmp_path):
    root = tmp_path / "SegNet" / "CamVid"
    idx = np.zeros((H, W), np.uint8)
    idx[: H // 2] = 0   # sky
    idx[H // 2:] = 3    # road
    idx[:, :4] = 11     # void
    for stem, split in STILLS.items():
        _png(root / split / f"{stem}.png", _frame(1))
        _png(root / f"{split}annot" / f"{stem}.png", idx)
    (root / "frames").mkdir()
    m = get("camvid").build_manifest("cv", _cfg(root))
    assert m.table is camvid.SEGNET_TABLE and m.table.encoding == "ids"
    assert sorted(s.id for s in m.split("val")) == ["0016E5_07961", "0016E5_07963"]
    s = m.snippet("0006R0_f00930")
    assert s.tags == ["sky", "road"] and s.frames == [str(root / "train" / "0006R0_f00930.png")]
    assert len(s.missing_frames()) == 29  # no decoded frames yet: named by the stages needing them


def test_wrong_or_partial_trees_name_the_folder_and_the_config_key(tmp_path):
    build = get("camvid").build_manifest
    with pytest.raises(ManifestError, match=r"no data at .*nowhere \(config key 'datasets.cv.root'\)"):
        build("cv", _cfg(tmp_path / "nowhere"))
    root = _original(tmp_path / "a")
    import shutil

    shutil.rmtree(root / "LabeledApproved_full")
    with pytest.raises(ManifestError, match=r"a/LabeledApproved_full missing \(config key "
                                            r"'datasets.cv.root', release original\)"):
        build("cv", _cfg(root))
    root = _original(tmp_path / "b", frames=False)
    with pytest.raises(ManifestError, match=r"frames folder .*b/frames missing \(config key "
                                            r"'datasets.cv.frames'\).*tagseg frames"):
        build("cv", _cfg(root))
    root = _original(tmp_path / "c")
    (root / "LabeledApproved_full" / "0006R0_f00930_L.png").unlink()
    with pytest.raises(ManifestError, match=r"0006R0_f00930.png: its label .*0006R0_f00930_L.png is "
                                            r"missing \(config key 'datasets.cv.root'"):
        build("cv", _cfg(root))
    root = tmp_path / "d"
    for d in ("train", "trainannot", "val"):
        (root / d).mkdir(parents=True)
    with pytest.raises(ManifestError, match=r"d/valannot missing \(config key 'datasets.cv.root', "
                                            r"release segnet\)"):
        build("cv", _cfg(root))
    root = _original(tmp_path / "e")
    (root / "label_colors.txt").write_text("1 2 3\tSky\n")
    with pytest.raises(ManifestError, match=r"label_colors.txt:1: Sky \(1, 2, 3\) is not a CamVid"):
        build("cv", _cfg(root))
    root = _original(tmp_path / "f")
    _png(root / "LabeledApproved_full" / "0001TP_006690_L.png", np.full((H, W, 3), 7, np.uint8))
    with pytest.raises(ValueError, match=r"0001TP_006690_L.png: colours \[\(7, 7, 7\)\] are not in the camvid"):
        build("cv", _cfg(root))
    with pytest.raises(ConfigError, match=r"config key datasets.cv.release: 'v2' is not allowed"):
        build("cv", _cfg(_original(tmp_path / "g"), release="v2"))


def test_evaluation_protocol_scores_11_classes_with_void_ignored(tmp_path):
    root = _original(tmp_path / "CamVid")
    m = get("camvid").build_manifest("cv", _cfg(root))
    t = m.table
    lut = t.train_to_label_lut()
    for s in m.split("val"):
        gt = t.to_train_ids(read_ground_truth(s.gt, t))
        pred = np.where(gt == 255, t.names.index("pedestrian"), gt)  # anything on void pixels
        pred[gt == t.names.index("car")] = t.names.index("road")     # car read as road
        _png(tmp_path / "pred" / s.city / f"{s.id}_v_labelIds.png", lut[pred])
    r = get("camvid").evaluate(m, "val", tmp_path / "pred")
    assert r["n_images"] == 2 and list(r["class_iou"]) == list(camvid.CLASSES)
    # bands of 6 rows: sky, building, road (LaneMkgsDriv), road, void, car
    assert r["class_iou"]["sky"] == 1.0 and r["class_iou"]["car"] == 0.0
    assert r["class_iou"]["road"] == pytest.approx(2 / 3)
    assert r["class_iou"]["pedestrian"] != r["class_iou"]["pedestrian"]  # NaN: void ignored
    assert r["global_accuracy"] == pytest.approx(4 / 5)
    assert r["mean_class_accuracy"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert r["miou"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)


# ---------------------------------------------------------------- tagseg frames (PyAV)


def _video(path: Path, n: int) -> list[np.ndarray]:
    """Write ``n`` distinct frames losslessly (PNG in AVI) with PyAV; returns them."""
    import av

    frames = [_frame(1000 + i) for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("png", rate=30)
        s.width, s.height, s.pix_fmt = W, H, "rgb24"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return frames


def _stills_from(root: Path, frames: list[np.ndarray], shift: int) -> None:
    """0001TP stills 6690 and 6720 = decoded frames 30 and 60 (+ ``shift``), offset 6660."""
    for num in (6690, 6720):
        stem = f"0001TP_{num:06d}"
        _png(root / "701_StillsRaw_full" / f"{stem}.png", frames[num - 6660 + shift])
        _png(root / "LabeledApproved_full" / f"{stem}_L.png", _colour_label(BANDS))


def test_frames_command_decodes_and_checks_alignment(tmp_path, capsys):
    frames = _video(tmp_path / "videos" / "01TP_extract.avi", 75)
    root = tmp_path / "CamVid"
    _stills_from(root, frames, 0)
    out = root / "frames"
    assert cli(["frames", "--root", str(root), "--videos", str(tmp_path / "videos"),
                "--out", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)["sequences"]["0001TP"]
    assert rep["stills"] == 2 and rep["frames_written"] == 60 and rep["offset"] == 6660
    assert rep["psnr_min"] >= 60
    assert np.array_equal(cv2.imread(str(out / "0001TP_006689.png"))[..., ::-1], frames[29])
    assert (out / "0001TP_006671.png").is_file() and (out / "0001TP_006730.png").is_file()
    m = get("camvid").build_manifest("cv", _cfg(root, shards={"train": 1}))
    assert len(m.snippet("0001TP_006690").frames) == 30


def test_frames_command_fails_on_a_misaligned_video(tmp_path, capsys):
    frames = _video(tmp_path / "videos" / "01TP_extract.avi", 75)
    root = tmp_path / "CamVid"
    _stills_from(root, frames, 1)  # the stills are one frame later than offset 6660 says
    out = tmp_path / "frames"
    assert cli(["frames", "--root", str(root), "--videos", str(tmp_path / "videos"),
                "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(r"01TP_extract.avi: decoded frame (30|60) does not match still", err)
    assert "--offset 0001TP=6659" in err and "< --min-psnr 30" in err
    assert not list(out.glob("*.png"))  # nothing wrong left behind
    assert cli(["frames", "--root", str(root), "--videos", str(tmp_path / "videos"),
                "--out", str(out), "--offset", "0001TP=6659"]) == 0
    assert json.loads(capsys.readouterr().out)["sequences"]["0001TP"]["psnr_min"] >= 60
    assert cli(["frames", "--root", str(root), "--videos", str(tmp_path / "none"),
                "--out", str(out)]) == 2
    assert "01TP_extract.avi: video of sequence 0001TP not found" in capsys.readouterr().err


def test_frames_command_on_the_segnet_release_writes_frames_at_the_stills_size(tmp_path, capsys):
    frames = _video(tmp_path / "videos" / "0006R0.avi", 60)  # {sequence}.*; 0006R0: offset 0
    root = tmp_path / "CamVid"
    half = [cv2.resize(f, (W // 2, H // 2), interpolation=cv2.INTER_AREA) for f in frames]
    _png(root / "train" / "0006R0_f00030.png", half[30])
    _png(root / "trainannot" / "0006R0_f00030.png", np.zeros((H // 2, W // 2), np.uint8))
    for d in ("val", "valannot"):
        (root / d).mkdir()
    assert cli(["frames", "--root", str(root), "--videos", str(tmp_path / "videos"),
                "--out", str(root / "frames")]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["release"] == "segnet" and rep["sequences"]["0006R0"]["psnr_min"] >= 60
    assert cv2.imread(str(root / "frames" / "0006R0_f00011.png")).shape == (H // 2, W // 2, 3)


# ---------------------------------------------------------------- embedded layout, end to end


def test_synth_camvid_layout_refuses_a_foreign_folder_and_unknown_layouts(tmp_path, capsys):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "thesis.tex").write_text("years of work")
    assert cli(["synth", "--layout", "camvid", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert str(root) in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing rendered beside it
    assert cli(["synth", "--layout", "kitti", "--root", str(tmp_path / "new")]) == 2
    assert "unknown layout 'kitti'" in capsys.readouterr().err



def test_embedded_camvid_layout_runs_to_metrics(tmp_path):
    import snakemake_runs as sr

    if sr.renderer_missing():
        pytest.skip(sr.renderer_missing())
    cfg = {"datasets": {"synthcity_camvid": {
        "root": "data/synthcity_camvid", "shards": {"train": 1, "val": 1},
        "synth": {"seed": 0, "width": 48, "height": 36, "train_snippets": 2,
                  "val_snippets": 2, "iconic_per_class": 4, "workers": 1}}}}
    sr.write_config(tmp_path, cfg)
    sr.snakemake(tmp_path, "--cores", "2", "results/synthcity_camvid/metrics.json", timeout=600)
    data = tmp_path / "data" / "synthcity_camvid"
    assert (data / "701_StillsRaw_full" / "0001TP_006690.png").is_file()
    assert (data / "LabeledApproved_full" / "0016E5_07980_L.png").is_file()
    assert (data / "frames" / "0001TP_006671.png").is_file() and (data / "frames" / "0006R0_f00940.png").is_file()
    assert (data / "val.txt").read_text().split() == ["0016E5_07980", "0016E5_08010"]
    m = json.loads((tmp_path / "results/synthcity_camvid/manifest.json").read_text())
    assert m["kind"] == "camvid" and m["class_table"]["encoding"] == "colors"
    assert len(m["snippets"]) == 4 and all(len(s["frames"]) == 30 for s in m["snippets"])
    r = json.loads((tmp_path / "results/synthcity_camvid/metrics.json").read_text())
    assert r["n_images"] == 2 and list(r["raw"]["class_iou"]) == list(camvid.CLASSES)
    assert 0.0 <= r["raw"]["miou"] <= 1.0 and 0.0 <= r["crf"]["global_accuracy"] <= 1.0
