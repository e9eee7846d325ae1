"""Cityscapes pixel-level evaluation: confusion matrix, IoU, accuracies, ``tagseg evaluate``.

Semantics follow cityscapesScripts' ``evalPixelLevelSemanticLabeling``:

- ground-truth pixels whose class is not evaluated (train id 255: void, parking, caravan, …)
  are ignored entirely;
- a prediction that is not one of the 19 evaluation classes (train id 255, e.g. label id 0
  "unlabeled" or 1 "ego vehicle") is no false positive for any class but **is** a miss
  (false negative) for the ground-truth class under it. The confusion matrix therefore has
  one extra column, :data:`VOID`, counting those predictions: shape ``(19, 20)``;
- class IoU = TP / (TP + FP + FN); a class absent from the ground truth and never predicted
  on evaluated pixels gets NaN and is left out of the mean (cityscapesScripts'
  ``averageScoreClasses``);
- category IoU (flat, construction, object, nature, sky, human, vehicle) counts a pixel as a
  true positive when ground truth and prediction are classes of the same category, exactly
  like cityscapesScripts' ``getIouScoreForCategory``.

cityscapesScripts reports neither accuracy, so they are defined the usual way here:
class accuracy = TP / (TP + FN) (recall; NaN for classes absent from the ground truth),
mean class accuracy = mean of the non-NaN class accuracies, global accuracy = sum of TP /
number of evaluated ground-truth pixels (void predictions count as wrong).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .classtable import IGNORE, ClassTable
from .datasets.cityscapes import TABLE as CITYSCAPES
from .images import ImageError, read_label_ids

VOID = CITYSCAPES.num_classes
"""Column of the Cityscapes confusion matrix (19) counting predictions that are not an
evaluation class; for a table of C classes that column is C (the ``n`` every caller passes)."""

GT_SUFFIX = "_gtFine_labelIds.png"
_GT_NAME = re.compile(r"^([^_]+)_(\d{6})_(\d{6})" + re.escape(GT_SUFFIX) + r"$")
_PRED_KEY = re.compile(r"^([^_]+_\d{6}_\d{6})")


class EvaluationError(ValueError):
    """Ground truth or predictions are missing, ambiguous, mis-sized or hold unknown label ids."""


# --------------------------------------------------------------------------- confusion matrix


def confusion_matrix(
    gt_train_ids: np.ndarray,
    pred_train_ids: np.ndarray,
    n: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Count (ground truth, prediction) pairs of one image; returns ``(n, n + 1)`` int64.

    ``n``: the number of evaluation classes of the caller's class table (no default: each
    kind passes its own, ``manifest.table.num_classes``; Cityscapes 19, CamVid 11, VOC 21).
    ``gt_train_ids`` and ``pred_train_ids`` are equal-shaped integer arrays of train ids
    (0..n-1, or 255). Row = ground-truth class, column = predicted class; column ``n``
    (:data:`VOID` for Cityscapes' n = 19) counts predictions of 255, i.e. misses that are no false
    positive of any class. Ground-truth pixels of 255 are not counted. Other values raise
    ``ValueError``. When ``out`` (an ``(n, n + 1)`` int64 array) is given the counts are
    added to it in place and it is returned, which accumulates over images.
    """
    gt = np.asarray(gt_train_ids)
    pred = np.asarray(pred_train_ids)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth shape {gt.shape} differs from prediction shape {pred.shape}")
    if not (np.issubdtype(gt.dtype, np.integer) and np.issubdtype(pred.dtype, np.integer)):
        raise ValueError(f"train ids must be integers, got {gt.dtype} and {pred.dtype}")
    g = gt.ravel().astype(np.int64)
    p = pred.ravel().astype(np.int64)
    keep = g != IGNORE
    g, p = g[keep], p[keep]
    if g.size and (g.min() < 0 or g.max() >= n):
        bad = np.unique(g[(g < 0) | (g >= n)])
        raise ValueError(f"ground-truth train ids outside 0..{n - 1} and {IGNORE}: {bad.tolist()}")
    p[p == IGNORE] = n
    if p.size and (p.min() < 0 or p.max() > n):
        bad = np.unique(p[(p < 0) | (p > n)])
        raise ValueError(f"predicted train ids outside 0..{n - 1} and {IGNORE}: {bad.tolist()}")
    counts = np.bincount(g * (n + 1) + p, minlength=n * (n + 1)).reshape(n, n + 1)
    if out is None:
        return counts.astype(np.int64)
    if out.shape != (n, n + 1):
        raise ValueError(f"out has shape {out.shape}, expected {(n, n + 1)}")
    out += counts
    return out


