"""Helpers for tests that run the real Snakefile on a tiny synthcity dataset in a tmp dir.

Every run is ``python -m snakemake -s <repo>/Snakefile -d <tmp> --configfile
<repo>/config/config.yaml <tmp>/c.yaml ...``: the repository's defaults plus the tiny
configuration of ``.test/config.yaml`` (64x32 frames, 2+2 snippets, few shards, a 30-iteration
network) with a test's own overrides on top, so nothing is written into the repository.

Stages are listed in DAG order in `STAGES`; `available_stages()` says which of them the
Snakefile includes right now, so tests can target the deepest stage that exists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
DATASET = "synthcity"
RESULTS = f"results/{DATASET}"

# The tiny synthcity configuration (.test/config.yaml), laid over config/config.yaml.
TINY_CONFIG = REPO / ".test" / "config.yaml"
TINY = yaml.safe_load(TINY_CONFIG.read_text())
SHARDS = TINY["datasets"][DATASET]["shards"]  # val: 2 shards, so per-shard stages have >1 job


def shard_targets(stage: str, splits=("train", "val")) -> list[str]:
    return [f"{RESULTS}/{stage}/{split}/shard-{i}.h5"
            for split in splits for i in range(SHARDS[split])]


VARIANT = TINY["train"]["variant"]  # the variant metrics.json scores in the tiny config

# Stage name -> (rule file that defines it, targets that build all of it for the tiny config).
# In DAG order (the order tests rely on: each stage may need all earlier ones).
STAGES: dict[str, tuple[str, list[str]]] = {
    "manifest": ("dataset.smk", [f"{RESULTS}/manifest.json"]),
    "flow": ("flow.smk", shard_targets("flow") + [f"{RESULTS}/flow/quality.json"]),
    "classifiers": ("heatmaps.smk", [f"{RESULTS}/classifiers/model.pt",
                                     f"{RESULTS}/classifiers/accuracy.json"]),
    "heatmaps": ("heatmaps.smk", shard_targets("heatmaps") + [f"{RESULTS}/heatmaps/quality.json"]),
    "pseudolabels": ("pseudolabels.smk",
                     shard_targets("pseudolabels") + [f"{RESULTS}/pseudolabels/quality.json"]),
    "train": ("train.smk", [f"{RESULTS}/train/{VARIANT}/model.pt",
                            f"{RESULTS}/train/{VARIANT}/train.json"]),
    "predict": ("predict.smk", [f"{RESULTS}/predict/{VARIANT}/timing.json"]),
    "evaluate": ("evaluate.smk", [f"{RESULTS}/metrics.json"]),
}


def included_rule_files() -> set[str]:
    """Basenames of the rule files the Snakefile includes now."""
    text = SNAKEFILE.read_text()
    return set(re.findall(r'^include:\s*"workflow/rules/([^"]+)"', text, flags=re.M))


def available_stages(upto: str | None = None) -> list[str]:
    """Stages (in DAG order) whose rule file is included and that have targets, up to ``upto``.

    A stage counts only when all stages before it are available too (a gap means the DAG
    cannot be built through it yet).
    """
    included = included_rule_files()
    out = []
    for name, (rule_file, targets) in STAGES.items():
        if rule_file not in included or not targets:
            break
        out.append(name)
        if name == upto:
            break
    return out


def deepest_stage(upto: str | None = None) -> str | None:
    stages = available_stages(upto)
    return stages[-1] if stages else None


def renderer_missing() -> str | None:
    """Why the tiny synthcity dataset cannot be rendered yet, or None."""
    try:
        import synthcity
    except Exception as e:  # noqa: BLE001 - any import failure means: not available
        return f"synthcity not importable: {e}"
    if not hasattr(synthcity, "render"):
        return "synthcity.render does not exist yet"
    return None


def complete_targets(upto: str = "evaluate") -> list[str]:
    """Every output of every available stage up to ``upto``: a complete run of the tiny DAG."""
    return [t for s in available_stages(upto=upto) for t in STAGES[s][1]]


def copy_run(src: Path, dst: Path) -> Path:
    """Copy a run dir with mtimes (copy2) so Snakemake sees it exactly as it was."""
    shutil.copytree(src, dst, symlinks=True, copy_function=shutil.copy2)
    return dst


def write_config(workdir: Path, extra: dict | None = None, name: str = "c.yaml") -> Path:
    """Write the tiny override config (deep-merged with ``extra``) into ``workdir``."""
    cfg = _merge(json.loads(json.dumps(TINY)), extra or {})
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _merge(a: dict, b: dict) -> dict:
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            _merge(a[k], v)
        else:
            a[k] = v
    return a


def env(base: dict | None = None) -> dict:
    e = dict(os.environ if base is None else base)
    e.setdefault("OMP_NUM_THREADS", "1")
    e.setdefault("MKL_NUM_THREADS", "1")
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), e.get("PYTHONPATH")) if p)
    return e


def command(workdir: Path, *args: str, configs: tuple[str, ...] = ("c.yaml",)) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir),
            "--configfile", str(DEFAULT_CONFIG), *(str(workdir / c) for c in configs),
            "--nocolor", *args]


def snakemake(workdir: Path, *args: str, configs: tuple[str, ...] = ("c.yaml",),
              check: bool = True, timeout: float = 300, environ: dict | None = None,
              ) -> subprocess.CompletedProcess:
    """Run Snakemake on the repo's Snakefile in ``workdir``; raise with its log tail on failure."""
    r = subprocess.run(command(workdir, *args, configs=configs), capture_output=True, text=True,
                       env=env(environ), timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({r.returncode}):\n"
                             f"{(r.stdout + r.stderr)[-6000:]}")
    return r


