"""Every rule declares what a cluster job needs, and the Slurm profile turns it into sbatch flags.

* Source check: each ``rule`` block in ``workflow/rules/*.smk`` has ``log:``, ``benchmark:``,
  ``threads:`` and ``resources:`` with ``mem_mb`` and ``runtime`` (minutes); rules that may run
  torch on a GPU also ``gpu``. The parsed rule names must equal ``snakemake --list-rules``, so
  no rule escapes the check.
* Resolved check (dry runs of the tiny synthcity config): ``gpu`` is 1 for the GPU rules when
  ``device`` may be CUDA (flow only with the torch backend) and 0 on ``device: cpu``.
* Profile check: ``profiles/slurm/config.yaml`` adapted with the README's example (account,
  partition, GPU partition and model, constraint, runtime under ``set-resources``), and with
  the ``gres`` alternative, is accepted by Snakemake, and the Slurm executor plugin's own
  functions (`get_submit_command`, `set_gres_string`, `validate_slurm_extra`) turn each planned
  job into ``sbatch -A ACCOUNT -p PARTITION -t RUNTIME --mem MEM_MB --cpus-per-task=THREADS
  [--gpus=MODEL:1 | --gres=...]``. No Slurm is needed (`test_slurm` runs a real one).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

import snakemake_runs as sr

RULES_DIR = sr.REPO / "workflow" / "rules"
# Rules that may run torch on a GPU: `resources: gpu` (0 on device: cpu), so the Slurm plugin
# requests --gpus and the local profile can limit concurrent GPU jobs.
GPU_RULES = {"train", "predict", "flow", "classifiers", "heatmaps"}
# GPU rules whose gpu also depends on a setting besides `device` (flow: only the torch backend).
GPU_ONLY_WITH = {"flow": {"flow": {"backend": "torch"}}}


def rule_blocks() -> dict[str, tuple[str, str]]:
    """Rule name -> (rule file, the rule's text) for every rule in workflow/rules/*.smk."""
    blocks = {}
    for f in sorted(RULES_DIR.glob("*.smk")):
        text = f.read_text()
        for m in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", text, flags=re.M | re.S):
            assert m[1] not in blocks, f"rule {m[1]} defined twice"
            blocks[m[1]] = (f.name, m[2])
    return blocks


def directive(body: str, name: str) -> str | None:
    """The text of one directive of a rule body (its line and the more-indented lines below)."""
    m = re.search(rf"^    {name}:(.*?)(?=^    \w+:|^    \w+\(|\Z)", body, flags=re.M | re.S)
    return m[1] if m else None


def listed_rules(tmp_path: Path) -> set[str]:
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(sr.SNAKEFILE), "-d", str(tmp_path),
         "--configfile", str(sr.DEFAULT_CONFIG), "--list-rules"],
        capture_output=True, text=True, timeout=120, env=sr.env())
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return {ln.split()[0] for ln in r.stdout.splitlines() if ln.strip() and ln[0].isalnum()}


def target_rules() -> dict[str, str]:
    """Rule name -> text of the rules in the Snakefile itself: targets such as `all` (input only)."""
    return {m[1]: m[2] for m in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", sr.SNAKEFILE.read_text(),
                                            flags=re.M | re.S)}


def test_source_check_sees_every_rule(tmp_path):
    """The block parser finds exactly the rules Snakemake knows (none hidden from the checks);
    the Snakefile's own rules only name targets (nothing runs, so no log or resources)."""
    targets = target_rules()
    assert "all" in targets
    for name, body in targets.items():
        assert not [d for d in ("shell", "script", "run", "output") if directive(body, d) is not None], name
    assert set(rule_blocks()) | set(targets) == listed_rules(tmp_path)


def test_every_rule_declares_log_benchmark_threads_and_resources():
    problems = []
    for name, (fname, body) in rule_blocks().items():
        where = f"rule {name} ({fname})"
        for d in ("log", "benchmark", "threads", "resources"):
            if directive(body, d) is None:
                problems.append(f"{where}: no {d}:")
        res = directive(body, "resources") or ""
        for key in ("mem_mb", "runtime") + (("gpu",) if name in GPU_RULES else ()):
            if not re.search(rf"^\s+{key}\s*=", res, flags=re.M):
                problems.append(f"{where}: no resources: {key}=")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- resolved values
def planned_resources(wd: Path, *args: str, configs=("c.yaml",)) -> dict[str, dict[str, str]]:
    """Rule -> {threads, resource: value} of a dry run of every job for metrics.json."""
    r = sr.snakemake(wd, "-n", "--forceall", *args, "--", sr.STAGES["evaluate"][1][0],
                     configs=configs)
    out = {}
    for block in re.split(r"\n(?:local)?rule ", r.stdout + r.stderr)[1:]:
        name = block.split(":", 1)[0].strip()
        res = re.search(r"^\s+resources: (.*)$", block, flags=re.M)
        threads = re.search(r"^\s+threads: (\d+)$", block, flags=re.M)
        fields = dict(kv.split("=", 1) for kv in res[1].split(", ")) if res else {}
        fields["threads"] = threads[1] if threads else "1"
        out[name] = fields
    return out


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_gpu_resource_follows_device(tmp_path, device):
    """gpu=1 for every GPU rule when `device` may be CUDA, gpu=0 (no --gpus) on `device: cpu`."""
    wd = tmp_path / "wd"
    sr.write_config(wd, {"device": device, "flow": {"backend": "torch"}})
    plan = planned_resources(wd, "--cores", "8")
    assert GPU_RULES <= set(plan), plan.keys()
    for rule, res in plan.items():
        want = int(device != "cpu" and rule in GPU_RULES)
        assert int(res.get("gpu", 0)) == want, (rule, res)
    # flow's GPU request also needs the torch backend (on `device: cpu` no rule requests one,
    # whatever the backend: asserted above)
    if device != "cpu":
        sr.write_config(wd, {"device": device, "flow": {"backend": "opencv"}}, name="cv.yaml")
        assert int(planned_resources(wd, "--cores", "8", configs=("cv.yaml",))["flow"]
                   .get("gpu", 0)) == 0