# --------------------------------------------------------------------------- scores


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _nanmean(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(sum(vals) / len(vals)) if vals else float("nan")


def scores(
    conf: np.ndarray,
    class_names: Sequence[str] | None = None,
    categories: Mapping[str, Sequence[int]] | None = None,
    table: ClassTable | None = None,
) -> dict[str, Any]:
    """Scores of a confusion matrix from :func:`confusion_matrix` (``(n, n+1)``; ``(n, n)`` is
    read as having no void predictions).

    Returns ``class_iou`` / ``class_accuracy`` ({name: float, NaN when undefined}), ``miou``,
    ``mean_class_accuracy``, ``global_accuracy``, ``category_iou`` ({category: float}) and
    ``category_miou``; all are fractions in [0, 1]. ``class_names`` default to the classes of
    ``table`` (default: Cityscapes), ``categories`` (name -> class indices) to its categories,
    when it has n classes; else to "0".."n-1" and none.
    """
    table = table or CITYSCAPES
    conf = np.asarray(conf, dtype=np.int64)
    n = conf.shape[0]
    if conf.ndim != 2 or conf.shape[1] not in (n, n + 1):
        raise ValueError(f"confusion matrix must be (n, n+1) or (n, n), got {conf.shape}")
    if conf.shape[1] == n:
        conf = np.concatenate([conf, np.zeros((n, 1), np.int64)], axis=1)
    if class_names is None:
        class_names = table.names if n == table.num_classes else [str(i) for i in range(n)]
    if len(class_names) != n:
        raise ValueError(f"{len(class_names)} class names for a {n}-class confusion matrix")
    if categories is None:
        categories = table.categories if n == table.num_classes else {}

    cls = conf[:, :n]
    tp = np.diag(cls)
    gt_total = conf.sum(axis=1)  # TP + FN (FN includes void predictions)
    pred_total = cls.sum(axis=0)  # TP + FP (only over evaluated ground-truth pixels)
    iou = _ratio(tp, gt_total + pred_total - tp)
    acc = _ratio(tp, gt_total)
    total = conf.sum()

    cat_iou: dict[str, float] = {}
    for cat, idx in categories.items():
        idx = list(idx)
        inside = np.zeros(n, dtype=bool)
        inside[idx] = True
        cat_tp = cls[np.ix_(inside, inside)].sum()
        cat_fn = conf[inside].sum() - cat_tp
        cat_fp = cls[np.ix_(~inside, inside)].sum()
        den = cat_tp + cat_fn + cat_fp
        cat_iou[cat] = float(cat_tp / den) if den > 0 else float("nan")

    class_iou = {name: float(v) for name, v in zip(class_names, iou)}
    class_acc = {name: float(v) for name, v in zip(class_names, acc)}
    return {
        "class_iou": class_iou,
        "miou": _nanmean(class_iou.values()),
        "class_accuracy": class_acc,
        "mean_class_accuracy": _nanmean(class_acc.values()),
        "global_accuracy": float(tp.sum() / total) if total > 0 else float("nan"),
        "category_iou": cat_iou,
        "category_miou": _nanmean(cat_iou.values()),
    }


# --------------------------------------------------------------------------- label-id images

def label_ids_to_train_ids(ids: np.ndarray, source: str = "label image",
                           table: ClassTable | None = None) -> np.ndarray:
    """Map (H, W) label ids of ``table`` (default: Cityscapes) to uint8 train ids (its
    ``ignore``, 255, for non-evaluated classes).

    Ids outside the table raise :class:`EvaluationError` naming ``source``.
    """
    table = table or CITYSCAPES
    known = np.zeros(256, dtype=bool)
    known[sorted(table.known_label_ids())] = True
    ids = np.asarray(ids)
    flat = ids.ravel()
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) > 255):
        unknown = np.unique(flat[(flat < 0) | (flat > 255) | ~known[np.clip(flat, 0, 255)]])
    else:
        counts = np.bincount(flat.astype(np.intp), minlength=256)
        unknown = np.flatnonzero((counts > 0) & ~known)
    if unknown.size:
        lo, hi = min(table.known_label_ids()), max(table.known_label_ids())
        raise EvaluationError(
            f"{source}: label ids {unknown.tolist()} are not in the {table_title(table)} label "
            f"table (expected labelIds {lo}..{hi}, not train ids or colours)"
        )
    return table.label_to_train_lut()[ids.astype(np.intp)]


