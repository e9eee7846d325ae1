"""Side-by-side table of every trained variant (Saleh et al. Table 2 layout, plus CRF and oracle)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .h5io import atomic_path, write_json

SUMMARY_KEYS = ("miou", "mean_class_accuracy", "global_accuracy", "category_miou")


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * float(v):.1f}"


def collect(metric_files: Mapping[str, str | os.PathLike], default: str | None = None) -> dict[str, Any]:
    """Read per-variant metrics (from :func:`tagseg.predict.evaluate_variant`) into one dict::

        {"dataset", "split", "default_variant", "variants": {name: {"n_images", "raw": {...}, "crf": {...}}}}

    Each block holds the summary scores and the per-class IoU.
    """
    out: dict[str, Any] = {"dataset": None, "split": None, "default_variant": default, "variants": {}}
    for name, path in metric_files.items():
        m = json.loads(Path(path).read_text())
        out["dataset"] = out["dataset"] or m.get("dataset")
        out["split"] = out["split"] or m.get("split")
        out["variants"][name] = {"n_images": m.get("n_images"),
                                 **{kind: {**{k: m[kind].get(k) for k in SUMMARY_KEYS},
                                           "class_iou": m[kind].get("class_iou")}
                                    for kind in ("raw", "crf")}}
    return out


def markdown(table: Mapping[str, Any]) -> str:
    """Markdown: one summary table (raw and CRF) and one per-class IoU table (CRF), in %."""
    lines = [f"# Ablation — {table['dataset']} ({table['split']})", "",
             "Scores in % on the validation split; *raw* = network argmax, *crf* = after the dense CRF. "
             "`oracle` is trained on ground-truth labels (upper bound, not weakly supervised).", "",
             "| variant | mIoU raw | mIoU crf | mean class acc. crf | global acc. crf | category mIoU crf |",
             "|---|---|---|---|---|---|"]
    for name, v in table["variants"].items():
        mark = " (default)" if name == table.get("default_variant") else ""
        lines.append(f"| {name}{mark} | {_pct(v['raw']['miou'])} | {_pct(v['crf']['miou'])} | "
                     f"{_pct(v['crf']['mean_class_accuracy'])} | {_pct(v['crf']['global_accuracy'])} | "
                     f"{_pct(v['crf']['category_miou'])} |")
    names = list(table["variants"])
    if names:
        classes = list(table["variants"][names[0]]["crf"]["class_iou"] or {})
        lines += ["", "Per-class IoU (%, after CRF):", "",
                  "| class | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for c in classes:
            lines.append(f"| {c} | " + " | ".join(_pct(table["variants"][n]["crf"]["class_iou"].get(c))
                                                  for n in names) + " |")
    return "\n".join(lines) + "\n"


def _write(table: dict[str, Any], md: str, json_path: str | os.PathLike,
           md_path: str | os.PathLike) -> dict[str, Any]:
    """``table`` as JSON and ``md`` as Markdown, each written atomically; returns ``table``."""
    write_json(json_path, table)
    with atomic_path(md_path) as tmp:
        tmp.write_text(md)
    return table


def write(metric_files: Mapping[str, str | os.PathLike], json_path: str | os.PathLike,
          md_path: str | os.PathLike, default: str | None = None) -> dict[str, Any]:
    table = collect(metric_files, default)
    return _write(table, markdown(table), json_path, md_path)


def seeds_table(runs: Sequence[tuple[str, int, str | os.PathLike]],
                default: str | None = None) -> dict[str, Any]:
    """The ablation over training seeds from per-run metrics (``evaluate/{variant}-seed{k}.json``)::

        {"dataset", "split", "default_variant", "seeds": [k...],
         "variants": {v: {"seeds": {k: {"raw": miou, "crf": miou}}, "mean": {"raw", "crf"}}},
         "default_share_of_oracle": {"raw", "crf"} | None}

    mIoU as fractions; the share is the default variant's mean over the oracle's mean (None
    unless both were trained).
    """
    out: dict[str, Any] = {"dataset": None, "split": None, "default_variant": default,
                           "seeds": [], "variants": {}}
    for variant, seed, path in runs:
        m = json.loads(Path(path).read_text())
        out["dataset"] = out["dataset"] or m.get("dataset")
        out["split"] = out["split"] or m.get("split")
        if int(seed) not in out["seeds"]:
            out["seeds"].append(int(seed))
        row = out["variants"].setdefault(variant, {"seeds": {}})
        row["seeds"][str(int(seed))] = {k: m[k]["miou"] for k in ("raw", "crf")}
    for row in out["variants"].values():
        row["mean"] = {k: _mean([r[k] for r in row["seeds"].values()]) for k in ("raw", "crf")}
    v = out["variants"]
    share = None
    if default in v and "oracle" in v:
        share = {k: (v[default]["mean"][k] / v["oracle"]["mean"][k]
                     if v[default]["mean"][k] is not None and v["oracle"]["mean"][k] else None)
                 for k in ("raw", "crf")}
    out["default_share_of_oracle"] = share
    return out


def _mean(xs: Sequence[Any]) -> float | None:
    xs = [float(x) for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def seeds_markdown(table: Mapping[str, Any]) -> str:
    """Markdown: mIoU % raw / after the CRF per variant and training seed, the mean, and the
    default variant's share of the oracle."""
    seeds = [str(k) for k in table["seeds"]]
    lines = [f"# Ablation over training seeds — {table['dataset']} ({table['split']})", "",
             "mIoU in % on the validation split, raw / after the dense CRF.", "",
             "| variant | " + " | ".join(f"seed {k}" for k in seeds) + " | mean |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for name, row in table["variants"].items():
        mark = " (default)" if name == table.get("default_variant") else ""
        cells = [f"{_pct(row['seeds'][k]['raw'])} / {_pct(row['seeds'][k]['crf'])}"
                 if k in row["seeds"] else "–" for k in seeds]
        lines.append(f"| `{name}`{mark} | " + " | ".join(cells)
                     + f" | {_pct(row['mean']['raw'])} / {_pct(row['mean']['crf'])} |")
    share = table.get("default_share_of_oracle")
    if share:
        f = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
        lines += ["", f"The default `{table['default_variant']}` reaches {f(share['raw'])} of the "
                      f"oracle's mean mIoU raw, {f(share['crf'])} after the CRF."]
    return "\n".join(lines) + "\n"


def write_seeds(runs: Sequence[tuple[str, int, str | os.PathLike]], json_path: str | os.PathLike,
                md_path: str | os.PathLike, default: str | None = None) -> dict[str, Any]:
    """:func:`seeds_table` as ``ablation_seeds.json`` and ``ablation_seeds.md``."""
    table = seeds_table(runs, default)
    return _write(table, seeds_markdown(table), json_path, md_path)

