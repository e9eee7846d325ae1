"""Pseudo-label library: graph, weighted GMM, inside-outside maps, graph-cut solvers, pipeline."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest

from tagseg.pseudolabels import unaries
from tagseg.pseudolabels.gmm import fit_weighted_gmm
from tagseg.pseudolabels.graph import build_graph, pairwise_weights, spatial_edges, temporal_edges
from tagseg.pseudolabels.motion import inside_outside, motion_boundaries, orientation_boundaries, ray_votes
from tagseg.config import section
from tagseg.pseudolabels.pipeline import label_window
from tagseg.pseudolabels.solve import alpha_expansion, per_class_cuts, potts_energy, solve
from tagseg.plan import flow_window as window_offsets
from tagseg.pseudolabels.stage import PseudoLabelInputError, select_inputs, tag_table
from tagseg.pseudolabels.storage import PseudoLabelStorageError, read_ablations, read_labels, write_labels
from tagseg.pseudolabels.superpixels import segment_frame, segment_window


# ----------------------------------------------------------------------------- synthetic scene

def scene(F=5, H=48, W=96, seed=0, noise=0.2):
    """Sky over road, a car (moving right 3 px/frame) whose heatmap covers only its centre."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((F, H, W, 3), np.uint8)
    gt = np.zeros((F, H, W), np.int64)
    flows = np.zeros((F, 2, H, W), np.float32)
    for t in range(F):
        img = np.empty((H, W, 3))
        img[: H // 2] = (70, 130, 180)
        img[H // 2:] = (128, 64, 128)
        g = np.zeros((H, W), np.int64)
        g[H // 2:] = 1
        x0 = 16 + 3 * t
        img[20:38, x0:x0 + 22] = (0, 0, 142)
        g[20:38, x0:x0 + 22] = 2
        frames[t] = np.clip(img + rng.normal(0, 6, img.shape), 0, 255)
        gt[t] = g
        flows[t, 0, 20:38, x0:x0 + 22] = 3.0
    heat = np.full((F, 3, H, W), 0.2, np.float32)
    heat[:, 0][gt == 0] = 0.7
    heat[:, 1][gt == 1] = 0.7
    for t in range(F):
        x0 = 16 + 3 * t
        heat[t, 2, 24:34, x0 + 6:x0 + 16] = 0.9  # discriminative part only
    heat = np.clip(heat + rng.normal(0, noise, heat.shape), 0, 1).astype(np.float32)
    return frames, flows, heat, gt


def miou(pred, gt, k=3):
    return np.mean([((pred == c) & (gt == c)).sum() / ((pred == c) | (gt == c)).sum() for c in range(k)])


# ----------------------------------------------------------------------------- superpixels & graph

@pytest.mark.parametrize("backend", ["skimage", "opencv"])
def test_superpixels_consecutive_ids_follow_colour_edge(backend):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 40:] = 200
    lab = segment_frame(img, n_segments=20, backend=backend)
    assert lab.shape == (40, 80) and lab.min() == 0
    assert np.array_equal(np.unique(lab), np.arange(lab.max() + 1))
    # no superpixel straddles the colour edge
    left, right = set(np.unique(lab[:, :40])), set(np.unique(lab[:, 40:]))
    assert not left & right


def test_segment_window_global_ids():
    frames = np.random.default_rng(0).integers(0, 255, (3, 20, 30, 3), dtype=np.uint8)
    lab, start = segment_window(frames, n_segments=10)
    for t in range(3):
        ids = np.unique(lab[t])
        assert ids.min() == start[t] and ids.max() == start[t + 1] - 1


def test_spatial_edges_of_known_layout():
    lab = np.array([[[0, 0, 1], [2, 2, 1], [2, 3, 3]]])
    e = {tuple(x) for x in spatial_edges(lab)}
    assert e == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}


def test_temporal_edges_follow_flow():
    lab = np.zeros((2, 4, 8), np.int32)
    lab[0, :, 4:] = 1
    lab[1] = 2
    lab[1, :, 6:] = 3
    flow = np.zeros((1, 2, 4, 8), np.float32)
    flow[0, 0] = 2.0  # everything moves 2 px right; columns 6,7 of frame 0 leave the image
    size = np.bincount(lab.ravel()).astype(float)
    e, phi = temporal_edges(lab, flow, size)
    got = {tuple(x): p for x, p in zip(e.tolist(), phi)}
    # node 0 (cols 0-3) -> cols 2-5: all node 2; node 1 (cols 4-7) -> cols 6,7 (node 3), rest out
    assert got == {(0, 2): 1.0, (1, 3): 0.5}


def test_pairwise_weights_favour_similar_colours():
    frames = np.zeros((1, 10, 30, 3), np.uint8)
    frames[0, :, 10:20] = 10
    frames[0, :, 20:] = 250
    lab = np.zeros((1, 10, 30), np.int32)
    lab[0, :, 10:20] = 1
    lab[0, :, 20:] = 2
    g = build_graph(frames, None, lab)
    w = dict(zip(map(tuple, g.edges.tolist()), pairwise_weights(g)))
    assert w[(0, 1)] > w[(1, 2)] > 0


# ----------------------------------------------------------------------------- weighted GMM

def test_weighted_em_equals_repeated_samples():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(5, 1, (30, 2))])
    reps = rng.integers(1, 4, len(x))
    init = np.array([[0.0, 0.0], [5.0, 5.0]])
    a = fit_weighted_gmm(x, reps.astype(float), 2, init_means=init, tol=1e-10)
    b = fit_weighted_gmm(np.repeat(x, reps, axis=0), np.ones(reps.sum()), 2, init_means=init, tol=1e-10)
    order_a, order_b = np.argsort(a.means[:, 0]), np.argsort(b.means[:, 0])
    assert np.allclose(a.means[order_a], b.means[order_b], atol=1e-6)
    assert np.allclose(a.covariances[order_a], b.covariances[order_b], atol=1e-6)