def table_title(table: ClassTable) -> str:
    """``Cityscapes`` for the table called ``cityscapes`` (the name as messages show it)."""
    return table.name[:1].upper() + table.name[1:]


# --------------------------------------------------------------------------- folders


def find_ground_truth(
    gt_root: str | os.PathLike, split: str, cities: Sequence[str] | None = None
) -> list[Path]:
    """Sorted ``gtFine/{split}/{city}/*_gtFine_labelIds.png`` under ``gt_root``."""
    base = Path(gt_root) / "gtFine" / split
    if not base.is_dir():
        raise EvaluationError(f"{base}: ground-truth folder not found (gt_root/gtFine/{split})")
    if cities is None:
        files = sorted(base.glob(f"*/*{GT_SUFFIX}"))
    else:
        files = []
        for city in cities:
            city_files = sorted((base / city).glob(f"*{GT_SUFFIX}"))
            if not city_files:
                raise EvaluationError(f"{base / city}: no *{GT_SUFFIX} files for city {city!r}")
            files += city_files
    if not files:
        raise EvaluationError(f"{base}: no ground truth matching */*{GT_SUFFIX}")
    for f in files:
        if not _GT_NAME.match(f.name):
            raise EvaluationError(f"{f}: not a Cityscapes name {{city}}_{{seq:06d}}_{{frame:06d}}{GT_SUFFIX}")
    return files


def index_predictions(pred_dir: str | os.PathLike) -> dict[str, list[Path]]:
    """Map ``{city}_{seq:06d}_{frame:06d}`` to the PNGs under ``pred_dir`` (recursively) whose
    file name starts with it — cityscapesScripts' pattern ``{city}_{seq}_{frame}*.png``."""
    root = Path(pred_dir)
    if not root.is_dir():
        raise EvaluationError(f"{root}: prediction folder not found")
    index: dict[str, list[Path]] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.endswith(".png"):
                continue
            m = _PRED_KEY.match(name)
            if m:
                index.setdefault(m.group(1), []).append(Path(dirpath) / name)
    for paths in index.values():
        paths.sort()
    return index


def match_predictions(gt_files: Sequence[Path], pred_dir: str | os.PathLike) -> list[Path]:
    """The one prediction for each ground-truth file; none or several raise :class:`EvaluationError`."""
    index = index_predictions(pred_dir)
    preds = []
    for gt in gt_files:
        key = gt.name[: -len(GT_SUFFIX)]
        found = index.get(key, [])
        if not found:
            raise EvaluationError(f"no prediction for ground truth {gt}: no {key}*.png under {pred_dir}")
        if len(found) > 1:
            raise EvaluationError(
                f"{len(found)} predictions for ground truth {gt}: " + ", ".join(map(str, found))
            )
        preds.append(found[0])
    return preds


PRED_IDS = ("auto", "label", "train")
"""What prediction PNGs hold: ``label`` ids (cityscapesScripts' convention), ``train`` ids
(0..18, 255), or ``auto``: label ids, refused when they read better as train ids."""


def _read_pair(gt_path: Path, pred_path: Path) -> tuple[np.ndarray, np.ndarray]:
    gt = read_label_ids(gt_path)
    pred = read_label_ids(pred_path)
    if pred.shape != gt.shape:
        raise EvaluationError(
            f"{pred_path}: prediction is {pred.shape[0]}x{pred.shape[1]} (HxW) but ground truth "
            f"{gt_path} is {gt.shape[0]}x{gt.shape[1]}"
        )
    return gt, pred


