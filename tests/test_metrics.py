"""Tests for tagseg.metrics: hand-computed cases, agreement with cityscapesScripts, errors, CLI."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tagseg import classes, metrics
from tagseg.images import ImageError
from tagseg.metrics import VOID, EvaluationError, confusion_matrix, evaluate_folder, scores

ROAD, SIDEWALK, BUILDING = 0, 1, 2  # train ids


# --------------------------------------------------------------------------- hand-made arrays


def test_confusion_matrix_hand_computed():
    gt = np.array([[0, 0, 1], [1, 255, 2]], dtype=np.uint8)
    pred = np.array([[0, 1, 1], [255, 0, 2]], dtype=np.uint8)
    conf = confusion_matrix(gt, pred, n=3)
    assert conf.dtype == np.int64
    np.testing.assert_array_equal(conf, [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])


def test_scores_hand_computed():
    conf = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    s = scores(conf, class_names=["a", "b", "c"], categories={"ab": [0, 1], "c": [2]})
    # a: TP 1, FN 1, FP 0; b: TP 1, FN 1 (void), FP 1; c: TP 1.
    assert s["class_iou"] == pytest.approx({"a": 1 / 2, "b": 1 / 3, "c": 1.0})
    assert s["miou"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert s["class_accuracy"] == pytest.approx({"a": 0.5, "b": 0.5, "c": 1.0})
    assert s["mean_class_accuracy"] == pytest.approx(2 / 3)
    assert s["global_accuracy"] == pytest.approx(3 / 5)
    # category ab: TP 3 (a->b counts), FN 1 (void), FP 0.
    assert s["category_iou"] == pytest.approx({"ab": 3 / 4, "c": 1.0})
    assert s["category_miou"] == pytest.approx(7 / 8)


def test_void_prediction_is_a_miss_not_a_false_positive():
    gt = np.array([ROAD, ROAD, SIDEWALK, SIDEWALK], dtype=np.uint8)
    pred = np.array([ROAD, 255, SIDEWALK, SIDEWALK], dtype=np.uint8)
    conf = confusion_matrix(gt, pred, n=19)
    assert conf.shape == (19, 20) and conf[ROAD, VOID] == 1
    s = scores(conf)
    assert s["class_iou"]["road"] == pytest.approx(0.5)  # 1 / (1 + 0 FP + 1 FN)
    assert s["class_iou"]["sidewalk"] == pytest.approx(1.0)  # void is no FP of sidewalk
    assert s["category_iou"]["flat"] == pytest.approx(3 / 4)
    assert s["global_accuracy"] == pytest.approx(3 / 4)


def test_nan_classes_excluded_from_means():
    gt = np.array([[ROAD, ROAD], [SIDEWALK, 255]], dtype=np.uint8)
    pred = np.array([[ROAD, BUILDING], [SIDEWALK, BUILDING]], dtype=np.uint8)
    s = scores(confusion_matrix(gt, pred, n=19))
    iou = s["class_iou"]
    assert iou["road"] == pytest.approx(0.5) and iou["sidewalk"] == pytest.approx(1.0)
    assert iou["building"] == 0.0  # predicted on an evaluated pixel, never in gt: IoU 0
    assert math.isnan(s["class_accuracy"]["building"])  # absent from gt: accuracy undefined
    assert sum(math.isnan(v) for v in iou.values()) == 16  # neither in gt nor predicted
    assert s["miou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert s["mean_class_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    # flat: TP 2, FN 1 (road->building); construction: TP 0, FP 1.
    assert s["category_iou"]["flat"] == pytest.approx(2 / 3)
    assert s["category_iou"]["construction"] == 0.0
    assert math.isnan(s["category_iou"]["sky"])
    assert s["category_miou"] == pytest.approx(1 / 3)


def test_category_counts_confusions_within_category():
    gt = np.array([ROAD, ROAD, SIDEWALK], dtype=np.uint8)
    pred = np.array([SIDEWALK, SIDEWALK, ROAD], dtype=np.uint8)
    s = scores(confusion_matrix(gt, pred, n=19))
    assert s["class_iou"]["road"] == 0.0 and s["category_iou"]["flat"] == 1.0


def test_confusion_matrix_accumulates_and_accepts_square():
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 19, (2, 5, 7)).astype(np.uint8) for _ in range(2))
    acc = np.zeros((19, 20), np.int64)
    confusion_matrix(a[0], b[0], n=19, out=acc)
    confusion_matrix(a[1], b[1], n=19, out=acc)
    np.testing.assert_array_equal(acc, confusion_matrix(a, b, n=19))
    sq = acc[:, :19]
    padded = np.concatenate([sq, np.zeros((19, 1), np.int64)], 1)
    assert json.dumps(scores(sq)) == json.dumps(scores(padded))  # NaN-aware comparison


def test_all_empty_gives_nan():
    s = scores(np.zeros((19, 20), np.int64))
    assert math.isnan(s["miou"]) and math.isnan(s["global_accuracy"])
    assert math.isnan(s["category_miou"])


@pytest.mark.parametrize(
    "gt, pred, match",
    [
        ([0, 19], [0, 0], "ground-truth train ids"),
        ([0, 0], [0, 30], "predicted train ids"),
        ([0, 0, 0], [0, 0], "shape"),
    ],
)
def test_confusion_matrix_rejects_bad_input(gt, pred, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(np.array(gt), np.array(pred), n=19)


def test_label_ids_to_train_ids():
    ids = np.array([[0, 1, 7, 9], [26, 29, 33, 23]], dtype=np.uint8)
    np.testing.assert_array_equal(
        metrics.label_ids_to_train_ids(ids), [[255, 255, 0, 255], [13, 255, 18, 10]]
    )
    with pytest.raises(EvaluationError, match=r"x\.png: label ids \[34, 255\]"):
        metrics.label_ids_to_train_ids(np.array([7, 34, 255], np.uint8), "x.png")
    with pytest.raises(EvaluationError, match=r"\[300\]"):
        metrics.label_ids_to_train_ids(np.array([7, 300], np.uint16), "y.png")


# --------------------------------------------------------------------------- Cityscapes layout

H, W = 48, 64
CITIES = {"aachen": [(0, 19), (3, 19)], "bonn": [(12, 7)], "zurich": [(5, 1)]}
ALL_IDS = [lab.label_id for lab in classes.LABELS]
GT_ABSENT = {31, 32}  # train, motorcycle: never in gt; train is predicted (IoU 0), motorcycle NaN


def _name(city: str, seq: int, frame: int) -> str:
    return f"{city}_{seq:06d}_{frame:06d}"


def _write(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _make_gt(rng: np.random.Generator) -> np.ndarray:
    """Blocky label-id image over all ids (void and ignored classes included)."""
    ids = [i for i in ALL_IDS if i not in GT_ABSENT]
    coarse = rng.choice(ids, size=(H // 8, W // 8)).astype(np.uint8)
    return np.kron(coarse, np.ones((8, 8), np.uint8))


def _perturb(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pred = gt.copy()
    noisy_ids = [i for i in ALL_IDS if i != 32]
    noise = rng.random(gt.shape) < 0.15  # random label noise, void ids included
    pred[noise] = rng.choice(noisy_ids, size=int(noise.sum()))
    for value in (7, 11, 21, 26, 24, 0, 1, 9, 31):  # blocks of wrong / void / ignored ids
        y, x = rng.integers(0, H - 10), rng.integers(0, W - 12)
        pred[y : y + rng.integers(3, 10), x : x + rng.integers(3, 12)] = value
    return pred


@pytest.fixture
def cityscapes_layout(tmp_path: Path) -> tuple[Path, Path]:
    """gtFine/val/{city}/*_gtFine_labelIds.png plus labelId predictions in nested folders."""
    rng = np.random.default_rng(1234)
    gt_root, pred_dir = tmp_path / "cs", tmp_path / "pred"
    for city, frames in CITIES.items():
        for seq, frame in frames:
            gt = _make_gt(rng)
            _write(gt_root / "gtFine" / "val" / city / f"{_name(city, seq, frame)}_gtFine_labelIds.png", gt)
            sub = pred_dir / ("a" if city < "m" else "b/c")
            _write(sub / f"{_name(city, seq, frame)}_leftImg8bit_pred.png", _perturb(gt, rng))
    return gt_root, pred_dir


def _cityscapes_scripts(gt_root: Path, pred_dir: Path) -> tuple[dict, list[str], list[str]]:
    """Run cityscapesScripts' evaluation as its docs do (prediction discovery by getPrediction)."""
    ev = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
    args = copy.copy(ev.args)
    args.evalInstLevelScore = False  # needs *_instanceIds.png (and calls np.in1d)
    args.evalPixelAccuracy = False  # calls np.in1d, removed in numpy 2.4
    args.JSONOutput = False
    args.quiet = True
    args.colorized = False
    args.predictionPath = str(pred_dir)
    args.predictionWalk = None
    gts = sorted(str(p) for p in (gt_root / "gtFine" / "val").glob("*/*_gtFine_labelIds.png"))
    preds = [ev.getPrediction(args, g) for g in gts]
    return ev.evaluateImgLists(preds, gts, args), gts, preds


