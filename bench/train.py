"""Benchmark one training configuration: train a variant, predict and score the val split.

    python bench/train.py --results results/synthcity --variant two_stream \
        --set optimizer.lr=1e-3 --set model.width=0.125 --out /tmp/bench/run1

Reads ``{results}/manifest.json`` and the stage shards under ``{results}`` (flow, heatmaps,
pseudolabels), the ``train`` / ``predict`` sections of the config (``--config``), applies the
``--set key=value`` overrides (dotted keys inside ``train``; values parsed as YAML), and
prints one JSON line: seconds per iteration, training time, val mIoU raw / CRF, prediction
time per image. Nothing is written under ``{results}``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import yaml

from tagseg.config import load_config, section
from tagseg.datasets.manifest import load
from tagseg.device import resolve
from tagseg.logs import configure
from tagseg.plan import STAGE_OF_INPUT, net_flow_L, shard_file
from tagseg.predict import evaluate_variant, predict_split
from tagseg.train.loop import train

def shard_paths(results: Path, split: str, n: int) -> dict[str, list[Path]]:
    """{sample input: its stage's shards of ``split``} for the stages whose n shards all exist."""
    out = {}
    for key, stage in STAGE_OF_INPUT.items():
        paths = [Path(shard_file(str(results), stage, split, i)) for i in range(n)]
        if all(p.exists() for p in paths):
            out[key] = paths
    return out


def apply(cfg: dict, key: str, value: str) -> None:
    node = cfg
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = yaml.safe_load(value)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True, type=Path)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--config", default="config/config.yaml", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-crf-eval", action="store_true")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the config's `seed`)")
    args = ap.parse_args(argv)
    configure()
    torch.set_num_threads(args.threads)
    full = load_config(args.config)  # validated, defaults filled
    cfg = copy.deepcopy(full["train"])
    for kv in args.set:
        k, _, v = kv.partition("=")
        apply(cfg, k, v)
    cfg = section("train", cfg)  # the --set values checked against the schema
    cfg["model"]["flow_L"] = net_flow_L(full, cfg)
    m = load(args.results / "manifest.json")
    dev = resolve(args.device)
    t = time.perf_counter()
    s = train(m, cfg, args.variant, args.out / "model.pt", shard_paths(args.results, "train", m.shards["train"]),
              device=dev, seed=int(full["seed"]) if args.seed is None else args.seed, offsets=full["frames"]["train_offsets"],
              history_path=args.out / "train.json", progress=False)
    train_s = time.perf_counter() - t
    pcfg = dict(full["predict"])
    split = pcfg["split"]
    p = predict_split(m, split, args.out / "model.pt", args.variant, args.out / "predict",
                      shard_paths(args.results, split, m.shards[split]).get("flow"), pcfg, dev)
    r = evaluate_variant(m, split, args.out / "predict", args.variant, args.out / "metrics.json")
    row = {"variant": args.variant, "set": args.set, "seed": args.seed, "device": str(dev), "threads": args.threads,
           "iterations": s["iterations"], "batch_size": s["batch_size"],
           "s_per_iter": round(s["seconds_per_iteration"], 4), "train_s": round(train_s, 1),
           "final_loss": {k: round(v, 4) for k, v in s["history"][-1].items()} if s["history"] else None,
           "miou_raw": r["raw"]["miou"], "miou_crf": r["crf"]["miou"],
           "gacc_raw": r["raw"]["global_accuracy"], "gacc_crf": r["crf"]["global_accuracy"],
           "pred_s_per_image": round(p["seconds_per_image_network"], 4),
           "crf_s_per_image": round(p["seconds_per_image_crf"], 4), "n_val": r["n_images"]}
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
