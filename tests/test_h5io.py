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


def test_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    """A SIGKILLed writer cannot clean up; the next write of the same path removes its
    temporary file (and no other file's)."""
    target = tmp_path / "shard-1.h5"
    left = tmp_path / ".shard-1.h5.abc123.h5.tmp"
    other = tmp_path / ".shard-10.h5.abc123.h5.tmp"
    left.write_bytes(b"partial")
    other.write_bytes(b"partial")
    with h5io.write_artifact(target, "flow") as f:
        f["x"] = np.zeros(2)
    assert not left.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, other.name])


def test_hold_before_rename_waits_only_for_the_selected_target(tmp_path, monkeypatch):
    """The interruption tests' fault injection: GLOB:N holds a writer of a matching target once
    N matching files exist; other targets, and matching ones before that count, go through."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(h5io.HOLD_ENV, "out/*/shard-*.h5:1")
    h5io.write_json("out/other.json", {"a": 1})  # no match: written
    with h5io.write_artifact("out/a/shard-0.h5", "flow") as f:  # 0 exist yet: written
        f["x"] = np.zeros(1)
    held = []

    def signal_arrives(seconds):  # the hold's wait, ended as a signal would end it
        held.append(seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr(h5io.time, "sleep", signal_arrives)
    with pytest.raises(KeyboardInterrupt):
        with h5io.write_artifact("out/b/shard-0.h5", "flow") as f:
            f["x"] = np.zeros(1)
    assert held, "the second matching write was not held"
    assert not (tmp_path / "out/b/shard-0.h5").exists()
    assert list((tmp_path / "out/b").iterdir()) == []  # its temporary file was removed
