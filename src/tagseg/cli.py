"""The ``tagseg`` command: stand-alone operations outside the workflow.

    tagseg synth --root data/synthcity --seed 0        render the embedded dataset
    tagseg manifest --dataset synthcity --out m.json    scan a dataset (config section) into a manifest
    tagseg evaluate --gt-root ROOT --split val --pred DIR --out metrics.json
    tagseg inspect FILE.h5                              print what an HDF5 artifact holds
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import metrics


def _synth(args: argparse.Namespace) -> int:
    from .datasets import synthcity

    info = synthcity.render(
        Path(args.root), seed=args.seed, width=args.width, height=args.height,
        train_snippets=args.train_snippets, val_snippets=args.val_snippets,
        iconic_per_class=args.iconic_per_class,
    )
    print(json.dumps({k: v for k, v in info.items() if k not in ("class_frequencies", "snippets")}, indent=2))
    return 0


def _manifest(args: argparse.Namespace) -> int:
    import yaml

    from .config import load_config
    from .datasets.cityscapes import build_manifest

    config = load_config(args.config)
    if args.dataset not in config["datasets"]:
        raise ValueError(f"unknown dataset {args.dataset!r}: not under 'datasets' in {args.config}")
    cfg = config["datasets"][args.dataset]
    if cfg.get("kind") == "webvideos":
        raise ValueError(f"dataset {args.dataset!r} is of kind 'webvideos': its manifest is made from "
                         f"retrieved clips by the Snakemake rule 'webvideos_manifest' (target "
                         f"results/{args.dataset}/manifest.json), not by 'tagseg manifest'")
    m = build_manifest(args.dataset, cfg)
    m.save(args.out)
    counts = {s: len(m.split(s)) for s in m.shards}
    print(yaml.safe_dump({"dataset": m.dataset, "size": list(m.size), "snippets": counts}))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from .h5io import describe

    for path in args.files:
        print(describe(path))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tagseg", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="render the embedded synthcity dataset (Cityscapes layout)")
    s.add_argument("--root", required=True, help="output folder (created atomically)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--width", type=int, default=256, help="frame width, pixels")
    s.add_argument("--height", type=int, default=128, help="frame height, pixels")
    s.add_argument("--train-snippets", type=int, default=48)
    s.add_argument("--val-snippets", type=int, default=16)
    s.add_argument("--iconic-per-class", type=int, default=40)
    s.set_defaults(func=_synth)

    s = sub.add_parser("manifest", help="scan a dataset into a manifest JSON")
    s.add_argument("--dataset", required=True, help="name under 'datasets' in the config")
    s.add_argument("--config", default="config/config.yaml")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_manifest)

    metrics.add_cli(sub)

    s = sub.add_parser("inspect", help="print the groups, datasets and attributes of HDF5 artifacts")
    s.add_argument("files", nargs="+")
    s.set_defaults(func=_inspect)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, RuntimeError, FileNotFoundError) as e:
        print(f"tagseg {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
