"""Issue 15, items 1 and 2: provenance checked where it is read, and resume keys.

Each test reproduces one case of the issue (quoted in its docstring). Readers are tested at
the library level on hand-written shards; one small Snakemake run (flow + flow_quality on a
hand-made Cityscapes-layout tree) shows that a config change reruns cleanly, that a stale or
truncated shard ends in one log line naming the file and the ``--forcerun`` rule (no Python
traceback: ``tagseg.logs.configure``'s hook for :class:`tagseg.errors.TagsegError`), and that following that advice recovers.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from tagseg import h5io, provenance
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.flow import quality as flow_quality
from tagseg.flow.stage import provenance_config
from tagseg.flow.storage import write_pairs
from tagseg.h5io import ArtifactError
from tagseg.train.loop import input_provenance, train

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
H, W = 8, 16


def _config(**tvl1) -> dict:
    cfg = copy.deepcopy(CONFIG)
    cfg["flow"]["tvl1"].update(tvl1)
    return cfg


def _manifest(tmp_path: Path, dataset: str = "tiny", split: str = "val") -> Path:
    frames = [str(tmp_path / f"f{i}.png") for i in range(12)]
    snips = [Snippet(id=f"{dataset}_{k:06d}_000005", split=split, city=dataset, frames=frames, annotated=5,
                     tags=["road", "sky"], gt=None, shard=0) for k in range(2)]
    m = Manifest(dataset=dataset, kind="cityscapes", root=str(tmp_path), size=(H, W), resize=1.0,
                 classes=["road", "sky"], iconic=None, shards={"train": 0, "val": 0, split: 1}, snippets=snips)
    path = tmp_path / "results" / dataset / "manifest.json"
    m.save(path)
    return path


def _flow_shard(path: Path, config: dict, manifest: Path, dataset: str = "tiny") -> Path:
    """A flow shard of the manifest's val snippets, recording the provenance ``config`` gives."""
    made = h5io.Provenance(dataset, provenance.chain(config, "flow"), h5io.manifest_digest(manifest))
    with h5io.write_artifact(path, "flow", config=provenance_config(config["flow"]), provenance=made) as f:
        for k in range(2):
            write_pairs(f, f"town_{k:06d}_000005", np.arange(-4, 6), np.zeros((10, 2, H, W), np.float32),
                        {"encoding": "float32", "compression": "none"})
    return path


# ------------------------------------------------------------------------------ item 1, unit level
def test_flow_shard_with_other_tvl1_parameters_is_refused_by_every_reader(tmp_path):
    """"Downstream stages do not check a shard's provenance: a flow shard computed with other
    TV-L1 parameters gives `metrics.json` rc 0": flow quality, pseudo-labels and training (the
    readers on the way to metrics.json; predict shares the check) refuse it, naming the shard
    and `--forcerun=flow`."""
    from tagseg.pseudolabels.stage import run_shard as pseudolabels

    manifest = _manifest(tmp_path)
    shard = _flow_shard(tmp_path / "results/tiny/flow/val/shard-0.h5", _config(**{"lambda": 0.3}), manifest)
    now = _config()
    want = f"{shard}: stale flow artifact: made with another 'flow' config section"
    readers = {
        "flow_quality": lambda p: flow_quality.evaluate(manifest, [shard], now["flow"], "val", p),
        "pseudolabels": lambda p: pseudolabels(manifest, shard, tmp_path / "no-heatmaps.h5",
                                               tmp_path / "out.h5", "val", 0, now["pseudolabels"], 10, 0, p),
        "train": lambda p: input_provenance(h5io_manifest(manifest), {"flow": [shard]}, p),
    }
    for name, read in readers.items():
        param = provenance.rule_param(now, "tiny", "pseudolabels" if name == "pseudolabels" else "flow")
        with pytest.raises(ArtifactError) as e:
            read(param)
        msg = str(e.value)
        assert msg.startswith(want) and msg.count("\n") == 0, (name, msg)
        assert "snakemake --forcerun=flow" in msg, (name, msg)
    assert not (tmp_path / "out.h5").exists()
    # the same shard is accepted by the config it was made with
    assert input_provenance(h5io_manifest(manifest), {"flow": [shard]},
                            provenance.rule_param(_config(**{"lambda": 0.3}), "tiny", "flow"))


def h5io_manifest(path: Path) -> Manifest:
    from tagseg.datasets.manifest import load

    return load(path)