def test_weights_matter():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 0.5, (50, 3)), rng.normal(4, 0.5, (50, 3))])
    w = np.r_[np.ones(50), np.full(50, 1e-3)]
    g = fit_weighted_gmm(x, w, n_components=1)
    assert np.abs(g.means[0]).max() < 0.3  # the down-weighted cluster barely moves the mean
    g0 = fit_weighted_gmm(x, np.ones(100), n_components=1)
    assert np.allclose(g0.means[0], 2.0, atol=0.3)
    # log density is higher where the weight was
    assert g.score_samples(np.zeros((1, 3)))[0] > g.score_samples(np.full((1, 3), 4.0))[0]


def test_gmm_rejects_bad_weights():
    with pytest.raises(ValueError, match="zero"):
        fit_weighted_gmm(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="non-negative"):
        fit_weighted_gmm(np.zeros((3, 2)), np.array([1.0, -1.0, 1.0]))


# ----------------------------------------------------------------------------- motion

def test_ray_votes_inside_closed_curve():
    b = np.zeros((20, 30), bool)
    b[5, 8:20] = b[14, 8:20] = True
    b[5:15, 8] = b[5:15, 19] = True
    v = ray_votes(b)
    assert (v[7:13, 10:18] == 8).all()
    assert (v[:3] < 5).all() and (v[:, 22:] < 5).all()


def test_inside_outside_of_moving_square():
    flow = np.zeros((2, 40, 60), np.float32)
    flow[0, 10:25, 20:40] = 3.0
    flow[1] += 0.05 * np.arange(40)[:, None]  # smooth ego-motion: no boundary
    inside = inside_outside(flow)
    sq = np.zeros((40, 60), bool)
    sq[10:25, 20:40] = True
    assert inside[12:23, 22:38].all()
    ring = np.zeros_like(sq)
    ring[8:27, 18:42] = True  # the square grown by 2 px: boundary pixels may vote either way
    assert inside[~ring].mean() < 0.01
    assert motion_boundaries(np.zeros((2, 8, 8)), 1.0).max() == 0.0


def test_orientation_term_marks_turning_flow():
    f = np.zeros((2, 7, 7))
    f[0] = 1.0
    f[:, 3, 3] = (0.0, 1.0)  # the centre points down, its neighbours right: 90 degrees
    b = orientation_boundaries(f, lam_theta=2.0)
    expect = 1 - np.exp(-2.0 * (np.pi / 2) ** 2)
    assert np.allclose(b[2:5, 2:5], expect)
    b[2:5, 2:5] = 0
    assert np.allclose(b, 0)
    # a weak gradient without a turn is no boundary; a strong one is, whatever the angle
    weak = np.zeros((2, 7, 7)); weak[0, :, 4:] = 0.3
    assert motion_boundaries(weak, lam_m=1.0, strong=0.6).max() == 0
    strong = np.zeros((2, 7, 7)); strong[0, :, 4:] = 4.0
    assert motion_boundaries(strong, lam_m=1.0, strong=0.6).max() > 0.6