# ----------------------------------------------------------------------------- Slurm profile
class _Resources(dict):
    """Job resources as the plugin reads them (``.get(key)`` and ``.key``)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def _value(v: str):
    return int(v) if re.fullmatch(r"-?\d+", v) else v


def sbatch_call(rule: str, res: dict[str, str]) -> str:
    """The sbatch command line the Slurm executor plugin writes for a job with these resources
    (its own functions; account and partition as its `run_job` passes them)."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm.validation import validate_slurm_extra

    resources = _Resources({k: _value(v) for k, v in res.items() if k != "threads"})
    job = SimpleNamespace(resources=resources, threads=int(res["threads"]), name=rule)
    validate_slurm_extra(job)
    params = {"run_uuid": "uuid", "slurm_logfile": "log", "comment_str": f"rule_{rule}",
              "account": f"-A {resources['slurm_account']}",
              "partition": f"-p {resources['slurm_partition']}", "workdir": "/wd"}
    return get_submit_command(job, params) + set_gres_string(job)


def readme_profile_example() -> dict:
    """The YAML example of the README's "On a Slurm cluster" section."""
    text = (sr.REPO / "README.md").read_text()
    section = text[text.index("### On a Slurm cluster"):]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def adapted_plan(tmp_path: Path, changes: dict) -> dict[str, dict[str, str]]:
    """Dry-run resources of every job for metrics.json with profiles/slurm changed by
    ``changes`` (its default-resources / set-resources merged in), device auto, torch flow."""
    profile = yaml.safe_load((sr.REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"].update(changes.get("default-resources", {}))
    profile["set-resources"] = changes.get("set-resources", {})
    pdir = tmp_path / "myprofile"
    pdir.mkdir()
    (pdir / "config.yaml").write_text(yaml.safe_dump(profile))
    wd = tmp_path / "wd"
    sr.write_config(wd, {"device": "auto", "flow": {"backend": "torch", "threads": 3},
                         "train": {"threads": 4}})
    # (--cores only for the dry run, which otherwise caps threads at one core; a real run with
    # the Slurm executor gives each job its rule's threads, see test_slurm)
    plan = planned_resources(wd, "--profile", str(pdir), "--cores", "64")
    assert GPU_RULES <= set(plan), plan.keys()
    assert plan["train"]["threads"] == "4" and plan["flow"]["threads"] == "3", plan
    return plan


def test_slurm_profile_adapted_as_the_readme_shows(tmp_path):
    """The README's example (account, partition, GPU partition and model, a node constraint,
    a longer runtime): each job's sbatch call carries them, with CPUs = threads, --mem =
    mem_mb, -t = runtime; GPU rules ask for GPUs, the others do not."""
    example = readme_profile_example()
    acc = example["default-resources"]["slurm_account"]
    cpu_part = example["default-resources"]["slurm_partition"]
    per_rule = example["set-resources"]
    plan = adapted_plan(tmp_path, example)
    for rule, res in plan.items():
        call = sbatch_call(rule, res)
        mine = per_rule.get(rule, {})
        assert f"-A {acc}" in call, (rule, call)
        assert f"-p {mine.get('slurm_partition', cpu_part)}" in call, (rule, call)
        assert f"-t {mine.get('runtime', res['runtime'])}" in call, (rule, call)
        assert f"--mem {res['mem_mb']}" in call, (rule, call)
        assert f"--cpus-per-task={res['threads']}" in call, (rule, call)
        if rule in GPU_RULES:
            model = mine.get("gpu_model")
            assert (f"--gpus={model}:1" if model else "--gpus=1") in call, (rule, call)
        else:
            assert "--gpus" not in call and "--gres" not in call, (rule, call)
        if "constraint" in mine:
            assert f"-C {mine['constraint']}" in call, (rule, call)
    assert "train" in per_rule and per_rule["train"].get("gpu_model"), per_rule


def test_slurm_profile_gres_form_and_extra_flags(tmp_path):
    """`gres` with `gpu: 0` (the README's alternative to gpu_model) gives --gres and no
    --gpus; qos and slurm_extra reach sbatch (slurm_extra passes the plugin's validation)."""
    extra = {"gres": "gpu:h100:1", "gpu": 0}
    changes = {"default-resources": {"slurm_account": "p", "slurm_partition": "cpu"},
               "set-resources": {r: {"slurm_partition": "gpu", **extra} for r in GPU_RULES}}
    changes["set-resources"]["train"].update(qos="long", slurm_extra="'--exclusive'")
    plan = adapted_plan(tmp_path, changes)
    for rule, res in plan.items():
        call = sbatch_call(rule, res)
        assert ("--gres=gpu:h100:1" in call) == (rule in GPU_RULES), (rule, call)
        assert "--gpus" not in call, (rule, call)
    train = sbatch_call("train", plan["train"])
    assert "--qos=long" in train and "--exclusive" in train, train
