"""Issue 15, dataset cases: each bad dataset tree ends in one line naming the file or config key
(library call, `tagseg` CLI, Snakemake job log; no traceback), or in a correct rerun.

Unit tests build manifests of the hand-written Cityscapes trees of conftest; one module-scoped
Snakemake run (a Cityscapes-kind dataset of 64x32 frames, 2 + 2 snippets, flow only) covers the
stale manifest, the missing frame and the missing data end to end.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import snakemake_runs as sr
from conftest import write_fake_cityscapes
from tagseg import cli
from tagseg.datasets import listing
from tagseg.datasets import manifest as mf
from tagseg.datasets.cityscapes import build_manifest
from tagseg.errors import TagsegError
from tagseg.flow import stage as flow_stage
from tagseg.logs import _one_line_errors

CFG = {"kind": "cityscapes", "resize": 1.0, "min_tag_fraction": 0.0,
       "shards": {"train": 1, "val": 1}, "iconic": None}
FLOW_FRAMES = list(range(-4, 7))  # flow.L = 10 around the annotated frame: pairs -4..5


def _frame(root: Path, split: str, seq: int, f: int) -> Path:
    city = f"town{split}"
    return root / "leftImg8bit_sequence" / split / city / f"{city}_{seq:06d}_{f:06d}_leftImg8bit.png"


def _gt(root: Path, split: str, seq: int, f: int = 19) -> Path:
    city = f"town{split}"
    return root / "gtFine" / split / city / f"{city}_{seq:06d}_{f:06d}_gtFine_labelIds.png"


def _one_line(text: str) -> None:
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
    _one_line(msg)
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
    _one_line(str(e.value))
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
    _one_line(msg)
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
    _one_line(msg)
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