def _close(a: float, b: float, tol: float = 1e-6) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def test_agrees_with_cityscapes_scripts(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    ref, ref_gts, ref_preds = _cityscapes_scripts(gt_root, pred_dir)
    ours = evaluate_folder(gt_root, "val", pred_dir)

    # same prediction files found
    gts = metrics.find_ground_truth(gt_root, "val")
    assert [str(p) for p in gts] == ref_gts
    assert [str(p) for p in metrics.match_predictions(gts, pred_dir)] == ref_preds
    assert ours["n_images"] == 4

    # their 34x34 label-id matrix folded to train ids equals ours
    ref_conf = np.asarray(ref["confMatrix"], dtype=np.int64)
    lut = classes.label_id_to_train_id_lut().astype(np.int64)
    folded = np.zeros((19, 20), np.int64)
    for g in range(ref_conf.shape[0]):
        for p in range(ref_conf.shape[1]):
            if lut[g] != 255:
                folded[lut[g], VOID if lut[p] == 255 else lut[p]] += ref_conf[g, p]
    np.testing.assert_array_equal(np.asarray(ours["confusion_matrix"]), folded)

    # cityscapesScripts spells names with spaces ("traffic light"): match classes by label id
    from cityscapesscripts.helpers.labels import id2label

    diffs = []
    for n in classes.CLASS_NAMES:
        theirs = ref["classScores"][id2label[classes.label(n).label_id].name]
        assert _close(ours["class_iou"][n], theirs), n
        if not math.isnan(theirs):
            diffs.append(abs(ours["class_iou"][n] - theirs))
    for c in classes.CATEGORIES:
        assert _close(ours["category_iou"][c], ref["categoryScores"][c]), c
    assert math.isnan(ref["categoryScores"]["void"])
    assert _close(ours["miou"], ref["averageScoreClasses"])
    assert _close(ours["category_miou"], ref["averageScoreCategories"])
    # the fixture exercises the corner cases it was built for
    assert ours["class_iou"]["train"] == 0.0 and math.isnan(ours["class_iou"]["motorcycle"])
    assert ours["confusion_matrix"][ROAD][VOID] > 0
    assert 0.2 < ours["miou"] < 0.95 and max(diffs) <= 1e-6


def test_cities_filter(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    res = evaluate_folder(gt_root, "val", pred_dir, cities=["bonn", "zurich"])
    assert res["n_images"] == 2
    with pytest.raises(EvaluationError, match="lindau"):
        evaluate_folder(gt_root, "val", pred_dir, cities=["lindau"])


# --------------------------------------------------------------------------- errors


def _pred_path(pred_dir: Path, city: str = "bonn", seq: int = 12, frame: int = 7) -> Path:
    return next(pred_dir.rglob(f"{_name(city, seq, frame)}*.png"))


def test_missing_prediction_names_gt(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    _pred_path(pred_dir).unlink()
    with pytest.raises(EvaluationError, match=r"no prediction for ground truth .*bonn_000012_000007_gtFine"):
        evaluate_folder(gt_root, "val", pred_dir)


def test_two_predictions_named(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    first = _pred_path(pred_dir)
    second = pred_dir / "other" / "bonn_000012_000007_color.png"
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    with pytest.raises(EvaluationError, match="2 predictions") as err:
        evaluate_folder(gt_root, "val", pred_dir)
    assert str(first) in str(err.value) and str(second) in str(err.value)


def test_size_mismatch_names_file(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    path = _pred_path(pred_dir)
    _write(path, np.full((H, W + 2), 7, np.uint8))
    with pytest.raises(EvaluationError, match=f"{path}: prediction is {H}x{W + 2}"):
        evaluate_folder(gt_root, "val", pred_dir)


@pytest.mark.parametrize("bad", [34, 255])  # not a label id; a train-id "ignore" by mistake
def test_unknown_prediction_label_names_file(cityscapes_layout, bad):
    gt_root, pred_dir = cityscapes_layout
    path = _pred_path(pred_dir)
    img = np.full((H, W), 7, np.uint8)
    img[0, 0] = bad
    _write(path, img)
    with pytest.raises(EvaluationError, match=rf"{path}: label ids \[{bad}\]"):
        evaluate_folder(gt_root, "val", pred_dir)


def test_unknown_gt_label_names_file(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    path = next(gt_root.rglob("zurich_*_gtFine_labelIds.png"))
    _write(path, np.full((H, W), 40, np.uint8))
    with pytest.raises(EvaluationError, match=f"{path}: label ids"):
        evaluate_folder(gt_root, "val", pred_dir)


def test_colour_prediction_names_file(cityscapes_layout):
    gt_root, pred_dir = cityscapes_layout
    path = _pred_path(pred_dir)
    _write(path, np.zeros((H, W, 3), np.uint8))
    with pytest.raises(ImageError, match=f"{path}: label image must be single-channel"):
        evaluate_folder(gt_root, "val", pred_dir)


def test_missing_folders(tmp_path):
    with pytest.raises(EvaluationError, match="gtFine/val"):
        evaluate_folder(tmp_path, "val", tmp_path)
    (tmp_path / "gtFine" / "val" / "x").mkdir(parents=True)
    with pytest.raises(EvaluationError, match="no ground truth"):
        evaluate_folder(tmp_path, "val", tmp_path)
    with pytest.raises(EvaluationError, match="prediction folder not found"):
        metrics.index_predictions(tmp_path / "nope")


# --------------------------------------------------------------------------- CLI


def test_cli_writes_json(cityscapes_layout, tmp_path, capsys):
    gt_root, pred_dir = cityscapes_layout
    out = tmp_path / "m" / "metrics.json"
    rc = metrics.main(["--gt-root", str(gt_root), "--split", "val", "--pred", str(pred_dir), "--out", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())  # strict JSON: NaN written as null
    ref = evaluate_folder(gt_root, "val", pred_dir)
    assert data["miou"] == pytest.approx(ref["miou"])
    assert data["class_iou"]["motorcycle"] is None
    assert data["n_images"] == 4 and data["split"] == "val"
    assert np.asarray(data["confusion_matrix"]).shape == (19, 20)
    assert "mIoU" in capsys.readouterr().out


def test_cli_error_exit_status(cityscapes_layout, tmp_path, capsys):
    gt_root, pred_dir = cityscapes_layout
    _pred_path(pred_dir).unlink()
    out = tmp_path / "metrics.json"
    rc = metrics.main(["--gt-root", str(gt_root), "--pred", str(pred_dir), "--out", str(out)])
    assert rc == 1 and not out.exists()
    assert "bonn_000012_000007" in capsys.readouterr().err


def test_add_cli_registers_evaluate(cityscapes_layout):
    import argparse

    gt_root, pred_dir = cityscapes_layout
    parser = argparse.ArgumentParser(prog="tagseg")
    metrics.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", "--gt-root", str(gt_root), "--pred", str(pred_dir)])
    assert args.split == "val" and args.func(args) == 0
