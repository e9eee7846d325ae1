import json

import numpy as np
import pytest

from tagseg import h5io
from tagseg.cli import main


def test_inspect_prints_groups_and_attributes(tmp_path, capsys):
    path = tmp_path / "a.h5"
    with h5io.write_artifact(path, "flow", config={"L": 2}) as f:
        f.create_dataset("snip/flow", data=np.zeros((2, 4, 4), np.int16))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tagseg_stage = flow" in out and "flow: (2, 4, 4) int16" in out


def test_evaluate_perfect_prediction(fake_cityscapes, tmp_path, capsys):
    pred = tmp_path / "pred"
    pred.mkdir()
    for gt in (fake_cityscapes / "gtFine" / "val").rglob("*_labelIds.png"):
        name = gt.name.replace("_gtFine_labelIds", "_pred")
        (pred / name).write_bytes(gt.read_bytes())
    out = tmp_path / "m.json"
    assert main(["evaluate", "--gt-root", str(fake_cityscapes), "--split", "val",
                 "--pred", str(pred), "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    assert m["miou"] == 1.0 and m["n_images"] == 2


@pytest.mark.parametrize("dataset, message", [
    ("nosuch", "nosuch"),                      # not in the config
    ("synthcity_web", "webvideos_manifest"),   # a webvideos dataset: built by its own rule
])
def test_manifest_refuses_dataset_naming_why(tmp_path, capsys, dataset, message):
    from tagseg.config import SCHEMA

    code = main(["manifest", "--dataset", dataset, "--config", str(SCHEMA.parent / "config.yaml"),
                 "--out", str(tmp_path / "m.json")])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
