"""Does training on the retrieved web clips help? The default variant with and without them.

    python bench/extra_datasets.py --workdir /tmp/wv_exp [--cores 1] [--extra synthcity_web]
        [--config more.yaml ...]

In ``--workdir`` (never the repository) it runs the real Snakefile twice on synthcity, same
seed and iterations: (1) ``train.extra_datasets: []`` and (2) ``train.extra_datasets:
[synthcity_web]`` (the clips of ``results/synthcity/retrieval/clips/`` as a ``webvideos``
dataset, through flow / heatmaps / pseudolabels). After each run it copies
``results/synthcity/evaluate/{variant}.json`` and ``train/{variant}/train.json`` to
``{workdir}/bench_extra/{baseline,extra}-*.json`` and prints val mIoU (raw, CRF) side by side.
Every stage before training is cached by Snakemake, so only ``train``, ``predict`` and
``evaluate`` run twice. Also prints ``results/synthcity/retrieval/quality.json``.

``--seeds 1 2`` then trains both settings again with other training seeds, in process (the
global ``seed`` also seeds the classifier, so changing it in the config would redo every
stage): same artifacts, ``tagseg.train.loop.train`` + ``predict_split`` + ``evaluate_variant``,
outputs in ``{workdir}/bench_extra/seed{N}-{baseline,extra}/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tagseg import plan
from tagseg.config import load_config

REPO = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, configs: list[Path], cores: int, *targets: str) -> None:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--configfile", str(REPO / "config" / "config.yaml"), *map(str, configs),
           "--cores", str(cores), "--nocolor", *targets]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--cores", type=int, default=1)
    ap.add_argument("--dataset", default="synthcity")
    ap.add_argument("--extra", nargs="+", default=["synthcity_web"])
    ap.add_argument("--config", type=Path, action="append", default=[],
                    help="more config files (after config/config.yaml, before the run's own)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[],
                    help="also train both settings with these training seeds (in process)")
    a = ap.parse_args()
    wd = a.workdir.resolve()
    if wd == REPO or REPO in wd.parents:
        sys.exit("--workdir must be outside the repository")
    out = wd / "bench_extra"
    out.mkdir(parents=True, exist_ok=True)
    variant = yaml.safe_load((REPO / "config/config.yaml").read_text())["train"]["variant"]
    rows = {}
    for name, extra in (("baseline", []), ("extra", list(a.extra))):
        cfg = out / f"{name}.yaml"
        cfg.write_text(yaml.safe_dump({"train": {"extra_datasets": extra}}))
        evaluation = plan.evaluate_path(a.dataset, variant)
        snakemake(wd, [*a.config, cfg], a.cores, evaluation, plan.quality_path(a.dataset, "retrieval"))
        for src, dst in ((evaluation, f"{name}-evaluate.json"),
                         (plan.history_path(a.dataset, variant), f"{name}-train.json")):
            shutil.copyfile(wd / src, out / dst)
        ev = json.loads((out / f"{name}-evaluate.json").read_text())
        tr = json.loads((out / f"{name}-train.json").read_text())
        rows[name] = (extra, tr["samples"], tr["iterations"], ev["raw"]["miou"], ev["crf"]["miou"])
    print(f"\n{a.dataset} val, variant {variant} (seed and iterations equal):")
    print(f"{'run':10s} {'extra_datasets':24s} {'samples':>8s} {'iters':>6s} {'mIoU raw':>9s} {'mIoU crf':>9s}")
    for name, (extra, n, it, raw, crf) in rows.items():
        print(f"{name:10s} {','.join(extra) or '-':24s} {n:8d} {it:6d} {100 * raw:8.2f}% {100 * crf:8.2f}%")
    if a.seeds:
        more_seeds(wd, a.dataset, list(a.extra), a.seeds, variant, rows)
    quality = plan.quality_path(a.dataset, "retrieval")
    q = json.loads((wd / quality).read_text())
    print(f"\nretrieval quality ({quality}):")
    print(json.dumps({k: v for k, v in q.items() if k != "per_class"}, indent=1)[:3000])


def more_seeds(wd: Path, dataset: str, extra_names: list[str], seeds: list[int], variant: str,
               rows: dict) -> None:
    """Train / predict / evaluate both settings per seed from the artifacts already in ``wd``."""
    import torch

    from tagseg.datasets.manifest import load
    from tagseg.predict import evaluate_variant, predict_split
    from tagseg.train.loop import train

    torch.set_num_threads(1)
    os.chdir(wd)
    config = load_config(REPO / "config/config.yaml")  # validated, defaults filled
    config["device"] = "cpu"
    target = load(plan.manifest_path(dataset))
    val_flow = plan.shard_paths(config, "flow", dataset, config["predict"]["split"])
    for seed in seeds:
        for name, extra in (("baseline", []), ("extra", extra_names)):
            config["train"]["extra_datasets"] = extra
            inputs = plan.train_inputs(config, dataset, variant)
            shards = {k: inputs[k] for k in ("flow", "heatmaps", "pseudo") if k in inputs}
            out = wd / "bench_extra" / f"seed{seed}-{name}"
            out.mkdir(parents=True, exist_ok=True)
            s = train(load(inputs["manifest"]), plan.train_config(config, variant), variant, out / "model.pt",
                      shards=shards, device="cpu", seed=seed, offsets=config["frames"]["train_offsets"],
                      history_path=out / "train.json", progress=False)
            predict_split(target, config["predict"]["split"], out / "model.pt", variant, out / "predict",
                          flow_shards=val_flow, cfg=config["predict"], device=torch.device("cpu"))
            ev = evaluate_variant(target, config["predict"]["split"], out / "predict", variant,
                                  out / "evaluate.json")
            rows[f"seed{seed}-{name}"] = (extra, s["samples"], s["iterations"], ev["raw"]["miou"], ev["crf"]["miou"])
            print(f"seed {seed} {name}: mIoU raw {100 * ev['raw']['miou']:.2f}% crf {100 * ev['crf']['miou']:.2f}%",
                  flush=True)
    print(f"{'run':16s} {'extra_datasets':24s} {'samples':>8s} {'iters':>6s} {'mIoU raw':>9s} {'mIoU crf':>9s}")
    for name, (extra, n, it, raw, crf) in rows.items():
        print(f"{name:16s} {','.join(extra) or '-':24s} {n:8d} {it:6d} {100 * raw:8.2f}% {100 * crf:8.2f}%")


if __name__ == "__main__":
    main()
