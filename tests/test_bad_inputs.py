"""Issue 15: every bad input and fault found by a hostile new user ends in one line naming the
file or config key (no traceback), or in a correct rerun; no stale or foreign artifact is used
silently; tagseg never deletes what it did not write.

| # | case | outcome | test |
|---|---|---|---|
| 1 | `tagseg synth --root DIR` deleted DIR | refused unless DIR holds a render (`.tagseg-synthcity`) or `--overwrite`; the `synthesize` rule too | test_synth_refuses_a_folder_it_did_not_write, test_synthesize_rule_refuses_a_foreign_root |
| 2 | training resumed from a checkpoint made with other inputs | resume key covers the inputs' provenance; checkpoint moved aside, restart at 0 | test_resume_from_checkpoint_made_with_different_inputs_restarts |
| 3 | cityscapes manifest went stale | tree file list is the manifest's input; add / remove / restore reruns exactly what depends on it | test_manifest_of_cityscapes_kind_goes_stale |
| 4 | flow shard of other TV-L1 parameters / another dataset read silently | every reader checks provenance, names the file and `--forcerun` rule | test_flow_shard_with_other_tvl1_parameters_is_refused_by_every_reader, test_flow_shard_of_another_dataset_is_refused, test_flow_reader_in_the_workflow_reruns_refuses_and_recovers |
| 5 | one odd-sized frame resized the dataset | every annotated frame checked; error naming it, or `resize_mismatched: true` | test_one_odd_sized_frame_resizes_the_whole_dataset |
| 6 | `_labelids.png` silently dropped | error naming the file and the expected name | test_ground_truth_suffix_differing_in_case_is_dropped |
| 7 | `tagseg evaluate` on train-id predictions | one line saying so (`--train-ids` converts) | test_evaluate_train_id_predictions_are_named_not_scored |
| 8 | missing frame in the flow window | names the file, the snippet and the needed window | test_missing_frame_in_flow_window_names_the_file, test_missing_frame_fails_in_one_line_under_snakemake |
| 9 | cityscapes with no data | one line: the config key, the zips, where to unpack | test_cityscapes_metrics_with_no_data_says_how_to_get_it, test_no_data_under_snakemake_is_one_line |
| 10 | truncated shard: "corrupt", no recovery advice | names the file and `--forcerun=RULE` | test_truncated_shard_names_the_file_and_how_to_recover |
| 11 | `--configfile a.yaml TARGET`: 4,360 lines | one line per bad key, naming the configfile a target came from | test_target_after_configfile_is_named_in_one_line |
| 12 | `tagseg inspect` on a corrupt file: traceback | one line | test_inspect_corrupt_file_is_one_line |
| 13 | read-only output folder: Snakemake crash | stops before the first job, naming the folder | test_read_only_output_folder_is_one_line |
| 14 | killed job's `.shard-N.h5.*.tmp` left forever | removed on the rule's next write | test_killed_writer_leaves_no_temporary_file_after_the_next_write (and the SIGKILL cases of tests/test_workflow_ops.py) |
| 15 | checkpoint of another variant blocked every rerun | moved aside with a warning, restart at 0 | test_checkpoint_of_another_variant_is_moved_aside |
| 16 | artifacts written 0600 despite umask 022 | files and folders get the user's umask | test_artifacts_get_the_umask |

Section cli: bad inputs to the CLI and the workflow's entry: each ends in one line naming the
file or config key (no traceback), and tagseg never deletes what it did not write.

Section datasets: dataset cases: each bad dataset tree ends in one line naming the file or config key
(library call, `tagseg` CLI, Snakemake job log; no traceback), or in a correct rerun.

Section provenance: items 1 and 2: provenance checked where it is read, and resume keys.

"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import yaml

import snakemake_runs as sr
from conftest import write_fake_cityscapes
from tagseg import cli, fsutil, h5io, provenance
from tagseg.cli import main
from tagseg.datasets import listing
from tagseg.datasets import manifest as mf
from tagseg.datasets.cityscapes import build_manifest
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.errors import TagsegError
from tagseg.flow import quality as flow_quality
from tagseg.flow import stage as flow_stage
from tagseg.flow.stage import provenance_config
from tagseg.config import section
from tagseg.flow.storage import write_pairs
from tagseg.h5io import ArtifactError
from tagseg.logs import _one_line_errors
from tagseg.train.loop import input_provenance, train


# ============================== cli ==============================

REPO = Path(__file__).resolve().parents[1]
# A tiny render (about 1 s): 32x16, 4-frame snippets, one iconic image per class.
TINY_RENDER = dict(width=32, height=16, train_snippets=1, val_snippets=1, frames=4, annotated=2,
                   flow_offsets=range(-1, 1), iconic_per_class=1, iconic_size=32)


def _one_line(text: str) -> str:
    """The text's only non-empty line (fails on a traceback or several lines)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- item 6: synth root