def test_flow_shard_of_another_dataset_is_refused(tmp_path):
    """"A flow shard of another dataset gives flow/quality.json over 2 of 16 snippets, rc 0":
    the shard records its dataset and manifest; both are checked."""
    manifest = _manifest(tmp_path)
    param = provenance.rule_param(CONFIG, "tiny", "flow")
    other = _flow_shard(tmp_path / "results/tiny/flow/val/shard-0.h5", CONFIG,
                        _manifest(tmp_path / "o", "other"), dataset="other")
    with pytest.raises(ArtifactError, match=r"shard-0.h5: flow artifact of dataset 'other', not 'tiny'.*"
                                            r"--forcerun=flow"):
        flow_quality.evaluate(manifest, [other], CONFIG["flow"], "val", param)
    # same dataset name, made from another manifest (another render, a copied results folder)
    m2 = _manifest(tmp_path / "o2")
    Path(m2).write_text(Path(m2).read_text().replace('"tiny_000001_000005"', '"tiny_000009_000005"'))
    foreign = _flow_shard(tmp_path / "results/tiny/flow/val/shard-1.h5", CONFIG, m2)
    with pytest.raises(ArtifactError, match=r"shard-1.h5: flow artifact made from another manifest"):
        flow_quality.evaluate(manifest, [foreign], CONFIG["flow"], "val", param)
    ok = _flow_shard(tmp_path / "results/tiny/flow/val/shard-2.h5", CONFIG, manifest)
    assert flow_quality.evaluate(manifest, [ok], CONFIG["flow"], "val", param)["pairs"] == 0  # no GT


def test_training_on_extra_datasets_checks_each_shard_against_its_own_dataset(tmp_path):
    """With `train.extra_datasets` the training manifest mixes datasets: each shard is checked
    against the dataset its snippets come from (not against the training manifest)."""
    from tagseg.datasets.extra import combine

    target, web = _manifest(tmp_path / "t", "tiny", "train"), _manifest(tmp_path / "w", "web", "train")
    mixed = combine(h5io_manifest(target), [h5io_manifest(web)])
    param = provenance.rule_param(CONFIG, "tiny", "flow")
    own = _flow_shard(tmp_path / "t/results/tiny/flow/train/shard-0.h5", CONFIG, target)
    extra = _flow_shard(tmp_path / "w/results/web/flow/train/shard-0.h5", CONFIG, web, dataset="web")
    assert set(input_provenance(mixed, {"flow": [own, extra]}, param)) == {"flow"}
    with pytest.raises(ArtifactError, match=r"flow/train/shard-0.h5: flow artifact of dataset 'tiny', not 'web'"):
        input_provenance(mixed, {"flow": [own, own]}, param)


def test_truncated_shard_names_the_file_and_how_to_recover(tmp_path):
    """"A truncated shard says 'corrupt' but not how to recover (`--forcerun=<rule>`)"."""
    manifest = _manifest(tmp_path)
    shard = _flow_shard(tmp_path / "results/tiny/flow/val/shard-0.h5", CONFIG, manifest)
    shard.write_bytes(shard.read_bytes()[:300])
    with pytest.raises(ArtifactError) as e:
        flow_quality.evaluate(manifest, [shard], CONFIG["flow"], "val",
                              provenance.rule_param(CONFIG, "tiny", "flow"))
    msg = str(e.value)
    assert msg.startswith(f"{shard}: not a readable HDF5 file (truncated or corrupt") and "\n" not in msg
    assert "rerun: snakemake --forcerun=flow <target> (or delete it and rerun snakemake)" in msg
    # a reader that does not say which stage it wants still finds the rule from the path
    with pytest.raises(ArtifactError, match="--forcerun=flow"):
        h5io.open_artifact(shard)


def test_stale_chain_names_the_first_stage_whose_config_changed(tmp_path):
    """A pseudo-label shard made from flows of other TV-L1 parameters is stale although its own
    section did not change: the advice is the upstream rule (`--forcerun=flow`)."""
    path = tmp_path / "results/tiny/pseudolabels/val/shard-0.h5"
    old = _config(**{"lambda": 0.3})
    made = h5io.Provenance("tiny", provenance.chain(old, "pseudolabels"), None)
    with h5io.write_artifact(path, "pseudolabels", config=provenance.stage_config(old, "pseudolabels"),
                             provenance=made):
        pass
    expect = provenance.Expectations.from_param(provenance.rule_param(CONFIG, "tiny", "pseudolabels"))
    with pytest.raises(ArtifactError, match=r"stale pseudolabels artifact: made with another 'flow' config "
                                            r"section \(the 'flow' stage's config hash .*--forcerun=flow"):
        h5io.open_artifact(path, "pseudolabels", expect=expect.of("pseudolabels"))
    # the writer refuses a provenance chain that does not hold its own config hash
    with pytest.raises(ValueError, match="rule's params disagree"):
        h5io.write_artifact(path, "pseudolabels", config={"other": 1}, provenance=made)


