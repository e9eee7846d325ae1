"""Issue 15, bad inputs to the CLI and the workflow's entry: each ends in one line naming the
file or config key (no traceback), and tagseg never deletes what it did not write.

Cases (from the hostile-new-user run): `tagseg synth --root DIR` over a user's folder, train-id
predictions given to `tagseg evaluate`, `tagseg inspect` on a corrupt file, a target written
after `--configfile`, a read-only output folder, artifacts written 0600 despite umask 022, and
the help texts / README troubleshooting section.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import snakemake_runs as sr
from tagseg import fsutil, h5io
from tagseg.cli import main

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
    from tagseg.datasets import synthcity

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
    from tagseg.datasets.synthcity import MARKER
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
