"""The Slurm profile against a real (single-node, localhost) Slurm cluster.

Starts munged/slurmctld/slurmd in a tmp dir (`slurm_cluster.SlurmCluster`), runs a small
synthcity workflow with ``--profile profiles/slurm``, and checks that every job went through
sbatch with the rule's threads/memory/runtime, and that the outputs equal a local run's
(``--profile profiles/local``). Skips, saying why, when Slurm/munge are not installed
(``.ci/install-system.sh`` installs them) or the synthcity renderer is missing.

Test-only plugin settings: this cluster has no accounting database (slurmdbd), so ``sacct``
fails and the plugin must poll with ``squeue`` (MinJobAge 300 s >= 3 x the 2 s initial delay);
the user-facing profile keeps the plugin's default (sacct).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

import slurm_cluster
import snakemake_runs as sr

# Deepest stage run through Slurm (capped: each Slurm job costs ~10 s of scheduling and
# Snakemake start-up on CI). Targets: the val shards of that stage, or the manifest.
SLURM_UPTO = "flow"
SLURM_STAGE = sr.deepest_stage(upto=SLURM_UPTO)


def slurm_targets() -> list[str]:
    if SLURM_STAGE in (None, "manifest"):
        return [f"{sr.RESULTS}/manifest.json"]
    return [t for t in sr.shard_targets(SLURM_STAGE, splits=("val",))]


NO_SLURM = slurm_cluster.unavailable()
NO_WORKFLOW = sr.renderer_missing() or (
    None if SLURM_STAGE else "no pipeline stage in the Snakefile yet")

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(NO_SLURM is not None, reason=NO_SLURM or "")]

SLURM_TEST_ARGS = (
    "--slurm-status-command", "squeue",            # no slurmdbd here: sacct cannot answer
    "--slurm-init-seconds-before-status-checks", "2",
    "--slurm-keep-successful-logs",
    "--slurm-no-account",
    "--jobs", "4",
    "--latency-wait", "5",
    "--retries", "0",
)


@pytest.fixture(scope="module")
def cluster():
    c = slurm_cluster.SlurmCluster(min_job_age=300)
    c.start()
    try:
        yield c
    finally:
        c.stop()


# GPU requests as the plugin writes them (see test_rule_resources): gpu=1 alone, with
# gpu_model (README), and a typed gres with gpu: 0 (README's alternative), on a GPU partition.
GPU_REQUESTS = {"gpus": ["--gpus=1"], "gpu_model": ["-p", "gpu", "--gpus={model}:1"],
                "gres": ["-p", "gpu", "--gres=gpu:{model}:1"]}


@pytest.mark.parametrize("request_form", sorted(GPU_REQUESTS))
def test_cluster_runs_a_batch_job(cluster, tmp_path, request_form):
    """The test cluster itself: sbatch + srun inside the job, visible in squeue afterwards;
    each form of GPU request the plugin writes for the profile's settings is schedulable."""
    env = cluster.env()
    flags = [f.format(model=cluster.gpu_model) for f in GPU_REQUESTS[request_form]]
    r = subprocess.run(["sbatch", "--parsable", "-n1", "-t", "1", "--mem", "100", *flags,
                        "-o", str(tmp_path / "out.txt"), "--wrap", "srun -n1 hostname"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert r.returncode == 0, r.stderr
    jid = r.stdout.strip().split(";")[0]
    end = time.monotonic() + 30
    while time.monotonic() < end:
        state = {j["id"]: j["state"] for j in cluster.jobs()}.get(jid)
        if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"):
            break
        time.sleep(0.3)
    assert state == "COMPLETED", (state, cluster.logs())
    assert (tmp_path / "out.txt").read_text().strip() == cluster.node
    info = subprocess.run(["scontrol", "show", "job", jid], capture_output=True, text=True,
                          env=env, timeout=20).stdout
    typed = f"{cluster.gpu_model}:" if request_form != "gpus" else ""
    assert re.search(rf"TresPer(Job|Node|Task)=gres[:/]gpu:{typed}1\b", info), info
    if "-p" in flags:
        assert "Partition=gpu" in info, info


def job_resources(plan_output: str) -> dict[str, dict[str, str]]:
    """Rule -> {threads, mem_mb, runtime, gpu} as a dry run prints them."""
    out = {}
    for block in re.split(r"\n(?:local)?rule ", plan_output)[1:]:
        name = block.split(":", 1)[0].strip()
        res = re.search(r"resources: (.*)", block)
        threads = re.search(r"threads: (\d+)", block)
        fields = dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}
        fields["threads"] = threads.group(1) if threads else "1"
        out[name] = fields
    return out


@pytest.mark.skipif(NO_WORKFLOW is not None, reason=NO_WORKFLOW or "")
def test_workflow_through_slurm_equals_local_run(cluster, tiny_run, tmp_path):
    """Every planned job (per stage, per shard) becomes one completed sbatch job sized from
    its rule, and the artifacts equal those of a local run of the same config. Both runs start
    from the shared tiny run's rendered dataset (its `results/` removed), so the jobs are the
    manifest and the stage's shards."""
    targets = slurm_targets()
    local, remote = tmp_path / "local", tmp_path / "slurm"
    for wd in (local, remote):
        sr.copy_run(tiny_run, wd)
        shutil.rmtree(wd / "results")
        sr.write_config(wd)

    # (--cores: a dry run otherwise caps each rule's threads at one core)
    plan, dry = sr.planned_jobs(remote, "--cores", "64", *targets, with_output=True)
    assert plan, "nothing to run"
    resources = job_resources(dry)
    # localrules run on the submitting host, the others each as one sbatch job.
    local_rules = set(re.findall(r"^localrule (\w+):", dry, flags=re.M))
    via_slurm = {r: n for r, n in plan.items() if r not in local_rules}
    assert via_slurm, f"every planned job is a localrule: {plan}"

    # The local reference run goes on beside the Slurm run (which mostly waits on polls).
    t0 = time.monotonic()
    local_run = subprocess.Popen(
        sr.command(local, "--profile", str(sr.REPO / "profiles" / "local"), "--cores", "1",
                   *targets), env=sr.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        r = sr.snakemake(remote, "--profile", str(sr.REPO / "profiles" / "slurm"),
                         *SLURM_TEST_ARGS, *targets, environ=cluster.env(), check=False,
                         timeout=240)
        t_slurm = time.monotonic() - t0
        local_log, _ = local_run.communicate(timeout=240)
    finally:
        if local_run.poll() is None:
            local_run.kill()
            local_run.wait()
    assert local_run.returncode == 0, f"local run failed:\n{local_log[-6000:]}"
    log = r.stdout + r.stderr
    assert r.returncode == 0, f"{log[-6000:]}\n{cluster.logs()}"
    print(f"Slurm run {t_slurm:.1f} s (local run beside it), jobs {plan}")

    # Every planned job was an sbatch job that completed (comment: rule_<rule>[_wildcards_..]).
    jobs = [j for j in cluster.jobs() if j["comment"].startswith("rule_")]
    assert all(j["state"] == "COMPLETED" for j in jobs), jobs
    per_rule: dict[str, int] = {}
    for j in jobs:
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", j["comment"]).group(1)
        per_rule[rule] = per_rule.get(rule, 0) + 1
    assert per_rule == via_slurm, (per_rule, via_slurm)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert sorted(submitted) == sorted(j["id"] for j in jobs)
    assert list((remote / ".snakemake" / "slurm_logs").rglob("*.log")), "no plugin job logs"

    # Each job was sized from its rule: CPUs = threads, memory = mem_mb, time = runtime.
    for j in jobs:
        info = subprocess.run(["scontrol", "show", "job", j["id"]], capture_output=True,
                              text=True, env=cluster.env(), timeout=20).stdout
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", j["comment"]).group(1)
        want = resources[rule]
        assert re.search(rf"NumCPUs={want['threads']}\b", info), (rule, want, info)
        assert re.search(rf"MinMemoryNode={want['mem_mb']}M\b", info), (rule, want, info)
        minutes = int(want["runtime"])
        assert f"TimeLimit={minutes // 60:02d}:{minutes % 60:02d}:00" in info or \
            f"TimeLimit={minutes // 1440}-" in info, (rule, want, info)
        if int(want.get("gpu", 0)):
            assert re.search(r"TresPer(Job|Node|Task)=gres[:/]gpu", info), (rule, info)

    for t in targets + [f"{sr.RESULTS}/manifest.json"]:
        assert sr.same_outputs(local, remote, t) is None, sr.same_outputs(local, remote, t)