def test_rule_params_carry_the_hashes_readers_check():
    """Changing a knob of stage X changes rule X's `cfg` param (Snakemake reruns X) and the
    provenance param of every rule that reads X's shards, with the same hash X records; other
    stages' params are unchanged."""
    from tagseg.train import rules as tr

    tweaked = _config(tau=0.2)
    assert provenance.stage_config(tweaked, "flow") != provenance.stage_config(CONFIG, "flow")
    flow_hash = h5io.config_hash(provenance_config(tweaked["flow"]))
    assert provenance.rule_param(tweaked, "d", "pseudolabels")["hashes"]["flow"] == flow_hash
    assert provenance.rule_param(tweaked, "d", "heatmaps") == provenance.rule_param(CONFIG, "d", "heatmaps")
    v = CONFIG["train"]["variant"]
    assert tr.train_provenance(tweaked, "synthcity", v)["hashes"]["flow"] == flow_hash
    ts = next(n for n, c in CONFIG["train"]["variants"].items() if c["two_stream"])
    assert tr.predict_provenance(tweaked, "d", ts)["hashes"] == {"flow": flow_hash}
    rgb = next(n for n, c in CONFIG["train"]["variants"].items() if not c["two_stream"])
    assert tr.predict_provenance(tweaked, "d", rgb)["hashes"] == {}
    threads = copy.deepcopy(CONFIG)
    threads["flow"]["threads"] = 7  # not a knob of the flows
    assert provenance.rule_param(threads, "d", "flow") == provenance.rule_param(CONFIG, "d", "flow")


# ------------------------------------------------------------------------------ item 2, resume keys
@pytest.fixture
def tiny_train(tmp_path):
    from test_train import make_dataset, train_cfg

    m, shards = make_dataset(tmp_path / "data", n_train=2, n_val=1)
    cfg = train_cfg(iterations=4, checkpoint_every=2, log_every=2)
    for v in cfg["variants"].values():  # no CRF loss: faster, and beside the point here
        v["losses"] = [t for t in v["losses"] if t != "crf"]
    return m, shards["train"], cfg


def test_resume_from_checkpoint_made_with_different_inputs_restarts(tiny_train, tmp_path, caplog):
    """"Training resumes from a `checkpoint.pt` made with different inputs ... After
    `pseudolabels.lambda_a` changed and the shards were rebuilt, it resumed at iteration 10 with
    an INFO line only": the resume key covers the input shards' provenance; the checkpoint is
    moved aside (not deleted) with a WARNING saying why, and training starts at 0."""
    from test_train import READERS

    m, shards, cfg = tiny_train
    model = tmp_path / "run" / "model.pt"
    run = dict(readers=READERS, progress=False)
    train(m, cfg, "two_stream_pseudo", model, shards, stop_after=2, **run)
    s = train(m, cfg, "two_stream_pseudo", model, shards, stop_after=1, **run)
    assert s["resumed_from"] == 2  # same inputs: resumes
    # the pseudo-label shards are rebuilt with another pseudolabels section
    with h5py.File(shards["pseudo"][0], "a") as f:
        f.attrs[h5io.CONFIG_HASH] = h5io.config_hash({**CONFIG["pseudolabels"], "lambda_a": 3.0})
    ckpt = model.with_name("checkpoint.pt")
    before = ckpt.read_bytes()
    with caplog.at_level(logging.WARNING, logger="tagseg.train"):
        s = train(m, cfg, "two_stream_pseudo", model, shards, **run)
    assert s["resumed_from"] == 0 and s["iterations_this_run"] == 4
    aside = model.with_name("checkpoint.pt.stale-1")
    assert aside.read_bytes() == before
    warn = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{ckpt}: made from other inputs (pseudo shards differ); moved it aside to "
               "checkpoint.pt.stale-1, training two_stream_pseudo starts at iteration 0" in w
               for w in warn), warn