# ----------------------------------------------------------------------------- solvers

def brute_force(u, edges, w):
    n, k = u.shape
    return min(potts_energy(u, edges, w, np.array(c)) for c in itertools.product(range(k), repeat=n))


@pytest.mark.parametrize("seed", range(4))
def test_alpha_expansion_near_optimal_on_small_graphs(seed):
    rng = np.random.default_rng(seed)
    n, k = 7, 3
    u = rng.random((n, k)) * 2
    edges = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.5])
    w = rng.random(len(edges))
    lab = alpha_expansion(u, edges, w)
    e, opt = potts_energy(u, edges, w, lab), brute_force(u, edges, w)
    assert opt - 1e-9 <= e <= 2 * opt + 1e-9  # α-expansion bound for Potts: factor 2
    assert e <= potts_energy(u, edges, w, u.argmin(1)) + 1e-9


def test_binary_problems_solved_exactly():
    rng = np.random.default_rng(5)
    for _ in range(5):
        u = rng.random((8, 2)) * 2
        edges = np.array([(i, j) for i in range(8) for j in range(i + 1, 8) if rng.random() < 0.4])
        w = rng.random(len(edges))
        opt = brute_force(u, edges, w)
        for solver in ("expansion", "per_class"):
            assert potts_energy(u, edges, w, solve(u, edges, w, solver)) == pytest.approx(opt)


def test_per_class_cuts_smooth_noise():
    # a chain with a strong pull to label 0 and one noisy node
    u = np.tile([0.0, 1.0, 1.0], (9, 1))
    u[4] = [1.0, 0.0, 1.0]
    edges = np.array([(i, i + 1) for i in range(8)])
    lab = per_class_cuts(u, edges, np.full(8, 2.0))
    assert (lab == 0).all()


def test_unary_terms_are_distributions():
    a = unaries.attention(np.array([[0.9, 0.1], [0.0, 0.0]]))
    assert np.allclose(a.sum(1), 1) and a[0, 0] > a[0, 1] and a[1, 0] == pytest.approx(0.5)
    m = unaries.motion(np.array([1.0, 0.0]), np.array([True, False]), 0.9, 0.1)
    assert m[0, 0] == pytest.approx(0.9) and m[1, 1] == pytest.approx(0.9)
    m = unaries.motion(np.array([1.0, 0.0]), np.array([True, False]), 0.5, 0.1)
    assert m[0, 0] == pytest.approx(0.5 / 0.6) and m[1, 1] == pytest.approx(0.9 / 1.4)
    with pytest.raises(ValueError, match="inside_moving"):
        unaries.motion(np.zeros(1), np.array([True]), 1.0, 0.1)
    assert np.allclose(unaries.motion(np.array([1.0]), np.array([True, True]))[0], 0.5)
    col = np.r_[np.tile([0.9, 0.1, 0.1], (20, 1)), np.tile([0.1, 0.1, 0.9], (20, 1))]
    col += np.random.default_rng(0).normal(0, 0.02, col.shape)
    att = np.r_[np.tile([0.8, 0.2], (10, 1)), np.tile([0.5, 0.5], (10, 1)), np.tile([0.3, 0.7], (20, 1))]
    c = unaries.appearance(col, att, threshold=0.6, n_components=1)
    assert (c[:20, 0] > 0.9).all() and (c[20:, 1] > 0.9).all()  # unsure nodes follow colour


# ----------------------------------------------------------------------------- pipeline

def test_label_window_beats_heatmap_argmax_and_is_deterministic():
    frames, flows, heat, gt = scene()
    cfg = section("pseudolabels", {"superpixels": {"pixels_per_superpixel": 40}})
    r = label_window(frames, flows[:-1], heat, np.array([False, False, True]), cfg)
    assert r.labels.shape == gt.shape and r.confidence.shape == gt.shape
    assert ((r.confidence >= 0) & (r.confidence <= 1)).all()
    base = miou(heat.argmax(1), gt)
    assert miou(r.labels, gt) > base + 0.1
    assert set(r.ablations) >= {"attention", "attention+appearance", "attention+motion", "full"}
    r2 = label_window(frames, flows[:-1], heat, np.array([False, False, True]), cfg)
    assert np.array_equal(r.labels, r2.labels)


