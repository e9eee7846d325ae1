"""Figures for ``snakemake --report``: ablation table, per-class IoU, quality ladder, frames.

``results/{dataset}/report/`` (rule ``report_figures``)::

    ablation.html        every variant side by side (HTML table; raw and CRF, per-class IoU)
    ablation.png         mIoU per variant, raw and CRF (bars)
    class_iou.png        per-class IoU of the default variant, raw and CRF (bars)
    quality_ladder.png   flow EPE -> heatmap mIoU -> pseudo-label mIoU -> final mIoU (datasets
                         of still images, e.g. kind voc, have no flow: no EPE panel)
    frames/{snippet}.png image | ground truth | prediction raw | prediction CRF | pseudo-label
                         (the annotated frame's graph-cut labels; unsure pixels white), a few val frames

Inputs are the JSON files the pipeline writes anyway (``metrics.json``, ``ablation.json``,
``{flow,heatmaps,pseudolabels}/quality.json``; no flow quality for still images), the
predicted labelId PNGs and the val pseudo-label shards (which the pseudo-label quality reads
too). The same figures serve every kind (cityscapes/synthcity, camvid, youtube_objects,
voc): classes and colours come from the manifest's class table. Scores are
fractions in [0, 1] in the JSON files and shown in % here. Matplotlib is imported only when
a figure is drawn. The rule's inputs are :func:`tagseg.plan.report_inputs`.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .classtable import ClassTable
from .config import section
from .h5io import atomic_path

log = logging.getLogger("tagseg.report")

FIGURES = ("ablation.html", "ablation.png", "class_iou.png", "quality_ladder.png")
"""Fixed-name outputs of :func:`make_figures` under the report folder (plus ``frames/``)."""


# --------------------------------------------------------------------------- helpers


def _read_json(path: str | os.PathLike) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not found (needed for the report)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def _pct(v: float | None) -> float:
    """Fraction -> % (NaN for None, so bars are left out)."""
    return float("nan") if v is None else 100.0 * float(v)


def _fmt(v: float | None, unit: str = "%") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{100 * v:.1f}" if unit == "%" else f"{v:.2f}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike, dpi: int = 110) -> None:
    """Write a matplotlib figure as PNG atomically and close it."""
    plt = _pyplot()
    try:
        with atomic_path(path, suffix=".tmp.png") as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)


def _bar_labels(ax: Any, bars: Any, fmt: str = "{:.1f}") -> None:
    for b in bars:
        h = b.get_height()
        if not math.isnan(h):
            ax.annotate(fmt.format(h), (b.get_x() + b.get_width() / 2, h), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 1), textcoords="offset points")


# --------------------------------------------------------------------------- ablation


def ablation_table(ablation_json: str | os.PathLike | None, metrics_json: str | os.PathLike) -> dict[str, Any]:
    """The ablation table (``tagseg.ablation.collect`` layout); from ``metrics.json`` alone
    (the default variant only) when ``ablation_json`` is None."""
    if ablation_json is not None:
        return _read_json(ablation_json)
    from .ablation import collect

    m = _read_json(metrics_json)
    name = m.get("default_variant") or m.get("variant") or "default"
    return collect({name: metrics_json}, default=name)


def ablation_html(table: Mapping[str, Any], out_path: str | os.PathLike, note: str = "") -> None:
    """Self-contained HTML: summary (mIoU raw / CRF, accuracies) and per-class IoU (CRF), in %."""
    variants = table["variants"]
    default = table.get("default_variant")
    best_crf = max((v["crf"]["miou"] for v in variants.values() if v["crf"]["miou"] is not None), default=None)
    e = html.escape
    rows = []
    for name, v in variants.items():
        mark = " <em>(default)</em>" if name == default else ""
        crf = v["crf"]["miou"]
        bold = crf is not None and crf == best_crf
        cells = [_fmt(v["raw"]["miou"]), _fmt(crf), _fmt(v["crf"]["mean_class_accuracy"]),
                 _fmt(v["crf"]["global_accuracy"]), _fmt(v["crf"]["category_miou"])]
        if bold:
            cells[1] = f"<b>{cells[1]}</b>"
        rows.append(f"<tr><td>{e(name)}{mark}</td><td>{v.get('n_images', '')}</td>"
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    names = list(variants)
    class_rows = []
    if names:
        class_names = list(variants[names[0]]["crf"].get("class_iou") or {})
        for c in class_names:
            cells = []
            for n in names:
                val = (variants[n]["crf"].get("class_iou") or {}).get(c)
                shade = "" if val is None else f' style="background: rgba(46,125,50,{0.1 + 0.6 * val:.2f})"'
                cells.append(f"<td{shade}>{_fmt(val)}</td>")
            class_rows.append(f"<tr><td>{e(c)}</td>{''.join(cells)}</tr>")
    title = f"Ablation — {e(str(table.get('dataset')))} ({e(str(table.get('split')))})"
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; font-size: 14px; margin: 1em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
th {{ background: #f0f0f0; }}
</style></head><body>
<h2>{title}</h2>
<p>Scores in % on the {e(str(table.get('split')))} split; <i>raw</i> = network argmax,
<i>CRF</i> = after the dense CRF. <code>oracle</code> is trained on ground-truth labels
(upper bound, not weakly supervised). {e(note)}</p>
<table><tr><th>variant</th><th>images</th><th>mIoU raw</th><th>mIoU CRF</th>
<th>mean class acc. CRF</th><th>global acc. CRF</th><th>category mIoU CRF</th></tr>
{chr(10).join(rows)}
</table>
<p>Per-class IoU (%, after CRF):</p>
<table><tr><th>class</th>{''.join(f'<th>{e(n)}</th>' for n in names)}</tr>
{chr(10).join(class_rows)}
</table>
</body></html>
"""
    with atomic_path(out_path) as tmp:
        tmp.write_text(doc)