def _train_range(ids: np.ndarray, n: int) -> bool:
    """True when every value is a train id (0..n-1, ``n`` classes) or 255."""
    counts = np.bincount(np.asarray(ids).ravel().astype(np.intp), minlength=256)
    return not counts[n:IGNORE].any() and counts.size == 256


def _pred_train_ids(pred: np.ndarray, pred_path: Path, pred_ids: str,
                    table: ClassTable = CITYSCAPES) -> np.ndarray:
    """Train ids of a prediction read as ``pred_ids`` (see :data:`PRED_IDS`)."""
    n = table.num_classes
    if pred_ids == "train":
        if not _train_range(pred, n):
            bad = sorted(set(np.unique(pred).tolist()) - {*range(n), IGNORE})
            raise EvaluationError(f"{pred_path}: values {bad} are not train ids (0..{n - 1}, 255): "
                                  "drop --train-ids for labelId PNGs")
        return pred.astype(np.uint8)
    try:
        return label_ids_to_train_ids(pred, str(pred_path), table)
    except EvaluationError as e:
        if pred_ids == "auto" and _train_range(pred, n):
            raise EvaluationError(f"{e}; it holds only 0..{n - 1} and 255, i.e. train ids: write "
                                  "labelId PNGs, or pass --train-ids to evaluate train ids") from None
        raise


def _global_accuracy(conf: np.ndarray) -> float:
    total = conf.sum()
    return float(np.trace(conf[:, : conf.shape[0]]) / total) if total else 0.0


def evaluate_pair(gt_path: Path, pred_path: Path, out: np.ndarray | None = None,
                  pred_ids: str = "label", table: ClassTable | None = None) -> np.ndarray:
    """Confusion matrix ``(C, C + 1)`` (Cityscapes: ``(19, 20)``) of one prediction (label ids,
    or train ids when ``pred_ids`` is "train") against its labelId ground truth; ``table``
    (default: Cityscapes) maps label ids to its C train ids."""
    table = table or CITYSCAPES
    gt, pred = _read_pair(gt_path, pred_path)
    return confusion_matrix(
        label_ids_to_train_ids(gt, str(gt_path), table),
        _pred_train_ids(pred, pred_path, pred_ids, table),
        n=table.num_classes,
        out=out,
    )


def evaluate_folder(
    gt_root: str | os.PathLike,
    split: str,
    pred_dir: str | os.PathLike,
    cities: Sequence[str] | None = None,
    pred_ids: str = "auto",
    table: ClassTable | None = None,
) -> dict[str, Any]:
    """Evaluate PNG predictions under ``pred_dir`` against Cityscapes-layout ground truth.

    ``table`` (default: Cityscapes; stages pass their manifest's) maps label ids to its C
    evaluation classes and names the categories. Predictions hold label ids (``pred_ids``
    "label" or "auto") or train ids ("train"). With "auto", predictions that hold only
    0..C-1 (and 255) and score a higher pixel accuracy read as train ids than as label ids
    raise :class:`EvaluationError` (train ids written where label ids belong would otherwise
    score near 0 without a word).

    Returns ``split``, ``n_images``, the :func:`scores` keys, and ``confusion_matrix`` (list of
    C rows = ground-truth classes, C + 1 columns = predicted classes then ``void``; pixels),
    with its ``confusion_rows`` / ``confusion_columns`` names.
    """
    if pred_ids not in PRED_IDS:
        raise ValueError(f"pred_ids must be one of {PRED_IDS}, got {pred_ids!r}")
    table = table or CITYSCAPES
    n = table.num_classes
    gt_files = find_ground_truth(gt_root, split, cities)
    pred_files = match_predictions(gt_files, pred_dir)
    conf = np.zeros((n, n + 1), dtype=np.int64)
    as_train = conf.copy() if pred_ids == "auto" else None  # the same predictions read as train ids
    for gt_path, pred_path in zip(gt_files, pred_files):
        gt, pred = _read_pair(gt_path, pred_path)
        gt_train = label_ids_to_train_ids(gt, str(gt_path), table)
        if as_train is not None:
            as_train = (confusion_matrix(gt_train, pred, n=n, out=as_train)
                        if _train_range(pred, n) else None)
        confusion_matrix(gt_train, _pred_train_ids(pred, pred_path, pred_ids, table), n=n, out=conf)
    if as_train is not None and _global_accuracy(as_train) > _global_accuracy(conf):
        raise EvaluationError(
            f"{pred_dir}: predictions look like train ids (0..{n - 1}), not label ids: pixel "
            f"accuracy {_global_accuracy(as_train):.3f} read as train ids vs "
            f"{_global_accuracy(conf):.3f} as label ids; write labelId PNGs, or pass --train-ids "
            "(--label-ids skips this check)")
    return {
        "split": split,
        "gt_root": str(gt_root),
        "pred_dir": str(pred_dir),
        "pred_ids": "train" if pred_ids == "train" else "label",
        "n_images": len(gt_files),
        **scores(conf, table=table),
        "confusion_rows": list(table.names),
        "confusion_columns": [*table.names, "void"],
        "confusion_matrix": conf.tolist(),
    }


