"""Operating the workflow: rerunning single stages, building one artifact, surviving a kill.

All runs use the repository's Snakefile on a tiny synthcity config in tmp dirs (see
`snakemake_runs`). The stage under test, `OPS_STAGE`, is the deepest stage of
`snakemake_runs.STAGES` that the Snakefile includes, capped at `OPS_UPTO` to keep CI short.
One complete run (`baseline`) is shared; every test that changes files works on a copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import snakemake_runs as sr

# Deepest stage these tests drive. "flow": ~60 s CPU for the whole module. Raising it to
# "heatmaps" works (tiny CAM settings are in snakemake_runs.TINY) but adds the classifier
# and 3 heatmap shards to the baseline, the forced rerun and both interrupted runs.
OPS_UPTO = "flow"
OPS_STAGE = sr.deepest_stage(upto=OPS_UPTO)
STAGES = sr.available_stages(upto=OPS_UPTO)
TARGETS = [t for s in STAGES for t in sr.STAGES[s][1]]

# A changed value in each stage's own config section (any schema-valid change will do).
PARAM_TWEAKS = {
    "manifest": {"datasets": {sr.DATASET: {"min_tag_fraction": 0.002}}},
    "flow": {"flow": {"tvl1": {"tau": 0.2}}},
    "classifiers": {"heatmaps": {"cam": {"lr": 1.0e-3}}},
    "heatmaps": {"heatmaps": {"scales": [1.0, 1.5]}},
    "pseudolabels": {"pseudolabels": {"lambda_m": 1.5}},
}


def _skip_reason() -> str | None:
    if OPS_STAGE is None:
        return "no pipeline stage is included in the Snakefile yet"
    return sr.renderer_missing()


pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_skip_reason() is not None,
                                                   reason=_skip_reason() or "")]


def copy_run(src: Path, dst: Path) -> Path:
    """Copy a run dir with mtimes (copy2) so Snakemake sees it exactly as it was."""
    shutil.copytree(src, dst, symlinks=True, copy_function=shutil.copy2)
    return dst


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A complete, uninterrupted run of every available stage up to OPS_STAGE."""
    wd = tmp_path_factory.mktemp("baseline")
    sr.write_config(wd)
    sr.snakemake(wd, "--cores", "2", *TARGETS)
    return wd


@pytest.fixture(scope="module")
def deps(baseline) -> dict[str, set[str]]:
    """Rule -> rules it depends on, for TARGETS."""
    return sr.rule_graph(baseline, *TARGETS)


def stage_rule(stage: str) -> str:
    return "manifest" if stage == "manifest" else stage


def summary(wd: Path, *targets: str) -> dict[str, str]:
    """Output file -> rule that makes it (``--summary``), for the current targets."""
    r = sr.snakemake(wd, "--summary", *targets)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    header = next(i for i, row in enumerate(rows) if row[:1] == ["output_file"])
    col = rows[header].index("rule")
    return {row[0]: row[col] for row in rows[header + 1:] if len(row) > col}


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


# ----------------------------------------------------------------------------- one artifact
def test_single_artifact_builds_only_what_it_needs(baseline, tmp_path):
    """`snakemake results/synthcity/flow/val/shard-0.h5` builds that shard (and the manifest
    it needs), no sibling shard and nothing downstream. (The rendered dataset is reused from
    the baseline run to save time; all of results/ is removed.)"""
    if "flow" not in STAGES:
        pytest.skip("flow stage not in the Snakefile yet")
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
def test_forcerun_reruns_stage_and_downstream_only(baseline, deps, tmp_path):
    """`--forcerun <stage>` reruns that stage's jobs and everything depending on them (new
    mtime, same content), and leaves every upstream file untouched (same mtime and bytes).
    Note the `=`: `--forcerun` takes several values, so `--forcerun flow TARGET` would force
    TARGET's rule too."""
    rule = stage_rule(OPS_STAGE)
    wd = copy_run(baseline, tmp_path / "run")
    assert rule in deps, (rule, deps)
    expected = {rule} | sr.downstream(deps, rule)
    above = sr.upstream(deps, rule)

    made_by = summary(wd, *TARGETS)
    assert expected <= set(made_by.values()), (expected, made_by)
    before = sr.snapshot(wd)
    sr.snakemake(wd, "--cores", "2", f"--forcerun={rule}", *TARGETS)
    after = sr.snapshot(wd)
    rerun = {f for f in before if after.get(f, (None,))[0] != before[f][0]}
    for f, r in made_by.items():
        if r in above or f.startswith("data/"):
            assert f not in rerun, f"upstream {f} (rule {r}) was rewritten"
        elif r in expected:
            assert f in rerun, f"{f} (rule {r}) was not rerun"
            assert sr.same_outputs(baseline, wd, f) is None, f"{f} changed content on rerun"


