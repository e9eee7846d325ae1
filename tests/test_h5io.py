import h5py
import numpy as np
import pytest

from tagseg import h5io


def test_artifact_roundtrip_with_provenance(tmp_path):
    path = tmp_path / "a.h5"
    with h5io.write_artifact(path, "flow", config={"L": 10}, attrs={"units": "pixels"}) as f:
        f.create_dataset("snip/flow", data=np.ones((2, 3), np.float32))
    with h5io.open_artifact(path, stage="flow", config={"L": 10}) as f:
        assert f["snip/flow"].shape == (2, 3)
        assert f.attrs["units"] == "pixels"
    assert "flow" in h5io.describe(path)


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "a.h5"
    with pytest.raises(RuntimeError):
        with h5io.write_artifact(path, "flow") as f:
            f.create_dataset("x", data=np.zeros(3))
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_reader_rejects_truncated_foreign_stale_and_wrong_stage(tmp_path):
    good = tmp_path / "good.h5"
    with h5io.write_artifact(good, "heatmaps", config={"a": 1}):
        pass
    with pytest.raises(h5io.ArtifactError, match="expected 'flow'"):
        h5io.open_artifact(good, stage="flow")
    with pytest.raises(h5io.ArtifactError, match="stale"):
        h5io.open_artifact(good, config={"a": 2})
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(h5io.ArtifactError, match="not a tagseg artifact"):
        h5io.open_artifact(foreign)
    truncated = tmp_path / "trunc.h5"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(h5io.ArtifactError, match="trunc.h5"):
        h5io.open_artifact(truncated)
    with pytest.raises(h5io.ArtifactError, match="no such artifact"):
        h5io.open_artifact(tmp_path / "missing.h5")


def test_config_hash_ignores_key_order():
    assert h5io.config_hash({"a": 1, "b": 2}) == h5io.config_hash({"b": 2, "a": 1})
    assert h5io.config_hash({"a": 1}) != h5io.config_hash({"a": 2})
