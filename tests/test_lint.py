"""`snakemake --lint` on the repository's Snakefile reports nothing (default and tiny config).

Snakemake 9.27's `--lint json` is not usable (the CLI ignores the format argument, and the
API's JSON writer fails on its own snakefile objects), so this parses the text report: one
block per linted item, ``Lints for rule NAME (line N, FILE):`` or ``Lints for snakefile FILE:``,
followed by ``    * TITLE:`` lines.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEADER = re.compile(r"^Lints for (?P<item>(rule \S+|snakefile \S+?))(?: \(line \d+, (?P<file>.+)\))?:$")
TITLE = re.compile(r"^    \* (?P<title>.+?):?$")


def parse_lints(report: str) -> list[tuple[str, str]]:
    """(item, title) pairs from a `snakemake --lint` text report; item e.g. 'rule flow'."""
    lints, item = [], None
    for line in report.splitlines():
        if m := HEADER.match(line):
            item = m["item"] + (f" ({Path(m['file']).name})" if m["file"] else "")
        elif item and (m := TITLE.match(line)):
            lints.append((item, m["title"]))
    return lints


def test_parse_lints_reads_snakemake_text_format():
    report = (
        "Lints for snakefile /x/workflow/rules/a.smk:\n"
        "    * Mixed rules and functions in same snakefile.:\n"
        "      body text\n\n"
        "Lints for rule flow (line 3, /x/workflow/rules/flow.smk):\n"
        "    * No log directive defined:\n"
        "      body\n"
    )
    assert parse_lints(report) == [
        ("snakefile /x/workflow/rules/a.smk", "Mixed rules and functions in same snakefile."),
        ("rule flow (flow.smk)", "No log directive defined"),
    ]


# The defaults, and the tiny configuration the end-to-end tests and CI run (laid over them).
CONFIGS = {"default": ["config/config.yaml"], "tiny": ["config/config.yaml", ".test/config.yaml"]}


@pytest.mark.parametrize("configs", CONFIGS.values(), ids=CONFIGS.keys())
def test_snakemake_lint_is_clean(tmp_path, configs):
    # Lint from a scratch workdir so nothing is written into the repository.
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
         "--configfile", *(str(REPO / c) for c in configs), "--lint"],
        capture_output=True, text=True, timeout=120,
    )
    report = r.stdout + r.stderr
    lints = parse_lints(report)
    listing = "\n".join(f"  {item}: {title}" for item, title in lints)
    assert not lints, f"snakemake --lint found {len(lints)} problem(s):\n{listing}"
    assert r.returncode == 0, f"snakemake --lint failed without parseable lints:\n{report[-3000:]}"
    assert "good condition" in report


def test_bare_snakemake_plans_the_main_job(tmp_path):
    """`snakemake --cores 2` without a target runs rule `all`: the embedded main job's
    metrics.json (a dry run of the tiny configuration, which renders synthcity first)."""
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
         "--configfile", str(REPO / ".test" / "config.yaml"), "--cores", "2", "-n"],
        capture_output=True, text=True, timeout=120,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    stats = dict(re.findall(r"^(\w+) +(\d+)$", out, flags=re.M))
    assert stats.get("all") == "1" and stats.get("synthesize") == "1" and stats.get("evaluate") == "1", out[-3000:]
    assert "input: results/synthcity/metrics.json" in out


RULES_SCRIPT = r"""
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, ResourceSettings, OutputSettings
repo, workdir = Path(sys.argv[1]), Path(sys.argv[2])
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wapi = api.workflow(resource_settings=ResourceSettings(), snakefile=repo / "Snakefile",
                        config_settings=ConfigSettings(configfiles=[repo / "config" / "config.yaml"]),
                        workdir=workdir)
    wf = wapi._get_workflow(check_envvars=False)
    wf.include(wapi.snakefile, overwrite_default_target=True, print_compilation=False)
    wf.check()
    rules = [{"name": r.name, "norun": r.norun, "file": str(r.snakefile),
              "log": [str(x) for x in r.log], "benchmark": str(r.benchmark or ""),
              "resources": sorted(r.resources)} for r in wf.rules]
print("RULES=" + json.dumps(rules))
"""

# Rules that may run torch on a GPU: they must declare `gpu` (0 on device: cpu) so the Slurm
# plugin requests --gpus and the local profile can limit concurrent GPU jobs.
GPU_RULES = {"train", "predict", "flow", "classifiers", "heatmaps"}


def workflow_rules(tmp_path) -> list[dict]:
    r = subprocess.run([sys.executable, "-c", RULES_SCRIPT, str(REPO), str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RULES=")), None)
    assert line, f"could not load the workflow:\n{(r.stdout + r.stderr)[-3000:]}"
    import json
    return json.loads(line[len("RULES="):])


def test_every_rule_has_log_benchmark_and_resources(tmp_path):
    """Each rule that runs something writes a log and a benchmark (time, memory per job) and
    declares mem_mb and runtime (minutes) for the cluster; GPU rules declare gpu."""
    problems = []
    for rule in workflow_rules(tmp_path):
        if rule["norun"]:
            continue
        where = f"rule {rule['name']} ({Path(rule['file']).name})"
        if not rule["log"]:
            problems.append(f"{where}: no log:")
        if not rule["benchmark"]:
            problems.append(f"{where}: no benchmark:")
        for key in ("mem_mb", "runtime"):
            if key not in rule["resources"]:
                problems.append(f"{where}: no resources: {key}")
        if rule["name"] in GPU_RULES and "gpu" not in rule["resources"]:
            problems.append(f"{where}: no resources: gpu")
    assert not problems, "\n".join(problems)