def planned_jobs(workdir: Path, *args: str, with_output: bool = False, **kw):
    """Rule -> job count of a dry run (``-n``); {} when nothing is to be done.

    With ``with_output``, returns (jobs, the dry run's text) to read reasons from.
    """
    r = snakemake(workdir, "-n", *args, **kw)
    out = r.stdout + r.stderr
    jobs = _job_stats(out)
    return (jobs, out) if with_output else jobs


def run_jobs(r: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count that a real (not dry) run planned, from the "Job stats" it prints
    before its first job: what `planned_jobs` would have said just before it, without a
    separate dry run. {} when nothing was to be done."""
    return _job_stats(r.stdout + r.stderr)


def _job_stats(out: str) -> dict[str, int]:
    jobs: dict[str, int] = {}
    if "Job stats:" not in out:
        assert "Nothing to be done" in out, f"unexpected dry-run output:\n{out[-3000:]}"
        return jobs
    table = out.split("Job stats:", 1)[1].splitlines()
    for line in table[3:]:  # header, "job count", dashes
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs


def rule_graph(workdir: Path, *targets: str, **kw) -> dict[str, set[str]]:
    """Rule -> set of rules it directly depends on, from ``--rulegraph`` (dot)."""
    r = snakemake(workdir, "--rulegraph", "--forceall", *targets, **kw)
    names = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', r.stdout, flags=re.M))
    deps: dict[str, set[str]] = {n: set() for n in names.values()}
    for src, dst in re.findall(r"^\s*(\d+) -> (\d+)", r.stdout, flags=re.M):
        deps[names[dst]].add(names[src])
    return deps


def downstream(deps: dict[str, set[str]], rule: str) -> set[str]:
    """Rules that (transitively) depend on ``rule``."""
    out: set[str] = set()
    frontier = {rule}
    while frontier:
        nxt = {r for r, d in deps.items() if d & frontier} - out
        out |= nxt
        frontier = nxt
    return out


def upstream(deps: dict[str, set[str]], rule: str) -> set[str]:
    out: set[str] = set()
    frontier = set(deps.get(rule, ()))
    while frontier:
        out |= frontier
        frontier = {d for r in frontier for d in deps.get(r, ())} - out
    return out


def snapshot(workdir: Path, under: tuple[str, ...] = ("results", "data")) -> dict[str, tuple]:
    """Relative path -> (mtime_ns, sha256) of every file under ``under`` in ``workdir``."""
    snap = {}
    for top in under:
        for p in sorted((workdir / top).rglob("*")):
            if p.is_file():
                snap[str(p.relative_to(workdir))] = (p.stat().st_mtime_ns, _sha(p))
    return snap


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def incomplete_outputs(workdir: Path) -> set[str]:
    """Outputs Snakemake marked as being written (``.snakemake/incomplete``), as paths."""
    d = workdir / ".snakemake" / "incomplete"
    out = set()
    if d.is_dir():
        for p in d.iterdir():
            try:
                out.add(base64.urlsafe_b64decode(p.name).decode())
            except (ValueError, UnicodeDecodeError):  # 'migration_underway' etc.
                pass
    return out


def check_artifact(path: Path) -> str | None:
    """Problem with a file that looks like a finished artifact, or None when it reads fine."""
    try:
        if path.suffix == ".h5":
            from tagseg.h5io import open_artifact
            with open_artifact(path) as f:
                f.visititems(lambda name, obj: obj[()] if hasattr(obj, "shape") else None)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".pt":
            import torch
            torch.load(path, map_location="cpu", weights_only=False)
        elif path.suffix == ".png":
            import cv2
            if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
                return "unreadable PNG"
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        return f"{type(e).__name__}: {e}"
    return None


def looks_complete(path: Path) -> bool:
    """False for the temporary files of atomic writers (``.name.XXXX.tmp``)."""
    return not (path.name.startswith(".") or path.name.endswith(".tmp"))


def h5_content(path: Path) -> dict:
    """Everything an HDF5 artifact holds: root/group/dataset attrs and dataset values."""
    import h5py
    import numpy as np
    out: dict = {}
    with h5py.File(path, "r") as f:
        out["/@"] = {k: _plain(v) for k, v in f.attrs.items()}

        def visit(name, obj):
            out[name + "@"] = {k: _plain(v) for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                out[name] = np.asarray(obj[()])
        f.visititems(visit)
    return out


def _plain(v):
    import numpy as np
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


# JSON keys and HDF5 attributes that measure the run rather than its result (wall-clock
# timings, how much of a resumable training ran in this process): left out when comparing two
# runs' outputs.
VOLATILE_KEYS = re.compile(r"^(.*seconds.*|iterations_this_run|resumed_from)$")


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if not VOLATILE_KEYS.match(str(k))}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def _same_tree(x, y, where: str) -> str | None:
    """None when two loaded torch checkpoints hold equal values (tensors bit-equal), else why."""
    import torch
    if torch.is_tensor(x) or torch.is_tensor(y):
        if not (torch.is_tensor(x) and torch.is_tensor(y)) or x.dtype != y.dtype \
                or x.shape != y.shape or not torch.equal(x, y):
            return f"{where}: tensors differ"
        return None
    if isinstance(x, dict) and isinstance(y, dict):
        if x.keys() != y.keys():
            return f"{where}: keys differ {sorted(set(map(str, x)) ^ set(map(str, y)))[:10]}"
        for k in x:
            if why := _same_tree(x[k], y[k], f"{where}/{k}"):
                return why
        return None
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        if len(x) != len(y):
            return f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(x, y)):
            if why := _same_tree(a, b, f"{where}[{i}]"):
                return why
        return None
    return None if x == y else f"{where}: {x!r} != {y!r}"


def same_outputs(a: Path, b: Path, rel: str) -> str | None:
    """None when artifact ``rel`` has equal content under workdirs ``a`` and ``b``, else why.

    HDF5: every dataset and attribute, JSON: every value (both but `VOLATILE_KEYS`); torch
    checkpoints: equal structure and bit-equal tensors (the bytes differ: torch.save names its
    zip records after the temporary file it writes to); directories: the same files, each equal.
    """
    import numpy as np
    pa, pb = a / rel, b / rel
    if pa.is_dir() and pb.is_dir():
        fa = sorted(str(p.relative_to(pa)) for p in pa.rglob("*") if p.is_file())
        fb = sorted(str(p.relative_to(pb)) for p in pb.rglob("*") if p.is_file())
        if fa != fb:
            return f"{rel}: different files {sorted(set(fa) ^ set(fb))[:10]}"
        for f in fa:
            if f != ".snakemake_timestamp" and (why := same_outputs(a, b, f"{rel}/{f}")):
                return why
        return None
    if not pa.is_file() or not pb.is_file():
        return f"{rel}: missing ({pa.is_file()=}, {pb.is_file()=})"
    if pa.suffix == ".h5":
        ca, cb = h5_content(pa), h5_content(pb)
        if ca.keys() != cb.keys():
            return f"{rel}: different members {sorted(set(ca) ^ set(cb))[:10]}"
        for k in ca:
            x, y = ca[k], cb[k]
            if isinstance(x, np.ndarray):
                if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=True):
                    return f"{rel}: dataset {k} differs"
            elif _stable(x) != _stable(y):
                return f"{rel}: attributes {k} differ: {x} != {y}"
        return None
    if pa.suffix == ".json":
        ja, jb = _stable(json.loads(pa.read_text())), _stable(json.loads(pb.read_text()))
        return None if ja == jb else f"{rel}: JSON differs:\n{ja}\n!=\n{jb}"
    if pa.suffix == ".pt":
        import torch
        ta = torch.load(pa, map_location="cpu", weights_only=False)
        tb = torch.load(pb, map_location="cpu", weights_only=False)
        return _same_tree(ta, tb, rel)
    return None if pa.read_bytes() == pb.read_bytes() else f"{rel}: bytes differ"
