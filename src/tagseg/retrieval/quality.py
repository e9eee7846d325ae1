"""``retrieval/quality.json``: precision and recall of each filter against rendered truth.

- thumbnail filter: a candidate is positive when its video holds the class (any relevant
  frame); predicted positive when its thumbnail was kept;
- key-frame filter: a decoded key frame is positive when its frame is relevant (class covers
  >= ``relevant_fraction``); predicted positive when kept;
- relevant-run selection: a frame of an extracted ±2 s window is positive when relevant;
  predicted positive when it lies in a selected run (a clip).

Counts are micro-averaged over classes; ``per_class`` holds the same per class. Error
counts by stage and reason show how bad input was handled.

``ranking`` measures the scorer apart from the thresholds: the ROC AUC (scikit-learn) of the
thumbnail scores against what each thumbnail shows (``thumb_relevant``) and against whether
its video holds the class, and of the key-frame scores against frame relevance (key frames
of downloaded videos only). 0.5 is chance; None when one side is empty.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sklearn.metrics import roc_auc_score

from ..h5io import write_json


def _pr(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {"precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None, "tp": tp, "fp": fp, "fn": fn}


def _frame_relevant(truth: dict[str, Any], vid: str, t: float) -> bool:
    v = truth["videos"][vid]
    i = min(len(v["coverage"]) - 1, max(0, int(round(t * truth["fps"]))))
    return v["coverage"][i] >= truth["relevant_fraction"]


def class_counts(truth: dict[str, Any], recs: dict[str, dict[str, Any]]) -> dict[str, Counter]:
    """Confusion counts of the three filters for one class from its stage records."""
    out = {k: Counter() for k in ("thumbnails", "keyframes", "runs")}
    th = recs["thumbnails"]
    for c in th["kept"]:
        if c["id"] in truth["videos"]:
            out["thumbnails"]["tp" if truth["videos"][c["id"]]["relevant"] else "fp"] += 1
    for c in th["rejected"]:
        if c["id"] in truth["videos"] and truth["videos"][c["id"]]["relevant"]:
            out["thumbnails"]["fn"] += 1
    for v in recs["keyframes"]["videos"]:
        kept = set(v["kept"])
        for t in v["times"]:
            rel, pred = _frame_relevant(truth, v["id"], t), t in kept
            key = "tp" if rel and pred else "fp" if pred else "fn" if rel else "tn"
            out["keyframes"][key] += 1
    for w in recs["clips"]["windows"]:
        for t, sel in zip(w["times"], w["selected"]):
            rel = _frame_relevant(truth, w["video"], t)
            key = "tp" if rel and sel else "fp" if sel else "fn" if rel else "tn"
            out["runs"][key] += 1
    return out


RANKINGS = ("thumbnail", "video", "keyframe")
"""What ``ranking`` scores: thumbnails (against what they show / their video), key frames."""


def class_scores(truth: dict[str, Any], recs: dict[str, dict[str, Any]]) -> dict[str, tuple[list, list]]:
    """(labels, scores) of the scorer for one class: ``thumbnail`` (label: the thumbnail shows
    the class), ``video`` (thumbnail score; label: the video holds it), ``keyframe``."""
    out: dict[str, tuple[list, list]] = {k: ([], []) for k in RANKINGS}
    th = recs["thumbnails"]
    for c in th["kept"] + th["rejected"]:
        v = truth["videos"].get(c["id"])
        if v is None:
            continue
        for key, label in (("thumbnail", v.get("thumb_relevant")), ("video", v["relevant"])):
            if label is not None:
                out[key][0].append(bool(label))
                out[key][1].append(float(c["score"]))
    for v in recs["keyframes"]["videos"]:
        for t, sc in zip(v["times"], v.get("scores", [])):
            out["keyframe"][0].append(_frame_relevant(truth, v["id"], t))
            out["keyframe"][1].append(float(sc))
    return out


def _auc(labels: list, scores: list) -> dict[str, Any]:
    pos = int(sum(labels))
    auc = float(roc_auc_score(labels, scores)) if 0 < pos < len(labels) else None
    return {"auc": auc, "positives": pos, "negatives": len(labels) - pos}


def quality(truth: dict[str, Any], per_class: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """``per_class[cls][stage]`` = stage records (search, thumbnails, download, keyframes, clips)."""
    total = {k: Counter() for k in ("thumbnails", "keyframes", "runs")}
    res: dict[str, Any] = {"per_class": {}}
    errors: dict[str, Counter] = {}
    pooled: dict[str, tuple[list, list]] = {k: ([], []) for k in RANKINGS}
    for cname, recs in per_class.items():
        cc = class_counts(truth, recs)
        res["per_class"][cname] = {k: _pr(c["tp"], c["fp"], c["fn"]) for k, c in cc.items()}
        cs = class_scores(truth, recs)
        res["per_class"][cname]["ranking"] = {k: _auc(*v) for k, v in cs.items()}
        for k, (lab, sc) in cs.items():
            pooled[k][0].extend(lab)
            pooled[k][1].extend(sc)
        res["per_class"][cname]["clips"] = len(recs["clips"]["clips"])
        res["per_class"][cname]["clip_frames"] = sum(c["frames"] for c in recs["clips"]["clips"])
        for k in total:
            total[k].update(cc[k])
        for stage, rec in recs.items():
            for e in rec.get("errors", []):
                errors.setdefault(stage, Counter())[e["reason"]] += 1
    for k, c in total.items():
        res[k] = _pr(c["tp"], c["fp"], c["fn"])
    res["ranking"] = {k: _auc(*v) for k, v in pooled.items()}
    res["clips"] = sum(v["clips"] for v in res["per_class"].values())
    res["clip_frames"] = sum(v["clip_frames"] for v in res["per_class"].values())
    res["videos_downloaded"] = sum(len(r["download"]["downloaded"]) for r in per_class.values())
    res["errors"] = {s: dict(c) for s, c in errors.items()}
    res["truth"] = {"relevant_fraction": truth["relevant_fraction"], "fps": truth["fps"]}
    return {k: res[k] for k in ("thumbnails", "keyframes", "runs", "ranking", "clips", "clip_frames",
                                 "videos_downloaded", "errors", "truth", "per_class")}


def write_quality(out_json: str, truth_json: str, stage_jsons: dict[str, dict[str, str]]) -> dict[str, Any]:
    """:func:`quality` of the records against the truth, written as JSON to ``out_json``;
    ``stage_jsons[cls][stage]`` = path of that stage's JSON record."""
    truth = json.loads(Path(truth_json).read_text())
    recs = {c: {s: json.loads(Path(p).read_text()) for s, p in d.items()} for c, d in stage_jsons.items()}
    q = quality(truth, recs)
    write_json(out_json, q)
    return q


def summary(q: dict[str, Any]) -> str:
    def f(x):
        return "n/a" if x is None else f"{x:.3f}"
    pr = [f"{k}: P={f(q[k]['precision'])} R={f(q[k]['recall'])}" for k in ("thumbnails", "keyframes", "runs")]
    auc = [f"AUC {k} {f(v['auc'])}" for k, v in q.get("ranking", {}).items()]
    return "; ".join(pr + auc)


__all__ = ["quality", "write_quality", "summary", "class_counts"]
