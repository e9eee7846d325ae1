"""The ``tagseg`` command: stand-alone operations outside the Snakemake workflow.

    tagseg synth --root data/synthcity --seed 0        render the embedded dataset
    tagseg frames --root CAMVID --videos DIR --out DIR  decode CamVid's video frames (PSNR-checked)
    tagseg manifest --dataset synthcity --out m.json    scan a dataset (config section) into a manifest
    tagseg evaluate --gt-root ROOT --split val --pred DIR --out metrics.json
    tagseg inspect FILE.h5                              print what an HDF5 artifact holds

The whole pipeline runs through Snakemake instead:
    snakemake --cores 2 results/synthcity/metrics.json
Errors end in one line naming the file or config key; `tagseg COMMAND --help` for each command,
README.md "Troubleshooting" for bad data, stale artifacts and interrupted runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import metrics


def _synth(args: argparse.Namespace) -> int:
    from synthcity.layouts import render  # the sibling renderer package; only this command uses it

    size = {k: getattr(args, k) for k in ("width", "height") if getattr(args, k) is not None}
    if args.layout in ("cityscapes", "camvid"):  # camvid: the street world in CamVid's layout
        info = render(
            Path(args.root), seed=args.seed, **size,
            train_snippets=args.train_snippets, val_snippets=args.val_snippets,
            iconic_per_class=args.iconic_per_class, overwrite=args.overwrite,
        )
    elif args.layout == "voc":  # stills: side, images per split
        info = render(Path(args.root), layout="voc", seed=args.seed, size=args.size,
                      train_images=args.train_images, val_images=args.val_images,
                      overwrite=args.overwrite)
    else:  # the layout's own defaults for everything but seed, size and iconic images
        info = render(Path(args.root), layout=args.layout, seed=args.seed, **size,
                      iconic_per_class=args.iconic_per_class, overwrite=args.overwrite)
    print(json.dumps({k: v for k, v in info.items()
                      if k not in ("class_frequencies", "snippets", "shots", "stills")}, indent=2))
    return 0


def _frames(args: argparse.Namespace) -> int:
    from .camvid_frames import FramesError, decode

    offsets = {}
    for item in args.offset or []:
        seq, _, value = item.partition("=")
        try:
            offsets[seq] = int(value)
        except ValueError:
            raise FramesError(f"--offset {item!r}: expected SEQUENCE=INTEGER, e.g. 0001TP=6660") from None
    report = decode(Path(args.root), Path(args.videos), Path(args.out), offsets=offsets,
                    min_psnr=args.min_psnr, before=args.before, after=args.after,
                    release=args.release, search=args.search)
    print(json.dumps(report, indent=2))
    return 0


def _manifest(args: argparse.Namespace) -> int:
    import yaml

    from .config import load_config
    from .datasets.kinds import build_manifest
    from .plan import needed_offsets

    config = load_config(args.config)
    if args.dataset not in config["datasets"]:
        raise ValueError(f"unknown dataset {args.dataset!r}: not under 'datasets' in {args.config}")
    cfg = config["datasets"][args.dataset]
    if cfg["kind"] == "webvideos":
        raise ValueError(f"dataset {args.dataset!r} is of kind 'webvideos': its manifest is made from "
                         f"retrieved clips by the Snakemake rule 'webvideos_manifest' (target "
                         f"results/{args.dataset}/manifest.json), not by 'tagseg manifest'")
    m = build_manifest(args.dataset, {**cfg, "offsets": needed_offsets(config)})
    m.save(args.out)
    counts = {s: len(m.split(s)) for s in m.shards}
    print(yaml.safe_dump({"dataset": m.dataset, "size": list(m.size), "snippets": counts}))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from .h5io import describe

    failed = 0
    for path in args.files:
        try:
            print(describe(path))
        except OSError as e:  # h5py: missing, truncated or not HDF5 at all
            why = "no such file" if not Path(path).exists() else \
                f"not a readable HDF5 file (truncated or corrupt?): {e}"
            print(f"tagseg inspect: error: {path}: {why}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tagseg", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser(
        "synth", help="render the embedded synthcity dataset (Cityscapes layout, or --layout)",
        description="Render synthcity into ROOT: Cityscapes-layout frames, label ids, exact flows "
                    "and iconic images. The tree is rendered beside ROOT and renamed into place when "
                    "complete. ROOT must be new, empty, or an earlier render (it holds "
                    ".tagseg-synthcity); a folder of anything else is refused unless --overwrite.",
        epilog="example: tagseg synth --root data/synthcity --seed 0 --width 256 --height 128")
    s.add_argument("--root", required=True, help="output folder (new, empty or an earlier render)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace ROOT even when it holds files tagseg did not write (deletes them)")
    s.add_argument("--seed", type=int, default=0, help="seed of everything random (default 0)")
    s.add_argument("--layout", default="cityscapes",
                   help="dataset layout to write, a key of synthcity.layouts.LAYOUTS (default "
                        "cityscapes; youtube_objects: YouTube-Objects v1.0 shots with Jain & "
                        "Grauman masks, read by kind youtube_objects)")
    s.add_argument("--width", type=int, default=None,
                   help="frame width, pixels (default: the layout's, 256 for cityscapes)")
    s.add_argument("--height", type=int, default=None,
                   help="frame height, pixels (default: the layout's, 128 for cityscapes)")
    s.add_argument("--train-snippets", type=int, default=48, help="30-frame train snippets (default 48)")
    s.add_argument("--val-snippets", type=int, default=16, help="30-frame val snippets (default 16)")
    s.add_argument("--iconic-per-class", type=int, default=40,
                   help="iconic images per class, the classifier's training data (default 40)")
    s.add_argument("--size", type=int, default=128, help="voc: image side, pixels (default 128)")
    s.add_argument("--train-images", type=int, default=120, help="voc: train stills (default 120)")
    s.add_argument("--val-images", type=int, default=60, help="voc: val stills (default 60)")
    s.set_defaults(func=_synth)

    s = sub.add_parser(
        "manifest", help="scan a dataset into a manifest JSON",
        description="Scan the dataset of config section datasets.DATASET (kind synthcity or "
                    "cityscapes; its root must hold leftImg8bit_sequence/ and gtFine/) into the "
                    "manifest every stage reads: snippets, frames, annotated frame, tags, shards.",
        epilog="example: tagseg manifest --dataset cityscapes --out manifest.json")
    s.add_argument("--dataset", required=True, help="name under 'datasets' in the config")
    s.add_argument("--config", default="config/config.yaml", help="config file (default %(default)s)")
    s.add_argument("--out", required=True, help="manifest JSON to write")
    s.set_defaults(func=_manifest)

    s = sub.add_parser(
        "frames", help="decode the CamVid videos into frames around each labelled still",
        description="Decode the CamVid videos (01TP_extract.avi, 0005VD.MXF, 0006R0.MXF, "
                    "0016E5.MXF; or {sequence}.* e.g. 0001TP.avi) with PyAV into OUT, the frames "
                    "BEFORE..AFTER around each labelled still of ROOT (either release), named like "
                    "the stills (0001TP_006689.png). Each decoded frame at a still's number is "
                    "compared with the still (PSNR, after resizing to the still's size); the PSNR "
                    "per sequence is printed, and a sequence whose worst still is below --min-psnr "
                    "fails, naming the still and the best offset found nearby.",
        epilog="example: tagseg frames --root data/camvid --videos data/camvid/videos "
               "--out data/camvid/frames")
    s.add_argument("--root", required=True, help="CamVid root (original or SegNet release)")
    s.add_argument("--videos", required=True, help="folder holding the sequences' videos")
    s.add_argument("--out", required=True, help="frames folder (datasets.NAME.frames)")
    s.add_argument("--release", default="auto", choices=["auto", "original", "segnet"])
    s.add_argument("--offset", action="append", metavar="SEQ=N",
                   help="still number = decoded frame index + N (default 0001TP=6660, others 0)")
    s.add_argument("--min-psnr", type=float, default=30.0,
                   help="worst PSNR (dB) of a decoded frame against its still (default 30)")
    s.add_argument("--search", type=int, default=3,
                   help="on a mismatch, offsets within +-this are tried to name the right one")
    s.add_argument("--before", type=int, default=19, help="frames before each still (default 19)")
    s.add_argument("--after", type=int, default=10, help="frames after each still (default 10)")
    s.set_defaults(func=_frames)

    metrics.add_cli(sub)

    s = sub.add_parser(
        "inspect", help="print the groups, datasets and attributes of HDF5 artifacts",
        description="Print what tagseg HDF5 artifacts hold: root attributes (stage, version, "
                    "config hash, complete), groups, datasets with shape and dtype.",
        epilog="example: tagseg inspect results/synthcity/flow/val/shard-0.h5")
    s.add_argument("files", nargs="+", metavar="FILE.h5")
    s.set_defaults(func=_inspect)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, RuntimeError, OSError) as e:
        print(f"tagseg {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