# --------------------------------------------------------------------------- CLI


CLI_DESCRIPTION = (
    "Score PNG predictions against Cityscapes ground truth "
    "(GT_ROOT/gtFine/SPLIT/{city}/*_gtFine_labelIds.png) as cityscapesScripts' "
    "evalPixelLevelSemanticLabeling does: class and category IoU, accuracies, confusion matrix. "
    "Predictions hold label ids unless --train-ids; label-id predictions that score better read "
    "as train ids are refused (train ids evaluated as label ids score near 0).")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gt-root", required=True, help="Cityscapes root holding gtFine/{split}/{city}/")
    p.add_argument("--split", default="val", help="ground-truth split (default: val)")
    p.add_argument("--pred", required=True,
                   help="folder of PNG predictions, searched recursively; one per ground-truth "
                        "image, named {city}_{seq:06d}_{frame:06d}*.png")
    p.add_argument("--out", help="write the metrics as JSON here (NaN scores as null)")
    p.add_argument("--cities", nargs="+", help="evaluate only these cities")
    ids = p.add_mutually_exclusive_group()
    ids.add_argument("--train-ids", dest="pred_ids", action="store_const", const="train",
                     help="the PNGs hold train ids (0..18, 255 = none) instead of label ids")
    ids.add_argument("--label-ids", dest="pred_ids", action="store_const", const="label",
                     help="the PNGs hold label ids (the default), without the check that they "
                          "do not read better as train ids")
    p.set_defaults(pred_ids="auto")


def _run(args: argparse.Namespace) -> int:
    from .h5io import write_json

    try:
        res = evaluate_folder(args.gt_root, args.split, args.pred, args.cities, args.pred_ids)
    except (EvaluationError, ImageError) as e:
        print(f"tagseg evaluate: error: {e}", file=sys.stderr)
        return 1
    if args.out:
        write_json(args.out, res)
    print(f"{res['n_images']} images ({res['split']})")
    for name, v in res["class_iou"].items():
        print(f"  {name:<14} IoU {v:.4f}")
    print(f"mIoU {res['miou']:.4f}  category mIoU {res['category_miou']:.4f}  "
          f"mean class acc {res['mean_class_accuracy']:.4f}  global acc {res['global_accuracy']:.4f}")
    return 0


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``tagseg evaluate`` on an ``argparse`` subparsers object; ``func(args) -> int``."""
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a folder of labelId predictions (Cityscapes semantics)",
        description=CLI_DESCRIPTION,
        epilog="example: tagseg evaluate --gt-root data/cityscapes --split val --pred preds/ "
               "--out metrics.json",
    )
    _add_arguments(p)
    p.set_defaults(func=_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``tagseg evaluate --gt-root ROOT --split val --pred DIR --out metrics.json``; exit status."""
    p = argparse.ArgumentParser(prog="tagseg evaluate", description=CLI_DESCRIPTION)
    _add_arguments(p)
    return _run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
