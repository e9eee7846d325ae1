import json

import numpy as np

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


def test_manifest_unknown_dataset_is_an_error(tmp_path, capsys):
    from tagseg.config import SCHEMA

    code = main(["manifest", "--dataset", "nosuch", "--config", str(SCHEMA.parent / "config.yaml"),
                 "--out", str(tmp_path / "m.json")])
    assert code != 0
    assert "nosuch" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_manifest_of_a_webvideos_dataset_points_to_its_rule(tmp_path, capsys):
    from tagseg.config import SCHEMA

    code = main(["manifest", "--dataset", "synthcity_web", "--config", str(SCHEMA.parent / "config.yaml"),
                 "--out", str(tmp_path / "m.json")])
    assert code != 0
    assert "webvideos_manifest" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