def test_label_window_single_frame_and_unsure():
    frames, _, heat, gt = scene(F=1)
    r = label_window(frames, None, heat, np.zeros(3, bool),
                     section("pseudolabels", {"unsure_below": 0.99, "ablations": False,
                                              "superpixels": {"pixels_per_superpixel": 40}}))
    assert (r.labels == -1).any() and r.ablations == {}


def test_label_window_rejects_mismatched_shapes():
    frames, flows, heat, _ = scene(F=3)
    with pytest.raises(ValueError, match="flows must be"):
        label_window(frames, flows, heat, np.zeros(3, bool), section("pseudolabels"))
    with pytest.raises(ValueError, match="no tagged classes"):
        label_window(frames, flows[:-1], heat[:, :0], np.zeros(0, bool), section("pseudolabels"))


# ----------------------------------------------------------------------------- stage helpers & storage

def test_window_offsets():
    assert window_offsets(10) == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    assert window_offsets(2) == [0, 1]


def test_select_inputs_names_both_files():
    off = np.arange(-4, 6)
    frames, hrows, mrows = select_inputs("s", window_offsets(10), off, (10, 19, 8, 16), off, (10, 2, 8, 16),
                                         (8, 16), "h.h5", "f.h5")
    assert frames == list(range(-4, 6)) and mrows == list(range(10))
    frames, _, mrows = select_inputs("s", window_offsets(10), off, (10, 19, 8, 16), off[:-1],
                                     (9, 2, 8, 16), (8, 16), "h.h5", "f.h5")
    assert mrows[-1] == 8  # last frame reuses the previous pair
    with pytest.raises(PseudoLabelInputError, match=r"h\.h5.*f\.h5"):
        select_inputs("s", window_offsets(10), off, (10, 19, 8, 16), off, (10, 2, 8, 18), (8, 16), "h.h5", "f.h5")
    with pytest.raises(PseudoLabelInputError, match=r"heatmaps h\.h5 and flow f\.h5 do not match"):
        select_inputs("s", window_offsets(10), off, (10, 19, 8, 16), np.arange(0, 6), (6, 2, 8, 16),
                      (8, 16), "h.h5", "f.h5")
    with pytest.raises(PseudoLabelInputError, match="including 0"):
        select_inputs("s", window_offsets(10), np.array([3, 4]), (2, 19, 8, 16), off, (10, 2, 8, 16),
                      (8, 16), "h.h5", "f.h5")


def test_tag_table_and_no_tags_error():
    from tagseg.classes import CLASS_NAMES
    from tagseg.datasets.manifest import Manifest, Snippet

    s = Snippet(id="a_000000_000019", split="val", city="a", frames=["x"], annotated=0,
                tags=["road", "car", "sky"])
    m = Manifest("d", "synthcity", "/r", (8, 16), 1.0, list(CLASS_NAMES), None, {"val": 1}, [s])
    idx, tid, mov = tag_table(m, s)
    assert idx.tolist() == [0, 13, 10] and tid.tolist() == [0, 13, 10] and mov.tolist() == [False, True, False]
    s.tags = []
    with pytest.raises(PseudoLabelInputError, match="a_000000_000019.*no tagged classes"):
        tag_table(m, s)


def test_storage_roundtrip(tmp_path):
    labels = np.random.default_rng(0).integers(0, 19, (3, 8, 16)).astype(np.uint8)
    labels[0, 0, 0] = 255
    conf = np.random.default_rng(1).random((3, 8, 16)).astype(np.float32)
    with h5py.File(tmp_path / "p.h5", "w") as f:
        write_labels(f, "s1", [-1, 0, 1], labels, conf, ["road"], {"attention": labels[1]}, 1.5)
    with h5py.File(tmp_path / "p.h5", "r") as f:
        off, lab, c = read_labels(f, "s1")
        assert off.tolist() == [-1, 0, 1] and np.array_equal(lab, labels)
        assert c.dtype == np.float32 and np.allclose(c, conf, atol=1e-3)
        assert np.array_equal(read_ablations(f, "s1")["attention"], labels[1])
        with pytest.raises(PseudoLabelStorageError, match="p.h5.*nope"):
            read_labels(f, "nope")