# ----------------------------------------------------------------------------- params trigger
def test_changed_config_section_reruns_that_stage(baseline, deps, tmp_path):
    """Changing a stage's config section plans that stage (reason: params changed) and its
    downstream, never the stages above it."""
    stage = OPS_STAGE
    if stage not in PARAM_TWEAKS:
        pytest.skip(f"no config tweak known for stage {stage!r}")
    rule = stage_rule(stage)
    wd = copy_run(baseline, tmp_path / "run")
    sr.write_config(wd, PARAM_TWEAKS[stage], name="tweak.yaml")
    plan, out = sr.planned_jobs(wd, *TARGETS, configs=("c.yaml", "tweak.yaml"),
                                with_output=True)
    assert rule in plan, plan
    assert "Params have changed since last execution" in out
    assert not set(plan) & sr.upstream(deps, rule), plan
    assert set(plan) <= {rule} | sr.downstream(deps, rule), plan


# ----------------------------------------------------------------------------- interruption
def stage_outputs(stage: str) -> list[str]:
    return [t for t in sr.STAGES[stage][1] if t.endswith(".h5")] or sr.STAGES[stage][1]


def run_and_interrupt(wd: Path, sig: int, outputs: list[str], timeout: float = 120):
    """Start Snakemake (one core: jobs one after another) and send ``sig`` to its process
    group once one of ``outputs`` is finished and another is being made. Returns the
    finished outputs at that moment and the one that was in progress."""
    cmd = sr.command(wd, "--cores", "1", *TARGETS)
    proc = subprocess.Popen(cmd, env=sr.env(), stdout=subprocess.DEVNULL,
                            stderr=open(wd / "interrupted.log", "w"), start_new_session=True)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if proc.poll() is not None:
                pytest.fail(f"run finished before it could be interrupted; see {wd}/interrupted.log")
            marked = sr.incomplete_outputs(wd)
            done = [o for o in outputs if o not in marked and (wd / o).exists()]
            busy = {o for o in marked & set(outputs) if not (wd / o).exists()}
            if done and busy:
                # Prefer killing while the job is writing its temporary file.
                started, writing = time.monotonic(), False
                while not writing and time.monotonic() - started < 5 and proc.poll() is None:
                    writing = any(p.name.endswith(".tmp") for o in busy
                                  for p in (wd / o).parent.glob(f".{Path(o).name}.*"))
                    time.sleep(0.01)
                os.killpg(proc.pid, sig)
                proc.wait(timeout=60)
                print(f"{signal.Signals(sig).name}: finished {done}, in progress {sorted(busy)}"
                      f"{' (writing its temporary file)' if writing else ''}")
                return done, busy
            time.sleep(0.02)
        pytest.fail("stage did not reach a second job in time")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_interrupted_stage_resumes_without_recomputing(baseline, tmp_path, sig):
    """Kill a run in the middle of OPS_STAGE: no file that looks complete is corrupt;
    `--rerun-incomplete` finishes it without recomputing finished shards, and the results equal
    the uninterrupted run's."""
    outputs = stage_outputs(OPS_STAGE)
    if len(outputs) < 2:
        pytest.skip(f"stage {OPS_STAGE} has fewer than two jobs to interrupt between")
    # Start from the baseline with OPS_STAGE's val shards (and what depends on them) removed:
    # the interrupted run redoes part of exactly that stage.
    wd = copy_run(baseline, tmp_path / "run")
    outputs = [o for o in outputs if "/val/" in o] if sum("/val/" in o for o in outputs) > 1 \
        else outputs
    for t in outputs + [t for t in sr.STAGES[OPS_STAGE][1] if not t.endswith(".h5")]:
        (wd / t).unlink()
    done, busy = run_and_interrupt(wd, sig, outputs)

    broken = {}
    for p in list((wd / "results").rglob("*")) + list((wd / "data").rglob("*")):
        if p.is_file() and sr.looks_complete(p) and (why := sr.check_artifact(p)):
            broken[str(p.relative_to(wd))] = why
    assert not broken, f"corrupt files after {signal.Signals(sig).name}: {broken}"
    for o in busy:
        assert not (wd / o).exists() or sr.check_artifact(wd / o) is None, o

    finished = {o: (wd / o).stat().st_mtime_ns for o in done}
    if sig == signal.SIGKILL:
        # A killed Snakemake cannot release its lock: the documented recovery step.
        sr.snakemake(wd, "--unlock", *TARGETS)
    sr.snakemake(wd, "--cores", "2", "--rerun-incomplete", *TARGETS)
    for o, mtime in finished.items():
        assert (wd / o).stat().st_mtime_ns == mtime, f"finished {o} was recomputed"
    diffs = [d for t in TARGETS if (d := sr.same_outputs(baseline, wd, t))]
    assert not diffs, diffs
    stray = [str(p.relative_to(wd)) for p in (wd / "results").rglob(".*.tmp")]
    if stray:  # not corrupt (nothing reads them), but left behind by the killed writer
        print(f"temporary files left by the killed job: {stray}")