def ablation_figure(table: Mapping[str, Any], out_path: str | os.PathLike) -> None:
    """Grouped bars: mIoU (%) per variant, raw and CRF; the default variant's name in bold."""
    plt = _pyplot()
    variants = table["variants"]
    names = list(variants)
    x = np.arange(len(names))
    raw = [_pct(variants[n]["raw"]["miou"]) for n in names]
    crf = [_pct(variants[n]["crf"]["miou"]) for n in names]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 1.5), 3.6))
    w = 0.38
    _bar_labels(ax, ax.bar(x - w / 2, raw, w, label="raw", color="#9ecae1"))
    _bar_labels(ax, ax.bar(x + w / 2, crf, w, label="CRF", color="#3182bd"))
    ax.set_xticks(x, names, rotation=20, ha="right")
    for t, n in zip(ax.get_xticklabels(), names):
        if n == table.get("default_variant"):
            t.set_fontweight("bold")
    ax.set_ylabel("mIoU (%)")
    ax.set_ylim(0, max([v for v in raw + crf if not math.isnan(v)] + [1.0]) * 1.18)
    ax.set_title(f"Ablation — {table.get('dataset')} {table.get('split')}")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _save(fig, out_path)


# --------------------------------------------------------------------------- per-class IoU


def class_iou_figure(metrics: Mapping[str, Any], out_path: str | os.PathLike,
                     table: ClassTable) -> None:
    """Horizontal bars of per-class IoU (%), raw and CRF, one row per class (``metrics.json``;
    labels in the colours of ``table``, the manifest's class table).

    Classes absent from both ground truth and predictions (IoU null) are marked "n/a".
    """
    plt = _pyplot()
    names = list(metrics["crf"]["class_iou"])
    raw = [_pct(metrics["raw"]["class_iou"].get(n)) for n in names]
    crf = [_pct(metrics["crf"]["class_iou"].get(n)) for n in names]
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(names) + 1.4))
    h = 0.4
    ax.barh(y - h / 2, raw, h, label=f"raw (mIoU {_fmt(metrics['raw']['miou'])})", color="#9ecae1")
    ax.barh(y + h / 2, crf, h, label=f"CRF (mIoU {_fmt(metrics['crf']['miou'])})", color="#3182bd")
    for i, (a, b) in enumerate(zip(raw, crf)):
        if math.isnan(a) and math.isnan(b):
            ax.text(1, i, "n/a", va="center", fontsize=7, color="grey")
    colours = {lab.name: np.array(lab.color) / 255 for lab in table.labels}
    ax.set_yticks(y, names)
    for t, n in zip(ax.get_yticklabels(), names):
        if n in colours:
            t.set_bbox({"facecolor": colours[n], "alpha": 0.35, "edgecolor": "none", "pad": 1})
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("IoU (%)")
    variant = metrics.get("default_variant") or metrics.get("variant")
    ax.set_title(f"Per-class IoU — {variant}, {metrics.get('dataset')} {metrics.get('split')} "
                 f"({metrics.get('n_images')} images)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.28 * len(names) + 1.4)), ncol=2,
              frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    _save(fig, out_path)


# --------------------------------------------------------------------------- quality ladder


def ladder(flow_q: Mapping[str, Any] | None, heat_q: Mapping[str, Any], pseudo_q: Mapping[str, Any],
           metrics: Mapping[str, Any], table: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The per-stage quality figures, from each stage's quality JSON.

    ``flow_q`` is None for a dataset of still images (no flow stage). Returns ``{"epe": {"all",
    "moving", "static"} (pixels, None without flow ground truth) or None without flow,
    "steps": [(label, mIoU fraction or None, note), ...], "oracle": mIoU CRF or None}``.
    """
    epe = None if flow_q is None else (flow_q.get("epe") or {})
    pv = pseudo_q.get("variants") or {}
    pseudo = pv.get("pseudolabels") or pv.get("full") or {}
    cover = pseudo.get("coverage")
    variant = metrics.get("default_variant") or metrics.get("variant") or "network"
    steps = [
        ("heatmaps\n(argmax over tags)", heat_q.get("miou"), f"{heat_q.get('frames', '?')} frames"),
        ("pseudo-labels\n(graph cut)", pseudo.get("miou"),
         "" if cover is None else f"coverage {100 * cover:.0f} %"),
        (f"{variant}\nraw", metrics["raw"].get("miou"), ""),
        (f"{variant}\n+ dense CRF", metrics["crf"].get("miou"), ""),
    ]
    oracle = None
    if table is not None and "oracle" in table.get("variants", {}):
        oracle = table["variants"]["oracle"]["crf"].get("miou")
    return {"epe": None if epe is None else {k: epe.get(k) for k in ("all", "moving", "static")},
            "steps": steps, "oracle": oracle, "flow_note": None if flow_q is None else flow_q.get("note")}


def ladder_figure(lad: Mapping[str, Any], out_path: str | os.PathLike, title: str = "") -> None:
    """Two panels: flow EPE (pixels; all / moving / static) and the mIoU (%) step by step; the
    second alone when ``lad["epe"]`` is None (still images: no flow stage)."""
    plt = _pyplot()
    if lad["epe"] is None:
        fig, a2 = plt.subplots(1, 1, figsize=(7.5, 3.8))
        a1 = None
    else:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 3]})
        keys = ("all", "moving", "static")
        epe = [float("nan") if lad["epe"].get(k) is None else float(lad["epe"][k]) for k in keys]
        _bar_labels(a1, a1.bar(keys, epe, color="#fdae6b"), "{:.2f}")
        a1.set_ylabel("end-point error (px, lower is better)")
        a1.set_title("1. optical flow (TV-L1)", fontsize=10)
        if all(math.isnan(v) for v in epe):
            a1.text(0.5, 0.5, lad.get("flow_note") or "no flow ground truth", transform=a1.transAxes,
                    ha="center", va="center", fontsize=8, wrap=True, color="grey")
            a1.set_ylim(0, 1)
        else:
            a1.set_ylim(0, max(v for v in epe if not math.isnan(v)) * 1.2)
    labels = [s[0] for s in lad["steps"]]
    vals = [_pct(s[1]) for s in lad["steps"]]
    colours = ["#a1d99b", "#74c476", "#9ecae1", "#3182bd"][: len(vals)]
    bars = a2.bar(range(len(vals)), vals, color=colours)
    _bar_labels(a2, bars)
    for i, (_, _, note) in enumerate(lad["steps"]):
        if note:
            a2.annotate(note, (i, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=7, color="#333")
    finite = [v for v in vals if not math.isnan(v)]
    top = max(finite + [1.0])
    if lad.get("oracle") is not None:
        o = _pct(lad["oracle"])
        a2.axhline(o, ls="--", color="grey", lw=1)
        a2.text(len(vals) - 0.5, o, f"oracle + CRF {o:.1f}", ha="right", va="bottom", fontsize=7, color="grey")
        top = max(top, o)
    a2.set_xticks(range(len(vals)), labels, fontsize=8)
    a2.set_ylim(0, top * 1.2)
    a2.set_ylabel("mIoU on val (%)")
    a2.set_title("2.–4. heatmaps → pseudo-labels → network" if a1 is not None else
                 "heatmaps → pseudo-labels → network (still images: no flow)", fontsize=10)
    for ax in (a1, a2):
        if ax is not None:
            ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, out_path)


# --------------------------------------------------------------------------- qualitative frames


def select_frames(snippets: Sequence[Any], n: int) -> list[Any]:
    """Up to ``n`` snippets with ground truth, evenly spread over ``snippets`` (deterministic)."""
    with_gt = [s for s in snippets if s.gt]
    if n <= 0 or not with_gt:
        return []
    idx = np.unique(np.linspace(0, len(with_gt) - 1, min(n, len(with_gt))).round().astype(int))
    return [with_gt[i] for i in idx]


def prediction_path(pred_root: str | os.PathLike, kind: str, snippet: Any, variant: str) -> Path:
    """``{pred_root}/{raw|crf}/{city}/{snippet}_{variant}_labelIds.png`` (see :mod:`tagseg.predict`)."""
    return Path(pred_root) / kind / snippet.city / f"{snippet.id}_{variant}_labelIds.png"


def _pixel_accuracy(gt_ids: np.ndarray, pred_ids: np.ndarray, table: ClassTable) -> float | None:
    g = table.label_to_train_lut()[gt_ids]
    p = table.label_to_train_lut()[pred_ids]
    valid = g != table.ignore
    return float((g[valid] == p[valid]).mean()) if valid.any() else None


def read_pseudolabel(shards: Sequence[str | os.PathLike], snippet: Any) -> np.ndarray:
    """(H, W) uint8 train ids (255 = unsure) of the annotated frame's pseudo-label, at working
    size, from the shard ``shards[snippet.shard]`` (pseudo-label shards of its split)."""
    from . import h5io
    from .pseudolabels.storage import read_labels

    if not 0 <= snippet.shard < len(shards):
        raise ValueError(f"snippet {snippet.id}: shard {snippet.shard}, but {len(shards)} "
                         "pseudo-label shards were given")
    with h5io.open_artifact(shards[snippet.shard], "pseudolabels") as f:
        offsets, labels, _ = read_labels(f, snippet.id)
    return labels[list(offsets).index(0)]


UNSURE_COLOURS = ((255, 255, 255), (255, 0, 255), (0, 255, 255))
"""Candidates for pseudo-label pixels left unsure (train id 255): the first that is no class
colour of the table (grey is CamVid's sky and VOC's car; white is no class of the shipped
tables)."""


def unsure_colour(table: ClassTable) -> tuple[int, int, int]:
    """The colour unsure pseudo-label pixels get in ``table``'s figures (:data:`UNSURE_COLOURS`)."""
    used = {tuple(int(v) for v in lab.color) for lab in table.labels}
    return next((c for c in UNSURE_COLOURS if c not in used), UNSURE_COLOURS[0])


def frame_figure(snippet: Any, pred_root: str | os.PathLike, variant: str, out_path: str | os.PathLike,
                 table: ClassTable, pseudo: np.ndarray | None = None) -> dict[str, Any]:
    """Image | ground truth | raw | CRF (| pseudo-label) for one annotated frame, with a legend.

    Predictions and ground truth are labelId PNGs of ``table`` (the manifest's class table);
    the frame is shown at ground-truth size. ``pseudo``: the frame's pseudo-label, (h, w)
    train ids of ``table`` at working size (255 unsure: :func:`unsure_colour`), resized to the ground truth
    (nearest); None leaves its panel out. Returns per-frame pixel accuracies (fractions over
    evaluated pixels; for the pseudo-label over evaluated pixels it labels) and its coverage.
    """
    from .images import read_ground_truth, read_label, read_rgb

    plt = _pyplot()
    gt = read_ground_truth(snippet.gt, table)
    h, w = gt.shape
    rgb = read_rgb(snippet.frame_path(0), (h, w))
    preds = {}
    for kind in ("raw", "crf"):
        p = prediction_path(pred_root, kind, snippet, variant)
        if not p.is_file():
            raise FileNotFoundError(f"{p}: prediction of snippet {snippet.id} not found (variant {variant})")
        img = read_label(p)
        if img.shape != gt.shape:
            raise ValueError(f"{p}: prediction {img.shape} and ground truth {snippet.gt} {gt.shape} differ in size")
        preds[kind] = img
    pal = table.label_palette()
    acc = {k: _pixel_accuracy(gt, v, table) for k, v in preds.items()}
    panels = [("image", rgb), ("ground truth", pal[gt])]
    for kind, name in (("raw", "raw"), ("crf", "+ dense CRF")):
        a = acc[kind]
        panels.append((f"{variant} {name}" + ("" if a is None else f" — {100 * a:.0f} % px"), pal[preds[kind]]))
    pseudo_ids = None
    coverage = None
    if pseudo is not None:
        import cv2

        train = np.asarray(pseudo, np.uint8)
        if train.shape != gt.shape:
            train = cv2.resize(train, (w, h), interpolation=cv2.INTER_NEAREST)
        sure = train != table.ignore
        pseudo_ids = table.train_to_label_lut()[train]
        g = table.label_to_train_lut()[gt]
        scored = sure & (g != table.ignore)
        acc["pseudo"] = float((g[scored] == train[scored]).mean()) if scored.any() else None
        coverage = float(sure.mean())
        tp = table.train_palette().copy()
        tp[table.ignore] = unsure_colour(table)
        a = acc["pseudo"]
        panels.append((f"pseudo-label ({100 * coverage:.0f} % labelled"
                       + ("" if a is None else f", {100 * a:.0f} % right") + ")", tp[train]))
    aspect = h / w
    k = len(panels)
    fig, axes = plt.subplots(1, k, figsize=(3.5 * k, 3.5 * aspect + 1.1))
    for ax, (title, im) in zip(axes, panels):
        ax.imshow(im, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    from matplotlib.patches import Patch

    present = set(np.unique(gt).tolist()) | set(np.unique(preds["raw"]).tolist()) | set(np.unique(preds["crf"]).tolist())
    if pseudo_ids is not None:
        present |= set(np.unique(pseudo_ids[train != table.ignore]).tolist())
    handles = [Patch(color=np.array(lab.color) / 255, label=lab.name)
               for lab in table.labels if lab.label_id in present and lab.train_id != table.ignore]
    if pseudo_ids is not None and coverage is not None and coverage < 1.0:
        handles.append(Patch(facecolor=np.array(unsure_colour(table)) / 255, edgecolor="grey",
                             label="unsure (pseudo-label)"))
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10), fontsize=7, frameon=False)
    fig.suptitle(snippet.id, fontsize=10)
    fig.tight_layout(rect=(0, 0.08 if handles else 0, 1, 1))
    _save(fig, out_path)
    out: dict[str, Any] = {"snippet": snippet.id, "pixel_accuracy": acc}
    if coverage is not None:
        out["pseudo_coverage"] = coverage
    return out


# --------------------------------------------------------------------------- all figures


def make_figures(
    manifest: str | os.PathLike,
    metrics: str | os.PathLike,
    flow_quality: str | os.PathLike | None,
    heatmaps_quality: str | os.PathLike,
    pseudolabels_quality: str | os.PathLike,
    pred_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    frames_dir: str | os.PathLike | None = None,
    ablation: str | os.PathLike | None = None,
    cfg: Mapping[str, Any] | None = None,
    pseudolabels: Sequence[str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """Write every report figure (:data:`FIGURES` under ``out_dir``, frames under ``frames_dir``).

    ``flow_quality`` is None for datasets of still images (no flow stage: the ladder has no
    EPE panel); ``pred_root`` is ``results/{dataset}/predict/{variant}`` of the default
    variant; ``ablation`` the ``ablation.json`` (None: the table holds the default variant
    only); ``cfg`` the config ``report`` section (keys left out: the schema's defaults);
    ``pseudolabels`` the pseudo-label shards of the scored split in shard order (None: the
    frames have no pseudo-label panel). Returns a summary (written files, frame accuracies).
    """
    from .datasets.manifest import load

    cfg = section("report", cfg)
    out = Path(out_dir)
    frames_out = Path(frames_dir) if frames_dir is not None else out / "frames"
    m = _read_json(metrics)
    variant = m.get("default_variant") or m.get("variant")
    if not variant:
        raise ValueError(f"{metrics}: names no variant (keys 'default_variant' / 'variant')")
    table = ablation_table(ablation, metrics)
    note = "" if ablation is not None else ("Ablation off (config report.ablation: false): "
                                            "default variant only.")
    ablation_html(table, out / "ablation.html", note)
    ablation_figure(table, out / "ablation.png")
    man = load(manifest)
    class_iou_figure(m, out / "class_iou.png", man.table)
    flow_q = None if flow_quality is None else _read_json(flow_quality)
    lad = ladder(flow_q, _read_json(heatmaps_quality), _read_json(pseudolabels_quality), m, table)
    ladder_figure(lad, out / "quality_ladder.png",
                  title=f"Quality per stage — {m.get('dataset')} {m.get('split')}")
    split = m.get("split") or "val"
    frames_out.mkdir(parents=True, exist_ok=True)
    shown = []
    for s in select_frames(man.split(split), int(cfg["frames"])):
        pseudo = None if pseudolabels is None else read_pseudolabel(pseudolabels, s)
        shown.append(frame_figure(s, pred_root, variant, frames_out / f"{s.id}.png", man.table, pseudo))
    if int(cfg["frames"]) > 0 and not shown:
        log.warning("no %s snippet with ground truth in %s: no qualitative frames", split, manifest)
    log.info("report figures for %s (%s): %s and %d frames", m.get("dataset"), variant,
             ", ".join(FIGURES), len(shown))
    return {"variant": variant, "figures": [str(out / f) for f in FIGURES], "frames": shown}
