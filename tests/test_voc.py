"""PASCAL VOC 2012 as an image dataset kind (issue 18): the devkit layout and SBD lists, clear
errors, the comp6 evaluation against an independent reference, the synthcity VOC render, the
plan of still-image datasets, and a tiny end-to-end run to metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tagseg import plan
from tagseg.classtable import IGNORE
from tagseg.datasets import kinds, voc
from tagseg.datasets.extra import combine
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.images import ImageError, read_label

RNG = np.random.default_rng(0)


def _write_image(root: Path, image_id: str, hw=(20, 30)) -> None:
    p = root / "JPEGImages" / f"{image_id}.jpg"
    p.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(p), RNG.integers(0, 255, (*hw, 3), dtype=np.uint8))


def _write_mask(path: Path, mask: np.ndarray, palette: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if palette:
        img = Image.fromarray(mask, mode="P")
        img.putpalette(voc.voc_palette().ravel().tolist())
        img.save(path)
    else:
        Image.fromarray(voc.voc_palette()[mask], mode="RGB").save(path)


def _write_xml(root: Path, image_id: str, names: list[str]) -> None:
    objs = "".join(f"<object><name>{n}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>"
                   f"<ymax>5</ymax></bndbox></object>" for n in names)
    p = root / "Annotations" / f"{image_id}.xml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"<annotation><filename>{image_id}.jpg</filename>{objs}</annotation>")


def write_sbd_mat(path: Path, mask: np.ndarray) -> None:
    """An SBD ``cls/{id}.mat`` in the release's layout: a 1x1 MATLAB struct ``GTcls`` with
    ``Segmentation`` (uint8 class indices), ``Boundaries`` (20x1 cell of sparse matrices) and
    ``CategoriesPresent`` (torchvision/datasets/sbd.py reads the first two)."""
    import scipy.io
    import scipy.sparse

    bounds = np.empty((20, 1), dtype=object)
    for k in range(20):
        bounds[k, 0] = scipy.sparse.csc_matrix(mask.shape, dtype=np.float64)
    present = np.array([[c for c in np.unique(mask) if 0 < c < 255]], np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {"GTcls": {"Segmentation": mask, "Boundaries": bounds,
                                           "CategoriesPresent": present}})


def write_devkit(base: Path) -> tuple[Path, Path]:
    """A miniature VOCdevkit/VOC2012 (real names: ids, palette masks with a 255 border, XML,
    ImageSets/Segmentation) and an SBD benchmark_RELEASE/dataset beside it (lists, img/,
    cls/*.mat masks)."""
    root = base / "VOCdevkit" / "VOC2012"
    images = {"2007_000032": ["aeroplane", "person"], "2007_000039": ["tvmonitor"],
              "2008_000002": ["car", "car"], "2007_000033": ["aeroplane"], "2009_000012": ["dog"]}
    for i, (image_id, names) in enumerate(images.items()):
        _write_image(root, image_id)
        _write_xml(root, image_id, names)
        mask = np.zeros((20, 30), np.uint8)
        mask[5:15, 5:20] = voc.CLASSES.index(names[0])
        mask[4, 5:20] = IGNORE
        if image_id != "2008_000002":  # a train image without a mask: allowed (tags suffice)
            _write_mask(root / "SegmentationClass" / f"{image_id}.png", mask)
    seg = root / "ImageSets" / "Segmentation"
    seg.mkdir(parents=True)
    (seg / "train.txt").write_text("2007_000032\n2007_000039\n2008_000002\n")
    (seg / "val.txt").write_text("2007_000033\n2009_000012\n")
    sbd = base / "benchmark_RELEASE"
    (sbd / "dataset").mkdir(parents=True)
    (sbd / "dataset" / "train.txt").write_text("2007_000039\n2011_000001\n")
    # SBD val: a VOC val image (left out of train) and one that is in no VOC list (kept)
    (sbd / "dataset" / "val.txt").write_text("2007_000033\n2010_000005\n")
    _write_xml(root, "2011_000001", ["cat"])
    _write_xml(root, "2010_000005", ["sheep", "person"])
    _write_image(root, "2010_000005", hw=(22, 14))
    p = sbd / "dataset" / "img" / "2011_000001.jpg"
    p.parent.mkdir(parents=True)
    cv2.imwrite(str(p), RNG.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    for image_id, hw, cls_name in (("2007_000039", (20, 30), "bus"), ("2011_000001", (20, 30), "cat"),
                                   ("2007_000033", (20, 30), "aeroplane"), ("2010_000005", (22, 14), "sheep")):
        mask = np.zeros(hw, np.uint8)
        mask[3:9, 2:11] = voc.CLASSES.index(cls_name)
        write_sbd_mat(sbd / "dataset" / "cls" / f"{image_id}.mat", mask)
    return root, sbd


def _cfg(root: Path, **kw) -> dict:
    return {"kind": "voc", "root": str(root), "size": [16, 24], "shards": {"train": 2, "val": 1}, **kw}


# --------------------------------------------------------------------------- the devkit


def test_kind_reads_a_miniature_devkit_and_the_sbd_lists(tmp_path):
    root, sbd = write_devkit(tmp_path)
    assert kinds.get("voc").build_manifest is voc.build_manifest and kinds.table("voc") is voc.TABLE
    m = voc.build_manifest("voc", _cfg(root))
    assert [s.id for s in m.split("train")] == ["2007_000032", "2007_000039", "2008_000002"]
    assert [s.id for s in m.split("val")] == ["2007_000033", "2009_000012"]
    s = m.snippet("2007_000032")
    assert s.frames == [str(root / "JPEGImages" / "2007_000032.jpg")] and s.annotated == 0
    assert s.tags == ["background", "aeroplane", "person"] and s.city == "2007"
    assert m.snippet("2008_000002").tags == ["background", "car"] and m.snippet("2008_000002").gt is None
    assert m.size == (16, 24) and m.table.num_classes == 21 and m.classes[0] == "background"
    gt = read_label(m.snippet("2009_000012").gt)  # palette PNG: the index is the class
    assert gt.shape == (20, 30) and set(np.unique(gt)) == {0, 12, IGNORE}
    gt_dir = tmp_path / "results" / "voc" / "ground_truth"
    with_sbd = voc.build_manifest("voc", _cfg(root, sbd=str(sbd)), gt_dir=gt_dir)
    ids = [s.id for s in with_sbd.split("train")]
    # Hong's 10,582 rule: VOC train | SBD train | SBD val, minus VOC val (2007_000033)
    assert ids == ["2007_000032", "2007_000039", "2008_000002", "2010_000005", "2011_000001"]
    assert [s.id for s in with_sbd.split("val")] == ["2007_000033", "2009_000012"]
    assert with_sbd.snippet("2011_000001").frames[0].endswith("dataset/img/2011_000001.jpg")
    assert with_sbd.snippet("2010_000005").frames[0].endswith("JPEGImages/2010_000005.jpg")
    assert with_sbd.snippet("2011_000001").tags == ["background", "cat"]
    # SBD-only training images get their .mat mask (as a PNG the readers share); VOC's own
    # SegmentationClass mask wins where both exist; train images in neither stay without one
    cat = read_label(with_sbd.snippet("2011_000001").gt)
    assert with_sbd.snippet("2011_000001").gt == str(gt_dir / "2011" / "2011_000001.png")
    assert cat.shape == (20, 30) and cat[3:9, 2:11].min() == voc.CLASSES.index("cat")
    assert int((cat == voc.CLASSES.index("cat")).sum()) == 6 * 9 and set(np.unique(cat)) == {0, 8}
    sheep = voc.read_mask(with_sbd.snippet("2010_000005").gt)
    assert sheep.shape == (22, 14) and int((sheep == voc.CLASSES.index("sheep")).sum()) == 6 * 9
    assert with_sbd.snippet("2007_000039").gt == str(root / "SegmentationClass" / "2007_000039.png")
    assert with_sbd.snippet("2008_000002").gt is None
    assert sorted(p.name for p in gt_dir.rglob("*.png")) == ["2010_000005.png", "2011_000001.png"]
    assert not list(gt_dir.rglob(".*")), "temporary files left behind"


def test_corrupt_or_wrongly_structured_sbd_mask_is_named(tmp_path):
    import scipy.io

    root, sbd = write_devkit(tmp_path)
    cfg = _cfg(root, sbd=str(sbd))
    mat = sbd / "dataset" / "cls" / "2011_000001.mat"
    mat.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(40))  # truncated
    with pytest.raises(voc.VocError, match=r"2011_000001\.mat: unreadable or corrupt SBD mask"):
        voc.build_manifest("voc", cfg, gt_dir=tmp_path / "gt")
    scipy.io.savemat(str(mat), {"GTinst": {"Segmentation": np.zeros((4, 4), np.uint8)}})
    with pytest.raises(voc.VocError, match=r"2011_000001\.mat: not an SBD class mask .*GTinst"):
        voc.build_manifest("voc", cfg, gt_dir=tmp_path / "gt")
    scipy.io.savemat(str(mat), {"GTcls": {"Boundaries": np.zeros((4, 4))}})
    with pytest.raises(voc.VocError, match=r"2011_000001\.mat: not an SBD class mask .*fields \['Boundaries'\]"):
        voc.build_manifest("voc", cfg, gt_dir=tmp_path / "gt")
    write_sbd_mat(mat, np.full((4, 4), 30, np.uint8))
    with pytest.raises(voc.VocError, match=r"2011_000001\.mat: GTcls.Segmentation holds class indices \[30\]"):
        voc.build_manifest("voc", cfg, gt_dir=tmp_path / "gt")
    mat.unlink()
    with pytest.raises(voc.VocError, match=r"2011_000001\.mat: SBD mask not found \(config key 'datasets.voc.sbd'"):
        voc.build_manifest("voc", cfg, gt_dir=tmp_path / "gt")


def test_image_without_xml_or_label_not_a_palette_image_is_named(tmp_path):
    root, _ = write_devkit(tmp_path)
    (root / "Annotations" / "2007_000039.xml").unlink()
    with pytest.raises(voc.VocError, match=r"2007_000039\.xml: annotation not found"):
        voc.build_manifest("voc", _cfg(root))
    _write_xml(root, "2007_000039", ["tvmonitor"])
    mask = np.zeros((20, 30), np.uint8)
    _write_mask(root / "SegmentationClass" / "2009_000012.png", mask, palette=False)
    with pytest.raises(ImageError, match=r"2009_000012\.png: VOC label PNG is mode RGB, not a palette image"):
        voc.build_manifest("voc", _cfg(root))
    _write_xml(root, "2007_000039", ["unicorn"])
    with pytest.raises(voc.VocError, match="unknown class 'unicorn'"):
        voc.read_tags(root / "Annotations" / "2007_000039.xml")
    with pytest.raises(voc.VocError, match=r"no data at .*datasets.v.root"):
        voc.build_manifest("v", _cfg(tmp_path / "nowhere"))


# --------------------------------------------------------------------------- evaluation


def _reference_miou(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, np.ndarray]:
    """Independent comp6 reference: scikit-learn's confusion matrix over every pixel of every
    image (255 in the ground truth dropped), IoU = TP / (TP + FP + FN) per class, mean over
    classes present in ground truth or prediction."""
    from sklearn.metrics import confusion_matrix

    g = np.concatenate([gt.ravel() for gt, _ in pairs]).astype(int)
    p = np.concatenate([pr.ravel() for _, pr in pairs]).astype(int)
    keep = g != 255
    c = confusion_matrix(g[keep], p[keep], labels=list(range(21)))
    tp = np.diag(c)
    union = c.sum(0) + c.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return float(np.nanmean(iou)), iou


def test_evaluation_is_one_confusion_matrix_over_all_images(tmp_path):
    pairs, snippets = [], []
    pred_dir = tmp_path / "raw"
    for k, hw in enumerate([(20, 30), (33, 17), (8, 50)]):
        gt = RNG.choice([0, 3, 7, 15, 255], size=hw, p=[0.4, 0.15, 0.2, 0.15, 0.1]).astype(np.uint8)
        pred = np.where(RNG.random(hw) < 0.6, gt, RNG.choice([0, 3, 7, 15, 20], size=hw)).astype(np.uint8)
        pred[gt == 255] = RNG.choice([0, 7], size=int((gt == 255).sum()))
        sid = f"2010_{k:06d}"
        _write_mask(tmp_path / "gt" / f"{sid}.png", gt)
        out = pred_dir / "2010" / f"{sid}_videos_adapt_labelIds.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), pred)
        pairs.append((gt, pred))
        snippets.append(Snippet(id=sid, split="val", city="2010", frames=["x.jpg"], annotated=0,
                                tags=["background"], gt=str(tmp_path / "gt" / f"{sid}.png")))
    m = Manifest("v", "voc", str(tmp_path), (16, 16), 1.0, list(voc.TABLE.names), None,
                 {"val": 1}, snippets, voc.TABLE)
    r = voc.evaluate(m, "val", pred_dir)
    ref, ref_iou = _reference_miou(pairs)
    assert r["n_images"] == 3 and r["miou"] == pytest.approx(ref, abs=1e-12)
    for name, v in zip(voc.CLASSES, ref_iou):
        got = r["class_iou"][name]
        assert (np.isnan(v) and np.isnan(got)) or got == pytest.approx(v, abs=1e-12)
    per_image = np.mean([_reference_miou([p])[0] for p in pairs])
    assert abs(per_image - r["miou"]) > 1e-3  # not a mean of per-image scores
    (pred_dir / "2010" / "2010_000001_videos_adapt_labelIds.png").unlink()
    with pytest.raises(voc.VocEvaluationError, match="no prediction 2010_000001"):
        voc.evaluate(m, "val", pred_dir)


# --------------------------------------------------------------------------- the embedded render


def test_synth_writes_the_voc_layout(tmp_path):
    from synthcity.layouts import renderer

    info = renderer("voc")(tmp_path / "tree", size=40, train_images=6, val_images=6, workers=1)
    root = tmp_path / "tree"
    assert info["counts"] == {"train": 6, "val": 6}
    train = (root / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    assert len(train) == 6 and train[0] == "2012_000000"
    seen_void = False
    for image_id in train:
        with Image.open(root / "SegmentationClass" / f"{image_id}.png") as img:
            assert img.mode == "P"
        mask = voc.read_mask(root / "SegmentationClass" / f"{image_id}.png")
        seen_void |= bool((mask == 255).any())
        present = {voc.CLASSES[c] for c in np.unique(mask) if 0 < c < 255}
        assert set(voc.read_tags(root / "Annotations" / f"{image_id}.xml")) == present
        assert present <= {"bicycle", "bus", "car", "motorbike", "person", "train"}
    assert seen_void
    m = voc.build_manifest("s", _cfg(root, size=[40, 40]))
    assert len(m.split("train")) == 6 and all(s.gt for s in m.snippets)
    with pytest.raises(ValueError, match="unknown layout 'kitti'"):
        renderer("kitti")


def test_synth_command_takes_a_layout(tmp_path, capsys):
    from tagseg import cli

    assert cli.main(["synth", "--layout", "voc", "--root", str(tmp_path / "t"), "--size", "32",
                     "--train-images", "2", "--val-images", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"train": 2, "val": 2}
    assert len(list((tmp_path / "t" / "JPEGImages").glob("2012_*.jpg"))) == 4
    assert cli.main(["synth", "--layout", "kitti", "--root", str(tmp_path / "k")]) == 2
    assert "unknown layout 'kitti'; known: cityscapes" in capsys.readouterr().err


# --------------------------------------------------------------------------- the plan


def _config() -> dict:
    from tagseg.config import load_config

    return load_config(str(plan_root() / "config" / "config.yaml"))


def plan_root() -> Path:
    return Path(__file__).resolve().parents[1]


def test_plan_of_a_still_image_dataset_has_no_flow_and_hongs_variants():
    c = _config()
    assert plan.is_still(c, "synthcity_voc") and plan.dataset_offsets(c, "synthcity_voc") == [0]
    assert plan.rendered(c["datasets"]["synthcity_voc"]) and not plan.is_still(c, "synthcity")
    assert plan.ablation_variants(c, "synthcity_voc") == ["images_only", "videos_only", "videos_adapt"]
    assert plan.default_variant(c, "synthcity_voc") == "videos_adapt"
    assert plan.default_variant(c, "synthcity") == c["train"]["variant"]
    rep = plan.report_inputs(c, "synthcity_voc")  # the report: Table 1's rows, no flow quality
    assert rep["ablation"] == "results/synthcity_voc/ablation.json" and "flow_quality" not in rep
    own = plan.train_inputs(c, "synthcity_voc", "images_only")
    assert own["manifest"] == "results/synthcity_voc/manifest.json" and "flow" not in own
    assert own["pseudo"] == plan.shard_paths(c, "pseudolabels", "synthcity_voc", "train")
    vids = plan.train_inputs(c, "synthcity_voc", "videos_only")
    assert vids["manifest"] == "results/synthcity_voc/train/videos_only/manifest.json"
    assert vids["pseudo"] == ["results/synthcity_voc_web/pseudolabels/train/shard-0.h5"]
    da = plan.train_inputs(c, "synthcity_voc", "videos_adapt")
    assert da["init"] == "results/synthcity_voc/train/videos_only/model.pt"
    assert da["pseudo"] == plan.adapt_paths(c, "synthcity_voc", "videos_only")
    assert plan.extra_datasets(c, "synthcity", "two_stream")[0] == []  # train.extra_datasets: []
    with pytest.raises(ValueError, match="'two_stream' is two-stream .* holds still images"):
        plan.train_inputs(c, "synthcity_voc", "two_stream")


def test_training_manifest_of_extra_data_only_leaves_the_targets_train_images_out():
    def snip(i, split, shard=0):
        return Snippet(id=f"s{i}", split=split, city="c", frames=["f"], annotated=0, tags=["car"], shard=shard)
    target = Manifest("t", "voc", "r", (8, 8), 1.0, list(voc.TABLE.names), None, {"train": 2, "val": 1},
                      [snip(0, "train"), snip(1, "train", 1), snip(2, "val")], voc.TABLE)
    web = Manifest("w", "webvideos", "r", (8, 8), 1.0, list(voc.TABLE.names), None, {"train": 1},
                   [snip(3, "train")], voc.TABLE)
    m = combine(target, [web], own=False)
    assert [(s.id, s.shard) for s in m.split("train")] == [("s3", 0)] and m.shards["train"] == 1
    assert [s.id for s in m.split("val")] == ["s2"]


def test_web_clip_background_is_the_tables_background_class():
    from tagseg.datasets.cityscapes import TABLE as CS
    from tagseg.pseudolabels.stage import background_train_id

    m = Manifest("t", "voc", "r", (8, 8), 1.0, list(voc.TABLE.names), None, {"train": 1}, [], voc.TABLE)
    assert background_train_id(m) == 0
    cs = Manifest("c", "synthcity", "r", (8, 8), 1.0, list(CS.names), None, {"train": 1}, [], CS)
    assert background_train_id(cs) == IGNORE


def test_mean_average_precision_matches_hand_computed_values():
    from tagseg.heatmaps.tagged import mean_average_precision

    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.2, 0.6], [0.1, 0.2]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    mAP, per = mean_average_precision(scores, targets, ["a", "b"])
    # a: ranks 0.9 (pos), 0.8 (neg), 0.2 (pos) -> AP = (1 + 2/3) / 2; b: 0.7 (pos) first -> 1
    assert per["a"] == pytest.approx((1 + 2 / 3) / 2) and per["b"] == pytest.approx(1.0)
    assert mAP == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert mean_average_precision(scores, np.zeros_like(targets), ["a", "b"]) == (None, {"a": None, "b": None})


# --------------------------------------------------------------------------- end to end


def test_tiny_voc_run_reaches_metrics_json_and_the_report(tmp_path):
    """The embedded VOC tree to metrics.json and the report figures (no flow anywhere), in one
    run. The report's ablation (Hong's Table 1 rows) needs the video half, too long for the
    suite: its plan is checked in test_plan_of_a_still_image_dataset_has_no_flow_and_hongs_variants."""
    import snakemake_runs as sr
    import torch

    from tagseg import report as rp

    sr.write_config(tmp_path, {
        "datasets": {"synthcity_voc": {
            "size": [32, 32], "shards": {"train": 1, "val": 1},
            "synth": {"layout": "voc", "seed": 0, "size": 32, "train_images": 12, "val_images": 6,
                      "workers": 1},
            "variant": "images_only",
            "heatmaps": {"scales": [2.0]}}},  # its ImageNet tag classifier, one scale (64 px)
        "pseudolabels": {"ablations": False},
        "predict": {"overlays": False},
        "report": {"ablation": False, "frames": 1},
    })
    report = tmp_path / "results/synthcity_voc/report"
    r = sr.snakemake(tmp_path, "--cores", "2", "results/synthcity_voc/metrics.json",
                     "results/synthcity_voc/report/ablation.html", check=False, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in rp.FIGURES:
        assert (report / name).stat().st_size > 1000, name
    frames = sorted(p.name for p in (report / "frames").glob("*.png"))
    assert len(frames) == 1 and frames[0].startswith("2012_")
    log = (tmp_path / "results/synthcity_voc/logs/report/figures.log").read_text()
    assert "report figures for synthcity_voc (images_only)" in log
    assert "images_only" in (report / "ablation.html").read_text()
    m = json.loads((tmp_path / "results/synthcity_voc/metrics.json").read_text())
    assert m["default_variant"] == "images_only" and m["n_images"] == 6
    assert set(m["crf"]["class_iou"]) == set(voc.CLASSES) and 0.0 <= m["crf"]["miou"] <= 1.0
    acc = json.loads((tmp_path / "results/synthcity_voc/classifiers/accuracy.json").read_text())
    assert acc["source"] == "tags" and acc["classes"]["background"]["head"] == "complement"
    assert not (tmp_path / "results/synthcity_voc/flow").exists()  # still images: no flow stage
    ck = torch.load(tmp_path / "results/synthcity_voc/train/images_only/model.pt", weights_only=False)
    # its own `train` keys (config.yaml: datasets.synthcity_voc.train) over the tiny train section
    assert ck["meta"]["net"]["backbone"] == "efficientnet_lite0" and ck["meta"]["inputs"]["init"] == "imagenet"
    assert ck["meta"]["net"]["width"] == 0.25 and ck["meta"]["iteration"] == sr.TINY["train"]["iterations"]


def test_tag_classifier_maps_are_per_location_probabilities_and_background_their_complement():
    import torch

    from tagseg.heatmaps.cam import CAMNet
    from tagseg.heatmaps.model import HeatmapModel
    from tagseg.heatmaps.multiscale import multiscale_heatmaps

    torch.manual_seed(0)
    cam = CAMNet(2, width=0.0625, batch_norm=False).eval()
    with torch.no_grad():  # every class activation negative: ReLU'd CAMs are all zero
        cam.fc.weight.copy_(-cam.fc.weight.abs())
        cam.fc.bias.fill_(0.5)
    names = ["background", "car", "person"]
    heads = {"background": "complement", "car": "cam", "person": "cam"}
    frames = RNG.integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)
    relu = HeatmapModel(names, heads, cam, ["car", "person"], score="sigmoid", cam_maps="relu")
    maps, scores = multiscale_heatmaps(relu, frames, [1.0])
    assert maps[0, 1:].max() == 0.0 and (maps[0, 0] == 1.0).all() and scores[0, 0] == 1.0
    sig = HeatmapModel(names, heads, cam, ["car", "person"], score="sigmoid", cam_maps="sigmoid")
    maps, _ = multiscale_heatmaps(sig, frames, [1.0])
    assert maps[0, 1:].max() == pytest.approx(1.0)  # per-class max-normalised probabilities
    np.testing.assert_allclose(maps[0, 0], 1.0 - maps[0, 1:].max(0), atol=1e-6)
    # with each frame's tags, the background is the complement of its tagged classes' maps only
    # (an untagged class's map, normalised to its own peak, would erase the background)
    tagged, _ = multiscale_heatmaps(sig, frames, [1.0], tagged=np.array([[True, True, False]]))
    np.testing.assert_allclose(tagged[0, 0], 1.0 - maps[0, 1], atol=1e-6)
    np.testing.assert_allclose(tagged[0, 1:], maps[0, 1:], atol=1e-6)