def test_synth_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    """"`tagseg synth --root DIR` deletes whatever DIR held and exits 0"."""
    root = tmp_path / "mine"
    root.mkdir()
    (root / "thesis.tex").write_text("years of work")
    assert main(["synth", "--root", str(root), "--train-snippets", "1", "--val-snippets", "1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(root) in line and ".tagseg-synthcity" in line and "--overwrite" in line
    assert (root / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary render left


def test_synth_replaces_its_own_render_and_only_with_overwrite_a_foreign_one(tmp_path):
    """"`tagseg synth --root DIR` deletes whatever DIR held": a previous render (marker, or the
    synthcity.json of a render made before the marker) is replaced; a user's folder only with
    --overwrite. The render's folders and files get the umask (item 9: were 0700 / 0600)."""
    import synthcity

    root = tmp_path / "synthcity"
    with _umask(0o022):
        synthcity.render(root, **TINY_RENDER)
    assert (root / synthcity.MARKER).is_file()
    assert (root.stat().st_mode & 0o777, (root / "synthcity.json").stat().st_mode & 0o777) == (0o755, 0o644)
    flow = next((root / "flowGt").rglob("*.h5"))
    assert flow.stat().st_mode & 0o777 == 0o644
    (root / "leftover.txt").write_text("from the first render")
    synthcity.render(root, **TINY_RENDER)  # its own render: replaced, no question asked
    assert not (root / "leftover.txt").exists()

    legacy = tmp_path / "legacy"  # a render made before the marker: its synthcity.json says so
    legacy.mkdir()
    shutil.copy(root / "synthcity.json", legacy / "synthcity.json")
    synthcity.check_root(legacy)
    assert (legacy / synthcity.MARKER).is_file()

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    (mine / "synthcity.json").write_text(json.dumps({"miou": 0.5}))  # not a render's summary
    with pytest.raises(synthcity.RootNotOurs, match="mine.*no previous render"):
        synthcity.check_root(mine)
    synthcity.check_root(mine, overwrite=True)
    synthcity.check_root(tmp_path / "new")  # missing: fine


def test_synthesize_rule_refuses_a_foreign_root(tmp_path):
    """"`tagseg synth --root DIR` deletes whatever DIR held", through the Snakemake rule
    `synthesize`: config datasets.synthcity.root pointed at a user's folder."""
    sr.write_config(tmp_path)
    mine = tmp_path / "data" / "synthcity"
    mine.mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work")
    r = sr.snakemake(tmp_path, "--cores", "1", f"{sr.RESULTS}/manifest.json", check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert "data/synthcity" in last and "datasets.synthcity.root" in last, out[-3000:]
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]


# --------------------------------------------------------------------------- item 7: evaluate


def test_evaluate_train_id_predictions_are_named_not_scored(fake_cityscapes, tmp_path, capsys):
    """"`tagseg evaluate` on train-id predictions (instead of label ids) returns mIoU 0.0026 with
    no warning": refused in one line; `--train-ids` evaluates them correctly."""
    from tagseg.classes import label_id_to_train_id_lut

    pred = tmp_path / "pred"
    pred.mkdir()
    lut = label_id_to_train_id_lut()
    for gt in (fake_cityscapes / "gtFine" / "val").rglob("*_labelIds.png"):
        train = lut[cv2.imread(str(gt), cv2.IMREAD_UNCHANGED)]
        train[train == 255] = 0  # a network predicts a class everywhere
        cv2.imwrite(str(pred / gt.name.replace("_gtFine_labelIds", "_pred")), train)
    out = tmp_path / "m.json"
    args = ["evaluate", "--gt-root", str(fake_cityscapes), "--pred", str(pred), "--out", str(out)]
    assert main(args) == 1
    line = _one_line(capsys.readouterr().err)
    assert str(pred) in line and "train ids" in line and "--train-ids" in line
    assert not out.exists()
    assert main(args + ["--train-ids"]) == 0
    m = json.loads(out.read_text())
    assert m["miou"] == 1.0 and m["pred_ids"] == "train"
    # Label-id predictions still pass the check (a perfect one, and a poor all-road one).
    for gt in (fake_cityscapes / "gtFine" / "val").rglob("*_labelIds.png"):
        road = np.full(cv2.imread(str(gt), cv2.IMREAD_UNCHANGED).shape, 7, np.uint8)
        cv2.imwrite(str(pred / gt.name.replace("_gtFine_labelIds", "_pred")), road)
    assert main(args) == 0 and 0 < json.loads(out.read_text())["miou"] < 1


# --------------------------------------------------------------------------- inspect


def test_inspect_corrupt_file_is_one_line(tmp_path, capsys):
    """"`tagseg inspect` on a corrupt file prints a 23-line traceback"."""
    good = tmp_path / "good.h5"
    with h5io.write_artifact(good, "flow") as f:
        f.create_dataset("x", data=np.zeros(3))
    bad = tmp_path / "bad.h5"
    bad.write_bytes(good.read_bytes()[:700])  # truncated
    assert main(["inspect", str(bad)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(bad) in line and "truncated or corrupt" in line
    assert main(["inspect", str(tmp_path / "none.h5"), str(good)]) == 2  # the others still shown
    cap = capsys.readouterr()
    assert "none.h5: no such file" in _one_line(cap.err) and "tagseg_stage = flow" in cap.out


# --------------------------------------------------------------------------- config errors


def test_target_after_configfile_is_named_in_one_line(tmp_path):
    """"`--configfile a.yaml TARGET` reads the target as a config file and prints 4,360 lines"."""
    sr.write_config(tmp_path)
    metrics = tmp_path / sr.RESULTS / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"split": "val", "miou": 0.12, "class_iou": {"road": 0.7}}))
    # As typed in the working directory: the target directly follows the --configfile list.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(sr.SNAKEFILE), "-n", "--nocolor",
           "--configfile", str(sr.DEFAULT_CONFIG), "c.yaml", f"{sr.RESULTS}/metrics.json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=sr.env(), timeout=120, cwd=tmp_path)
    out = r.stdout + r.stderr
    lines = [line for line in out.splitlines() if line.strip()]
    assert r.returncode != 0 and len(lines) <= 3 and "Traceback" not in out, out[-3000:]
    problem = next(line for line in lines if line.startswith("config:"))
    assert "'class_iou'" in problem and "'miou'" in problem and "'split'" in problem
    assert f"--configfile {sr.RESULTS}/metrics.json" in problem and "end its list with --" in problem


def test_config_errors_name_each_key_in_one_line():
    """"--configfile ... prints 4,360 lines": the schema check lists each bad key on one short
    line instead of the schema."""
    import copy

    import yaml

    from tagseg.config import SCHEMA, problems

    cfg = yaml.safe_load((SCHEMA.parent / "config.yaml").read_text())
    bad = copy.deepcopy(cfg)
    bad["datasets"]["synthcity"]["shardz"] = 3
    bad["datasets"]["cityscapes"]["resize"] = "half"
    bad["flow"]["L"] = [1] * 500
    bad["classes"] = {"road": 1}
    lines = problems(bad)
    assert len(lines) == 4 and all(len(line) < 300 for line in lines), lines
    text = "\n".join(lines)
    for key in ("datasets.synthcity: unknown key 'shardz'", "datasets.cityscapes.resize",
                "flow.L", "unknown key 'classes' at top level"):
        assert key in text
    assert problems(cfg) == []


# --------------------------------------------------------------------------- read-only folders


def _read_only_prefix(folder: Path) -> list[str] | None:
    """Make ``folder`` read-only for a command: chmod for a user; for root (which ignores
    modes) a read-only bind mount in a private mount namespace, when allowed. None: neither."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    prefix = ["unshare", "-m", "sh", "-c", script, str(folder)]
    if shutil.which("unshare") is None or subprocess.run(
            [*prefix, "sh", "-c", f"! touch {folder}/probe 2>/dev/null"], capture_output=True).returncode:
        return None
    return prefix


def test_read_only_output_folder_is_one_line(tmp_path):
    """"A read-only output folder makes Snakemake crash in its cleanup": the run stops before
    its first job, naming the folder."""
    sr.write_config(tmp_path)
    folder = tmp_path / sr.RESULTS
    folder.mkdir(parents=True)
    prefix = _read_only_prefix(folder)
    if prefix is None:
        pytest.skip("running as root without mount namespaces: a read-only folder cannot be made")
    try:
        r = subprocess.run([*prefix, *sr.command(tmp_path, "--cores", "1", f"{sr.RESULTS}/manifest.json")],
                           capture_output=True, text=True, env=sr.env(), timeout=120)
    finally:
        folder.chmod(0o755)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("tagseg: cannot write") and f"folder {sr.RESULTS} is not writable" in last
    assert not (tmp_path / "data" / "synthcity").exists()  # stopped before the first job


def test_unwritable_folders_are_found_above_missing_paths(tmp_path):
    """"A read-only output folder makes Snakemake crash": the check finds, for each path, the
    folder that has to be written (the nearest existing one) and names it once."""
    (tmp_path / "file").write_text("x")
    paths = [tmp_path / "a" / "b" / "out.h5", tmp_path / "a" / "c.json", tmp_path / "file" / "x.h5"]
    bad = fsutil.unwritable_folders(paths)
    assert bad == {tmp_path / "file": paths[2]}  # tmp_path is writable; a file is no folder
    assert "is not a folder" in fsutil.writable_problem(paths)
    assert fsutil.writable_problem(paths[:2]) is None


# --------------------------------------------------------------------------- item 9: umask


@pytest.mark.parametrize("mask, file_mode", [(0o022, 0o644), (0o077, 0o600)], ids=["022", "077"])
def test_artifacts_get_the_umask(tmp_path, mask, file_mode):
    """"Every artifact is written 0600 (data folders 0700) despite umask 022"."""
    with _umask(mask):
        assert fsutil.umask() == mask
        h5io.write_json(tmp_path / "a.json", {"x": 1})
        with h5io.write_artifact(tmp_path / "b.h5", "flow") as f:
            f.create_dataset("x", data=np.zeros(2))
        from tagseg.images import write_png

        write_png(tmp_path / "c.png", np.zeros((2, 2), np.uint8))
        sub = tmp_path / "made"
        sub.mkdir()
        fsutil.apply_umask(sub, folder=True)
    for name in ("a.json", "b.h5", "c.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == file_mode, name
    assert sub.stat().st_mode & 0o777 == file_mode | ((file_mode & 0o444) >> 2)  # +x where +r


# --------------------------------------------------------------------------- item 10: help


def test_help_texts_and_readme_troubleshooting(capsys):
    """Item 10: `tagseg --help` and each command's help say what it needs; the README has a
    short Troubleshooting section, and its first two commands are unchanged."""
    helps = {}
    for cmd in ([], ["synth"], ["manifest"], ["evaluate"], ["inspect"]):
        with pytest.raises(SystemExit):
            main([*cmd, "--help"])
        helps[" ".join(cmd)] = capsys.readouterr().out
    assert "snakemake --cores 2 results/synthcity/metrics.json" in helps[""]
    assert ".tagseg-synthcity" in helps["synth"] and "--overwrite" in helps["synth"]
    from synthcity import MARKER
    assert MARKER == ".tagseg-synthcity"
    assert "leftImg8bit_sequence" in helps["manifest"]
    assert "--train-ids" in helps["evaluate"] and "gtFine" in helps["evaluate"]
    assert "example:" in helps["inspect"]

    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert blocks[0].strip() == ("python3 -m venv .venv && . .venv/bin/activate && pip install "
                                 "torch==2.13.0 && pip install -e . && snakemake --cores 2 "
                                 "results/synthcity/metrics.json")
    assert blocks[1].strip() == ("python3 -m venv .venv && . .venv/bin/activate && pip install "
                                 "torch==2.13.0 && pip install -e \".[test]\" && python -m pytest -q")
    trouble = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    for needed in ("leftImg8bit_sequence_trainvaltest.zip", "gtFine_trainvaltest.zip",
                   "datasets.cityscapes.root", "--forcerun", "snakemake --unlock", " -- ",
                   ".tagseg-synthcity", "--train-ids", "webvideos"):
        assert needed in trouble, needed
    assert len(trouble.splitlines()) < 60


# ============================== datasets ==============================

CFG = {"kind": "cityscapes", "resize": 1.0, "min_tag_fraction": 0.0,
       "shards": {"train": 1, "val": 1}, "iconic": None}
FLOW_FRAMES = list(range(-4, 7))  # flow.L = 10 around the annotated frame: pairs -4..5


def _frame(root: Path, split: str, seq: int, f: int) -> Path:
    city = f"town{split}"
    return root / "leftImg8bit_sequence" / split / city / f"{city}_{seq:06d}_{f:06d}_leftImg8bit.png"


def _gt(root: Path, split: str, seq: int, f: int = 19) -> Path:
    city = f"town{split}"
    return root / "gtFine" / split / city / f"{city}_{seq:06d}_{f:06d}_gtFine_labelIds.png"


def _only_line(text: str) -> None:
    assert "\n" not in text.strip() and "Traceback" not in text, text


# ---- item 4: sizes ----

def test_one_odd_sized_frame_resizes_the_whole_dataset(fake_cityscapes):
    """"The working size comes from the first snippet's annotated frame only: one odd-sized frame
    silently resizes the whole dataset." -> an error naming the frame and the config key; with
    `resize_mismatched: true` the odd frame is resized to the size of all the others."""
    # the first snippet (train, seq 0) is the odd one: the old code took its size for all
    odd = _frame(fake_cityscapes, "train", 0, 19)
    cv2.imwrite(str(odd), np.zeros((20, 40, 3), np.uint8))
    cv2.imwrite(str(_gt(fake_cityscapes, "train", 0)), np.full((20, 40), 7, np.uint8))
    cfg = {**CFG, "root": str(fake_cityscapes)}
    with pytest.raises(mf.ManifestError) as e:
        build_manifest("cs", cfg)
    msg = str(e.value)
    _only_line(msg)
    assert str(odd) in msg and "40x20" in msg and "32x16" in msg
    assert "datasets.cs.resize_mismatched" in msg
    m = build_manifest("cs", {**cfg, "resize_mismatched": True})
    assert m.size == (16, 32) and len(m.snippets) == 4  # the others' size, nothing dropped


def test_ground_truth_of_another_size_than_its_frame_is_named(fake_cityscapes):
    gt = _gt(fake_cityscapes, "val", 1)
    cv2.imwrite(str(gt), np.full((8, 16), 7, np.uint8))
    with pytest.raises(mf.ManifestError, match=f"{gt}.*16x8.*{_frame(fake_cityscapes, 'val', 1, 19)}"):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})


# ---- item 5: case ----

def test_ground_truth_suffix_differing_in_case_is_dropped(fake_cityscapes):
    """"A ground-truth file whose suffix differs in case (_labelids.png) is silently dropped" ->
    an error naming the file and the expected name."""
    gt = _gt(fake_cityscapes, "val", 1)
    bad = gt.with_name(gt.name.replace("_labelIds", "_labelids"))
    gt.rename(bad)
    with pytest.raises(mf.ManifestError) as e:
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})
    _only_line(str(e.value))
    assert str(bad) in str(e.value) and f"rename it to {gt.name}" in str(e.value)


def test_frame_name_differing_in_case_is_named(fake_cityscapes):
    f = _frame(fake_cityscapes, "train", 1, 22)
    bad = f.with_name(f.name.replace("leftImg8bit", "leftimg8bit"))
    f.rename(bad)
    with pytest.raises(mf.ManifestError, match=f"{bad}.*rename it to {f.name}"):
        build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})


# ---- missing frame inside the flow window ----

def test_missing_frame_in_flow_window_names_the_file(fake_cityscapes):
    """"A missing frame inside the flow window gives an error that does not name the missing file
    and advises lowering flow.L" -> it names the file and the snippet, says which frames are
    needed, and gives the flow.L advice only to a snippet that is really too short."""
    gone = _frame(fake_cityscapes, "val", 1, 21)  # offset +2 of snippet townval_000001_000019
    gone.unlink()
    m = build_manifest("cs", {**CFG, "root": str(fake_cityscapes)})
    s = m.snippet("townval_000001_000019")
    assert s.missing_frames() == {2: str(gone)}
    with pytest.raises(flow_stage.FlowInputError) as e:
        flow_stage.read_gray_frames(s, FLOW_FRAMES, m.size)
    msg = str(e.value)
    _only_line(msg)
    assert str(gone) in msg and "townval_000001_000019" in msg and "-4..+6" in msg
    assert "restore" in msg and "lower config 'flow.L'" not in msg
    with pytest.raises(mf.ManifestError, match=f"{gone}.*offset \\+2"):
        s.frame_path(3)  # the other stages name it too
    # a snippet whose video simply ends there still gets the advice
    short = mf.Snippet(id="x_000000_000019", split="val", city="x", frames=s.frames[:21],
                       annotated=19, tags=[])
    with pytest.raises(flow_stage.FlowInputError, match=r"\+1 only.*lower config 'flow.L'"):
        flow_stage.read_gray_frames(short, FLOW_FRAMES, m.size)


# ---- no data ----

def test_cityscapes_metrics_with_no_data_says_how_to_get_it(tmp_path, capsys):
    """"results/cityscapes/metrics.json with no data names the config key inside a traceback, but
    not how to get the data (which zips, where to unpack them)" -> one line with the key, the
    path tried, the zips, the site and the layout; from the library and from `tagseg manifest`."""
    root = tmp_path / "nowhere"
    with pytest.raises(mf.ManifestError) as e:
        build_manifest("cs", {**CFG, "root": str(root)})
    msg = str(e.value)
    _only_line(msg)
    for part in ("datasets.cs.root", str(root), "leftImg8bit_sequence_trainvaltest.zip",
                 "gtFine_trainvaltest.zip", "https://www.cityscapes-dataset.com",
                 f"{root}/leftImg8bit_sequence/{{train,val}}/{{city}}/"):
        assert part in msg
    (root / "leftImg8bit_sequence").mkdir(parents=True)  # one zip unpacked: the other is named
    with pytest.raises(mf.ManifestError) as e:
        build_manifest("cs", {**CFG, "root": str(root)})
    assert "gtFine_trainvaltest.zip" in str(e.value) and "sequence_trainvaltest" not in str(e.value)
    config = yaml.safe_load(sr.DEFAULT_CONFIG.read_text())
    config["datasets"]["cityscapes"]["root"] = str(tmp_path / "nowhere2")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config))
    rc = cli.main(["manifest", "--config", str(cfg), "--dataset", "cityscapes",
                   "--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "gtFine_trainvaltest.zip" in err, err
    assert not (tmp_path / "m.json").exists()


def test_workflow_scripts_print_tagseg_errors_as_one_line(caplog, capsys):
    with caplog.at_level(logging.ERROR, logger="tagseg"):
        _one_line_errors(mf.ManifestError, mf.ManifestError("a\nb"), None)
    assert [r.getMessage() for r in caplog.records] == ["a b"]
    assert issubclass(mf.ManifestError, TagsegError) and issubclass(mf.ManifestError, ValueError)
    try:
        raise KeyError("bug")
    except KeyError as e:
        _one_line_errors(KeyError, e, e.__traceback__)  # a bug keeps its traceback
    assert "Traceback" in capsys.readouterr().err


# ---- item 3: the file list ----

def test_file_list_changes_only_with_the_tree(fake_cityscapes, tmp_path):
    out = tmp_path / "files.txt"
    assert listing.update(fake_cityscapes, ["train", "val"], out)
    before = out.stat().st_mtime_ns
    assert not listing.update(fake_cityscapes, ["train", "val"], out)  # unchanged: not rewritten
    assert out.stat().st_mtime_ns == before
    text = out.read_text()
    assert "\ngtFine/val/townval\t2\t" in text and "\nleftImg8bit_sequence/val/townval\t60\t" in text
    (fake_cityscapes / "gtFine" / "val" / "townval" / "x_gtFine_color.png").write_bytes(b"")
    assert not listing.update(fake_cityscapes, ["train", "val"], out)  # files it does not read
    f = _frame(fake_cityscapes, "val", 1, 21)
    f.rename(f.with_name(f.name.upper()))  # mis-cased: still listed (the manifest names it)
    assert listing.update(fake_cityscapes, ["train", "val"], out)
    gt = _gt(fake_cityscapes, "val", 0)
    data = gt.read_bytes()
    gt.unlink()
    assert listing.update(fake_cityscapes, ["train", "val"], out)
    gt.write_bytes(data)  # restored: a new mtime, the manifest must re-read it
    assert listing.update(fake_cityscapes, ["train", "val"], out)


DS = "cs"
FLOW_TARGET = f"results/{DS}/flow/val/shard-0.h5"


@pytest.fixture(scope="module")
def stale_run(tmp_path_factory):
    """A Cityscapes-kind dataset in a Snakemake workdir: a frame in the flow window of one val
    snippet is missing, the flow shard fails; the frame is restored, the shard is rerun."""
    wd = tmp_path_factory.mktemp("cs_workflow")
    root = write_fake_cityscapes(wd / "data" / DS, size=(32, 64))
    common = {"kind": "cityscapes", "resize": 1.0, "min_tag_fraction": 0.0,
              "shards": {"train": 1, "val": 1}, "iconic": None}
    sr.write_config(wd, {"datasets": {DS: {**common, "root": f"data/{DS}"},
                                      "nodata": {**common, "root": "data/nodata"}}})
    gone = _frame(root, "val", 1, 21)
    saved = gone.read_bytes()
    gone.unlink()
    failed = sr.snakemake(wd, "--cores", "1", "--keep-going", FLOW_TARGET,
                          "results/nodata/metrics.json", check=False)
    failed_log = (wd / f"results/{DS}/logs/flow/val-0.log").read_text()
    failed_shard = (wd / FLOW_TARGET).exists()
    gone.write_bytes(saved)
    rerun = sr.snakemake(wd, "--cores", "1", FLOW_TARGET, check=False)
    return {"wd": wd, "root": root, "gone": gone, "failed": failed, "failed_log": failed_log,
            "failed_shard": failed_shard, "rerun": rerun}


@pytest.mark.e2e
def test_missing_frame_fails_in_one_line_under_snakemake(stale_run):
    """The flow job's error reaches the user as one line naming the missing file (stdout/stderr
    of snakemake and the job log), and leaves no shard."""
    r, wd, gone = stale_run["failed"], stale_run["wd"], stale_run["gone"]
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out[-3000:]
    errors = [ln for ln in out.splitlines() if " ERROR tagseg: snippet" in ln]
    assert len(errors) == 1 and str(gone.relative_to(wd)) in errors[0], out[-3000:]
    assert "townval_000001_000019" in errors[0] and "lower config 'flow.L'" not in errors[0]
    log = stale_run["failed_log"]
    assert "Traceback" not in log and errors[0].split(" ERROR ")[1] in log
    assert not stale_run["failed_shard"]


@pytest.mark.e2e
def test_manifest_of_cityscapes_kind_goes_stale(stale_run):
    """"A cityscapes-kind manifest has no file inputs, so it goes stale: a frame restored after an
    error keeps failing; a snippet added to the tree is never seen; only --forcerun=manifest
    recovers." -> restoring the frame reruns the manifest and the shard; an unchanged tree
    reruns nothing; adding a snippet or removing a frame reruns the manifest and what depends
    on it, and only that."""
    wd, root, r = stale_run["wd"], stale_run["root"], stale_run["rerun"]
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "rule manifest:" in r.stdout + r.stderr and (wd / FLOW_TARGET).is_file()
    assert sr.planned_jobs(wd, FLOW_TARGET) == {}
    # a new val snippet: seen, the manifest and the shard rerun
    src, dst = root / "gtFine" / "val" / "townval", root / "gtFine" / "val" / "townnew"
    shutil.copytree(src, dst)
    for p in dst.iterdir():
        p.rename(p.with_name(p.name.replace("townval", "townnew")))
    seq_src = root / "leftImg8bit_sequence" / "val" / "townval"
    seq_dst = root / "leftImg8bit_sequence" / "val" / "townnew"
    shutil.copytree(seq_src, seq_dst)
    for p in seq_dst.iterdir():
        p.rename(p.with_name(p.name.replace("townval", "townnew")))
    assert sr.planned_jobs(wd, FLOW_TARGET) == {"manifest": 1, "flow": 1}
    shutil.rmtree(dst)
    shutil.rmtree(seq_dst)
    # back to the tree the manifest was made from: its file list has the checksum Snakemake
    # recorded for the manifest job, so nothing reruns
    assert sr.planned_jobs(wd, FLOW_TARGET) == {}
    # a train frame outside the window of any val snippet: still a change of the tree
    _frame(root, "train", 0, 0).unlink()
    assert sr.planned_jobs(wd, FLOW_TARGET) == {"manifest": 1, "flow": 1}


@pytest.mark.e2e
def test_no_data_under_snakemake_is_one_line(stale_run):
    """results/{dataset}/metrics.json without data: the manifest job ends in one line with the
    config key, the path tried and the zips; no traceback (same run as the missing frame)."""
    r = stale_run["failed"]
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out, out[-3000:]
    errors = [ln for ln in out.splitlines() if " ERROR tagseg: dataset 'nodata'" in ln]
    assert len(errors) == 1, out[-3000:]
    for part in ("datasets.nodata.root", "no data at data/nodata", "gtFine_trainvaltest.zip",
                 "leftImg8bit_sequence_trainvaltest.zip", "https://www.cityscapes-dataset.com"):
        assert part in errors[0]


# ============================== provenance ==============================

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
                        section("flow.storage", {"encoding": "float32", "compression": "none"}))
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
    from tagseg import plan as tr

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


# ============================== leftovers ==============================


def test_killed_writer_leaves_no_temporary_file_after_the_next_write(tmp_path):
    """Case: "A killed job leaves a hidden `.shard-N.h5.*.tmp` forever." A writer SIGKILLed
    just before its rename (held there by `h5io.HOLD_ENV`) leaves its temporary file; the next
    write of the same artifact removes it, and the artifact reads back complete."""
    target = tmp_path / "shard-0.h5"
    code = ("import sys; from tagseg import h5io\n"
            "with h5io.write_artifact(sys.argv[1], 'flow', {'x': 1}) as f:\n"
            "    f['a'] = [0.0, 0.0, 0.0]\n")
    env = {**os.environ, h5io.HOLD_ENV: "shard-0.h5:0"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], env=env,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    line = proc.stderr.readline()  # blocks until the writer is held before its rename
    assert h5io.HOLD_MESSAGE in line, line
    proc.kill()
    proc.wait()
    left = [p.name for p in tmp_path.glob(".shard-0.h5.*")]
    assert left and not target.exists(), left
    with h5io.write_artifact(target, "flow", {"x": 1}) as f:
        f["a"] = np.zeros(3)
    assert not list(tmp_path.glob(".shard-0.h5.*"))
    with h5io.open_artifact(target, "flow", config={"x": 1}) as f:
        assert f["a"].shape == (3,)