def test_checkpoint_of_another_variant_is_moved_aside(tiny_train, tmp_path, caplog):
    """"A `checkpoint.pt` of another variant blocks every rerun with no advice to delete it":
    it is moved aside with a warning naming the variant, and training runs."""
    from test_train import READERS

    m, shards, cfg = tiny_train
    other = tmp_path / "heatmap" / "model.pt"
    train(m, cfg, "heatmap", other, shards, stop_after=2, readers=READERS, progress=False)
    ckpt = tmp_path / "two_stream" / "checkpoint.pt"
    ckpt.parent.mkdir()
    shutil.copy(other.with_name("checkpoint.pt"), ckpt)
    (ckpt.parent / "checkpoint.pt.stale-1").write_bytes(b"an earlier one")  # kept, not overwritten
    with caplog.at_level(logging.WARNING, logger="tagseg.train"):
        s = train(m, cfg, "two_stream", ckpt.with_name("model.pt"), shards, readers=READERS, progress=False)
    assert s["resumed_from"] == 0 and (ckpt.parent / "model.pt").is_file() and not ckpt.exists()
    assert (ckpt.parent / "checkpoint.pt.stale-1").read_bytes() == b"an earlier one"
    assert (ckpt.parent / "checkpoint.pt.stale-2").is_file()
    assert any("checkpoint of variant 'heatmap', expected 'two_stream'; moved it aside to "
               "checkpoint.pt.stale-2" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------ one Snakemake run
def _snakemake(wd: Path, *args: str, configs=("config.yaml",)) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "-d", str(wd), "-s", str(wd / "Snakefile"),
           "--nocolor", *args, "--configfiles", *configs, "--", "results/tiny/flow/quality.json"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=wd, timeout=300)


def _one_error_line(r: subprocess.CompletedProcess, starts: str) -> str:
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    lines = [ln for ln in out.splitlines() if " ERROR tagseg: " in ln]
    assert len(lines) == 1, out[-3000:]
    msg = lines[0].split(" ERROR tagseg: ", 1)[1]
    assert msg.startswith(starts), msg
    return msg


@pytest.mark.e2e
def test_flow_reader_in_the_workflow_reruns_refuses_and_recovers(tmp_path):
    """Under Snakemake: changing a TV-L1 knob reruns flow and its reader (no false alarm); a
    shard made with other TV-L1 parameters put back in place, and a truncated shard, each end
    the run in one log line naming the file and `--forcerun=flow` (no traceback); running that
    command recovers."""
    from conftest import write_fake_cityscapes
    from tagseg.datasets.cityscapes import build_manifest

    wd = tmp_path
    root = write_fake_cityscapes(wd / "cs", per_split=1, size=(16, 32))
    cfg = copy.deepcopy(CONFIG)
    cfg["datasets"] = {"tiny": {"kind": "cityscapes", "root": str(root), "resize": 1.0,
                                "min_tag_fraction": 0.0, "shards": {"train": 1, "val": 1}}}
    cfg["device"] = "cpu"
    cfg["flow"]["threads"] = 1
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    (wd / "tweak.yaml").write_text(yaml.safe_dump({"flow": {"tvl1": {"tau": 0.2}}}))
    build_manifest("tiny", cfg["datasets"]["tiny"]).save(wd / "results/tiny/manifest.json")
    rules = REPO / "workflow" / "rules"
    (wd / "Snakefile").write_text("".join(f"include: '{rules / n}.smk'\n" for n in ("common", "flow")))
    shard = wd / "results/tiny/flow/val/shard-0.h5"

    r = _snakemake(wd)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    old = wd / "old.h5"
    shutil.copy2(shard, old)
    # a knob of the flow stage changed: flow and its reader rerun, the hashes agree
    r = _snakemake(wd, configs=("config.yaml", "tweak.yaml"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert h5io.config_hash(provenance.stage_config(yaml.safe_load(json.dumps(
        {"flow": {**cfg["flow"], "tvl1": {**cfg["flow"]["tvl1"], "tau": 0.2}}})), "flow")) == \
        h5py.File(shard, "r").attrs[h5io.CONFIG_HASH]
    # the shard of the old TV-L1 parameters put back: refused, one line
    shutil.copy(old, shard)
    msg = _one_error_line(_snakemake(wd, configs=("config.yaml", "tweak.yaml")),
                          "results/tiny/flow/val/shard-0.h5: stale flow artifact")
    assert "snakemake --forcerun=flow <target>" in msg
    assert not (wd / "results/tiny/flow/quality.json").exists()
    # the advice works
    r = _snakemake(wd, "--forcerun=flow", configs=("config.yaml", "tweak.yaml"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    # a truncated shard: one line, the file and the rule
    shard.write_bytes(shard.read_bytes()[:500])
    msg = _one_error_line(_snakemake(wd, configs=("config.yaml", "tweak.yaml")),
                          "results/tiny/flow/val/shard-0.h5: not a readable HDF5 file (truncated or corrupt")
    assert "snakemake --forcerun=flow <target>" in msg
