"""The ablation over several training seeds: val mIoU per variant and seed, means, and the
default variant's share of the oracle's mIoU (raw and after the dense CRF).

    python bench/ablation_seeds.py --results results/synthcity --out /tmp/abl \
        [--variants no_heatmap heatmap two_stream two_stream_pseudo oracle] [--seeds 0 1 2] [--jobs 2]

Runs ``bench/train.py`` once per (variant, seed) in its own process (1 torch thread each,
``--jobs`` at a time; a run whose ``{out}/{variant}-{seed}.json`` exists is reused), then
prints a Markdown table. Reads the stage shards under ``--results`` and writes nothing there.
The DAG target ``results/{dataset}/ablation_seeds.md`` (rule ``ablation_seeds``: every
``train.ablation`` variant trained as ``{variant}-seed{k}`` for ``train.seeds``) computes the
same table with the pipeline's own jobs and threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent


def run_one(results: Path, config: Path, out: Path, variant: str, seed: int) -> dict:
    """One bench/train.py run (cached in ``out/{variant}-{seed}.json``); its JSON row."""
    row_path = out / f"{variant}-{seed}.json"
    if row_path.exists():
        return json.loads(row_path.read_text())
    cmd = [sys.executable, str(HERE / "train.py"), "--results", str(results), "--config", str(config),
           "--variant", variant, "--seed", str(seed), "--threads", "1", "--out", str(out / f"{variant}-{seed}")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row_path.write_text(json.dumps(row))
    return row


def table(rows: dict[tuple[str, int], dict], variants: list[str], seeds: list[int], default: str) -> str:
    """Markdown: one line per variant, raw / CRF mIoU (%) per seed and their means."""
    head = "| variant | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |"
    lines = [head, "|---" * (len(seeds) + 2) + "|"]
    means = {}
    for v in variants:
        raw = [100 * rows[v, s]["miou_raw"] for s in seeds]
        crf = [100 * rows[v, s]["miou_crf"] for s in seeds]
        means[v] = (float(np.mean(raw)), float(np.mean(crf)))
        cells = [f"{r:.1f} / {c:.1f}" for r, c in zip(raw, crf)]
        lines.append(f"| `{v}` | " + " | ".join(cells) + f" | {means[v][0]:.1f} / {means[v][1]:.1f} |")
    out = "\n".join(lines) + "\n\n(val mIoU %, raw / after the dense CRF)\n"
    if default in means and "oracle" in means:
        r = [means[default][i] / means["oracle"][i] for i in (0, 1)]
        out += f"\n`{default}` / `oracle` (means): {r[0]:.2f} raw, {r[1]:.2f} after the CRF\n"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True, type=Path)
    ap.add_argument("--config", default="config/config.yaml", type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--variants", nargs="+",
                    default=["no_heatmap", "heatmap", "two_stream", "two_stream_pseudo", "oracle"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    default = yaml.safe_load(args.config.read_text())["train"]["variant"]
    keys = [(v, s) for v in args.variants for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as ex:
        done = list(ex.map(lambda k: run_one(args.results, args.config, args.out, *k), keys))
    print(table(dict(zip(keys, done)), args.variants, args.seeds, default))
    return 0


if __name__ == "__main__":
    sys.exit(main())
