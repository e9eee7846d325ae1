"""Operating the workflow: rerunning single stages, building one artifact, surviving a kill.

All runs use the repository's Snakefile on a tiny synthcity config in tmp dirs (see
`snakemake_runs`: 64x32 frames, 2+2 snippets, a 30-iteration network), over the whole DAG up
to ``results/synthcity/metrics.json``. The tiny config's default variant (two_stream_pseudo)
reads flow, heatmaps and pseudo-labels, so every stage is upstream of metrics.json.
One complete run (`baseline`) is shared; every test that changes files works on a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import snakemake_runs as sr

# Deepest stage these tests drive (the whole DAG: ~30 jobs of 2-4 s CPU each for a run).
OPS_UPTO = "evaluate"
OPS_STAGE = sr.deepest_stage(upto=OPS_UPTO)
STAGES = sr.available_stages(upto=OPS_UPTO)
TARGETS = [t for s in STAGES for t in sr.STAGES[s][1]]
METRICS = f"{sr.RESULTS}/metrics.json"

# A changed value in each stage's own config section (any schema-valid change will do).
PARAM_TWEAKS = {
    "manifest": {"datasets": {sr.DATASET: {"min_tag_fraction": 0.002}}},
    "flow": {"flow": {"tvl1": {"tau": 0.2}}},
    "classifiers": {"heatmaps": {"cam": {"lr": 1.0e-3}}},
    "heatmaps": {"heatmaps": {"scales": [1.0, 1.5]}},
    "pseudolabels": {"pseudolabels": {"lambda_m": 1.5}},
    "train": {"train": {"lse_r": 4.0}},
    "predict": {"predict": {"crf": {"iterations": 3}}},
}
# Stages whose config tweak is tested (dry runs, ~5 s each).
PARAM_STAGES = ["flow", "heatmaps", "pseudolabels", "train", "predict"]
# Stages forced with --forcerun (real reruns of the stage and all downstream jobs): a
# per-shard stage with stages of both branches of the DAG above it (flow, heatmaps).
FORCE_STAGES = ["pseudolabels"]
# The interruption test: a run killed with SIGTERM in a per-shard stage in the middle of the
# DAG, its resumed run killed with SIGKILL in the training (between two checkpoints).
SHARD_STAGE = "pseudolabels"


def _skip_reason() -> str | None:
    if OPS_STAGE is None:
        return "no pipeline stage is included in the Snakefile yet"
    return sr.renderer_missing()


pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_skip_reason() is not None,
                                                   reason=_skip_reason() or "")]


def need(stage: str) -> None:
    if stage not in STAGES:
        pytest.skip(f"stage {stage!r} is not in the Snakefile yet")


copy_run = sr.copy_run


@pytest.fixture(scope="module")
def baseline(tiny_run) -> Path:
    """A complete, uninterrupted run of every available stage up to OPS_STAGE (conftest's
    session-wide `tiny_run`; never changed in place)."""
    assert TARGETS == sr.complete_targets(OPS_UPTO)
    return tiny_run


@pytest.fixture(scope="module")
def deps(baseline) -> dict[str, set[str]]:
    """Rule -> rules it depends on, for TARGETS."""
    return sr.rule_graph(baseline, *TARGETS)


def summary(wd: Path, *targets: str) -> dict[str, str]:
    """Output file -> rule that makes it (``--summary``), for the current targets. Directory
    outputs (predict's PNG folders) are listed as the files in them."""
    r = sr.snakemake(wd, "--summary", *targets)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    header = next(i for i, row in enumerate(rows) if row[:1] == ["output_file"])
    col = rows[header].index("rule")
    out = {}
    for row in rows[header + 1:]:
        if len(row) <= col:
            continue
        p = wd / row[0]
        files = [q for q in p.rglob("*") if q.is_file()] if p.is_dir() else [p]
        for q in files:
            out[str(q.relative_to(wd))] = row[col]
    return out


def metric_values(wd: Path) -> dict:
    """The scores of metrics.json (raw and CRF), as the evaluate rule wrote them."""
    m = json.loads((wd / METRICS).read_text())
    return {k: m[k] for k in ("raw", "crf", "n_images", "variant")}


# ----------------------------------------------------------------------------- complete run
def test_complete_run_is_up_to_date_and_intact(baseline):
    """After one run nothing is planned again (rule params are deterministic), and every
    artifact opens; every job left a log and a benchmark with time and memory."""
    assert sr.planned_jobs(baseline, *TARGETS) == {}
    files = [p for p in (baseline / "results").rglob("*") if p.is_file()]
    bad = {str(p): why for p in files if (why := sr.check_artifact(p))}
    assert not bad, bad
    benches = list((baseline / sr.RESULTS / "benchmarks").rglob("*.tsv"))
    assert benches, "no benchmark files written"
    for b in benches:
        header = b.read_text().splitlines()[0].split("\t")
        assert {"s", "max_rss"} <= set(header), f"{b}: {header}"
    logs = list((baseline / sr.RESULTS / "logs").rglob("*.log"))
    assert len(logs) >= len(benches), (logs, benches)
    if "evaluate" in STAGES:
        scores = metric_values(baseline)
        assert scores["variant"] == sr.VARIANT and scores["n_images"] > 0, scores


# ----------------------------------------------------------------------------- one artifact
def test_single_artifact_builds_only_what_it_needs(baseline, tmp_path):
    """`snakemake results/synthcity/flow/val/shard-0.h5` builds that shard (and the manifest
    it needs), no sibling shard and nothing downstream. (The rendered dataset is reused from
    the baseline run to save time; all of results/ is removed.)"""
    need("flow")
    target = f"{sr.RESULTS}/flow/val/shard-0.h5"
    wd = copy_run(baseline, tmp_path / "run")
    shutil.rmtree(wd / "results")
    sr.snakemake(wd, "--cores", "2", target)
    assert sr.check_artifact(wd / target) is None
    built = {str(p.relative_to(wd)) for p in (wd / "results").rglob("*")
             if p.is_file() and "/logs/" not in str(p) and "/benchmarks/" not in str(p)}
    assert built == {target, f"{sr.RESULTS}/manifest.json"}, built
    assert sr.same_outputs(baseline, wd, target) is None


# ----------------------------------------------------------------------------- --forcerun
@pytest.mark.parametrize("stage", FORCE_STAGES)
def test_forcerun_reruns_stage_and_downstream_only(baseline, deps, tmp_path, stage):
    """`--forcerun <stage>` reruns that stage's jobs and everything depending on them, down to
    metrics.json (new mtime, same content), and leaves every upstream file untouched (same
    mtime and bytes). Note the `=`: `--forcerun` takes several values, so
    `--forcerun heatmaps TARGET` would force TARGET's rule too."""
    need(stage)
    rule = stage
    wd = copy_run(baseline, tmp_path / "run")
    assert rule in deps, (rule, deps)
    expected = {rule} | sr.downstream(deps, rule)
    above = sr.upstream(deps, rule)
    if "evaluate" in STAGES:
        assert {"train", "predict", "evaluate"} <= expected, expected

    made_by = summary(wd, *TARGETS)
    assert expected <= set(made_by.values()), (expected, made_by)
    before = sr.snapshot(wd)
    sr.snakemake(wd, "--cores", "2", f"--forcerun={rule}", *TARGETS)
    after = sr.snapshot(wd)
    rerun = {f for f in before if after.get(f, (None,))[0] != before[f][0]}
    for f, r in made_by.items():
        if r in above or f.startswith("data/"):
            assert f not in rerun, f"upstream {f} (rule {r}) was rewritten"
            assert after[f][1] == before[f][1], f"upstream {f} changed"
        elif r in expected:
            assert f in rerun, f"{f} (rule {r}) was not rerun"
            assert sr.same_outputs(baseline, wd, f) is None, f"{f} changed content on rerun"
    if "evaluate" in STAGES:
        assert METRICS in rerun and metric_values(wd) == metric_values(baseline)


# ----------------------------------------------------------------------------- params trigger
@pytest.mark.parametrize("stage", PARAM_STAGES)
def test_changed_config_section_reruns_that_stage(baseline, deps, tmp_path, stage):
    """Changing a stage's config section plans that stage (reason: params changed) and
    everything downstream of it, never the stages above it."""
    need(stage)
    rule = stage
    wd = copy_run(baseline, tmp_path / "run")
    sr.write_config(wd, PARAM_TWEAKS[stage], name="tweak.yaml")
    plan, out = sr.planned_jobs(wd, *TARGETS, configs=("c.yaml", "tweak.yaml"),
                                with_output=True)
    assert rule in plan, plan
    assert "Params have changed since last execution" in out
    assert not set(plan) & sr.upstream(deps, rule), plan
    assert set(plan) == {rule} | sr.downstream(deps, rule), plan


# ----------------------------------------------------------------------------- interruption
def run_and_interrupt(wd: Path, sig: int, ready: Callable[[], str | None],
                      environ: dict | None = None, timeout: float = 300,
                      extra: tuple[str, ...] = (), targets: list[str] | None = None) -> str:
    """Start Snakemake on ``targets`` (default TARGETS; one core: jobs one after another;
    ``environ`` added to its environment, ``extra`` to its arguments) and send ``sig`` to its
    process group once ``ready()`` says the run is in the middle of the stage (returns a
    description of that moment). Returns that description."""
    cmd = sr.command(wd, "--cores", "1", *extra, *(TARGETS if targets is None else targets))
    proc = subprocess.Popen(cmd, env={**sr.env(), **(environ or {})}, stdout=subprocess.DEVNULL,
                            stderr=open(wd / "interrupted.log", "w"), start_new_session=True)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if proc.poll() is not None:
                pytest.fail("run finished before it could be interrupted; "
                            f"see {wd}/interrupted.log")
            if moment := ready():
                os.killpg(proc.pid, sig)
                proc.wait(timeout=60)
                print(f"{signal.Signals(sig).name}: {moment}")
                return moment
            time.sleep(0.01)
        pytest.fail("the stage did not reach the point of interruption in time")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def held_writer(wd: Path, glob_: str, after: int) -> tuple[dict, Callable[[], str | None]]:
    """Environment that makes the run's first writer of a file matching ``glob_`` (relative to
    ``wd``) stop just before renaming its finished temporary file, once ``after`` such files
    exist (`tagseg.h5io.HOLD_ENV`), and a readiness check: ready when a job is held there.
    The kill then always lands while that job writes, never after it finished (a SIGTERM that
    reaches a Python job in its last milliseconds, after its rename, is swallowed: the job
    exits 0 and Snakemake records it as finished)."""
    from tagseg.h5io import HOLD_ENV, HOLD_MESSAGE
    log = wd / "interrupted.log"

    def ready():
        text = log.read_text() if log.exists() else ""
        if HOLD_MESSAGE not in text:
            return None
        held = text.split(HOLD_MESSAGE, 1)[1].split()[0]
        return f"held {held} before its rename"
    return {HOLD_ENV: f"{glob_}:{after}"}, ready


def checkpoint_iteration(path: Path) -> int:
    import torch
    return int(torch.load(path, map_location="cpu", weights_only=False)["meta"]["iteration"])


def test_interrupted_run_resumes_without_recomputing(baseline, tmp_path):
    """Interrupt a run twice: SIGTERM in the middle of a per-shard stage (pseudolabels), then
    SIGKILL of the resumed run in the middle of the training, between two checkpoints (all
    outputs of both stages were removed from a copy of the baseline). After each kill no file
    that looks complete is corrupt; each `--rerun-incomplete` run (after `--unlock`, which a
    killed Snakemake needs) goes on without recomputing finished shards, the training resumes
    from its checkpoint instead of iteration 0, everything downstream is rebuilt, and the run
    ends with the same metrics.json (and every other artifact) as the uninterrupted run."""
    need(SHARD_STAGE)
    need("train")
    wd = copy_run(baseline, tmp_path / "run")
    stage_outputs = sr.STAGES[SHARD_STAGE][1]
    train_outputs = sr.STAGES["train"][1]
    for t in stage_outputs + train_outputs:
        (wd / t).unlink()
    shards = [t for t in stage_outputs if t.endswith(".h5")]
    assert len(shards) >= 2, f"stage {SHARD_STAGE} has fewer than two jobs to interrupt between"
    model = next(t for t in train_outputs if t.endswith("model.pt"))
    ckpt = (wd / model).with_name("checkpoint.pt")

    def after_kill(sig: int) -> dict[str, int]:
        """Checks after a kill; the stage's outputs in place -> mtime."""
        broken = {}
        for p in list((wd / "results").rglob("*")) + list((wd / "data").rglob("*")):
            if p.is_file() and sr.looks_complete(p) and (why := sr.check_artifact(p)):
                broken[str(p.relative_to(wd))] = why
        assert not broken, f"corrupt files after {signal.Signals(sig).name}: {broken}"
        for o in sr.incomplete_outputs(wd) & set(stage_outputs + train_outputs):
            assert not (wd / o).exists() or sr.check_artifact(wd / o) is None, o
        trained = [o for o in train_outputs if (wd / o).exists()]
        assert not trained, f"training finished before the {signal.Signals(sig).name}: {trained}"
        return {o: (wd / o).stat().st_mtime_ns for o in stage_outputs if (wd / o).exists()}

    # 1. A run of the stage's targets: SIGTERM while a shard is written, once another shard of
    # the stage is finished.
    pattern = str(Path(shards[0]).parent.parent / "*" / "shard-*.h5")
    environ, ready = held_writer(wd, pattern, after=1)
    moment = run_and_interrupt(wd, signal.SIGTERM, ready, environ, targets=stage_outputs)
    finished = after_kill(signal.SIGTERM)
    held = moment.split()[1]
    assert finished and held not in finished, (moment, finished)

    # 2. The resumed run goes on without recomputing the stage's finished shards (it builds
    # the shards the training reads, maybe not yet the others); SIGKILL while the training
    # writes its second checkpoint (the first is in place to resume from).
    environ, ready = held_writer(wd, str(ckpt.relative_to(wd)), after=1)
    run_and_interrupt(wd, signal.SIGKILL, ready, environ, extra=("--rerun-incomplete",))
    stage_done = after_kill(signal.SIGKILL)
    for o, mtime in finished.items():
        assert stage_done.get(o) == mtime, f"finished {o} was recomputed"
    resume_at = checkpoint_iteration(ckpt)
    assert resume_at > 0

    # 3. A killed Snakemake cannot release its lock: the documented recovery step; then the
    # training resumes and everything downstream is rebuilt.
    sr.snakemake(wd, "--unlock", *TARGETS)
    sr.snakemake(wd, "--cores", "2", "--rerun-incomplete", *TARGETS)

    for o, mtime in stage_done.items():
        assert (wd / o).stat().st_mtime_ns == mtime, f"finished {o} was recomputed"
    history = json.loads((wd / model).with_name("train.json").read_text())
    assert history["resumed_from"] == resume_at, history
    assert history["iterations_this_run"] == history["iterations"] - resume_at, history
    assert not ckpt.exists(), "checkpoint left behind after the model was written"
    diffs = [d for t in TARGETS if (d := sr.same_outputs(baseline, wd, t))]
    assert not diffs, diffs
    if "evaluate" in STAGES:
        # metrics.json was recomputed from the resumed stages' outputs, and scores the same.
        assert (wd / METRICS).stat().st_mtime_ns != (baseline / METRICS).stat().st_mtime_ns
        assert metric_values(wd) == metric_values(baseline)
    # A killed writer's temporary file is removed when its output is written again.
    stray = [str(p.relative_to(wd)) for p in (wd / "results").rglob(".*.tmp*")]
    assert not stray, f"temporary files left behind: {stray}"
