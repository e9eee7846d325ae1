"""Flow storage: compact encodings, precision, and the stack reader (Saleh §3.2 channel order)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from synthcity import flow_pairs as S
from tagseg.flow import storage
from tagseg.plan import flow_window

STORE = {"encoding": "int16", "quantum": 0.01, "compression": "gzip", "compression_level": 4}


def _flows(p=10, h=32, w=48):
    return np.stack([S.smooth_flow(h, w, shift=(k, -k / 2), amp=3.0, seed=k) for k in range(p)])


@pytest.mark.parametrize("encoding,tol", [("int16", 0.005 + 1e-6), ("float16", 0.01), ("float32", 0.0)])
def test_round_trip_precision(tmp_path, encoding, tol):
    flow = _flows()
    offsets = np.arange(-4, 6)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        nbytes = storage.write_pairs(f, "snip", offsets, flow, {**STORE, "encoding": encoding})
    assert 0 < nbytes
    with h5py.File(tmp_path / "f.h5", "r") as f:
        offs, back = storage.read_pairs(f, "snip")
        ds = f["snip/flow"]
        assert ds.attrs["units"] == "pixels" and ds.chunks == (1, 2, 32, 48)
    assert back.dtype == np.float32 and back.shape == flow.shape
    np.testing.assert_array_equal(offs, offsets)
    assert np.abs(back - flow).max() <= tol


def test_int16_widens_quantum_for_huge_flow_instead_of_clipping():
    flow = _flows(2)
    flow[1] *= 200  # up to ~1000+ px: more than 32767 * 0.01
    stored, scale = storage.encode(flow, "int16", 0.01)
    assert scale[0] == np.float32(0.01) and scale[1] > 0.01
    back = storage.decode(stored, scale)
    assert np.abs(back - flow).max() <= scale.max() / 2 + 1e-4


def test_stack_order_and_range(tmp_path):
    flow = _flows()
    offsets = np.arange(-4, 6)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        storage.write_pairs(f, "snip", offsets, flow, STORE)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        stack = storage.read_stack(f, "snip", center=0, L=10)
        assert stack.shape == (20, 32, 48) and stack.dtype == np.float32
        # channels [x_-4, y_-4, x_-3, y_-3, ..., x_5, y_5]
        np.testing.assert_allclose(stack[0], flow[0, 0], atol=0.006)
        np.testing.assert_allclose(stack[1], flow[0, 1], atol=0.006)
        np.testing.assert_allclose(stack[-2], flow[9, 0], atol=0.006)
        small = storage.read_stack(f, "snip", center=1, L=4)  # pairs 0, 1, 2, 3
        np.testing.assert_allclose(small[0], flow[4, 0], atol=0.006)
        with pytest.raises(storage.FlowStorageError, match=r"snip.*\+6"):
            storage.read_stack(f, "snip", center=1, L=10)
        with pytest.raises(storage.FlowStorageError, match="other"):
            storage.read_pairs(f, "other")


def test_stack_offsets_follow_saleh():
    assert flow_window(10, 0) == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    assert flow_window(4, 3) == [2, 3, 4, 5]


def test_bad_encoding_names_config_key():
    with pytest.raises(ValueError, match="flow.storage.encoding"):
        storage.encode(_flows(1), "int8")
