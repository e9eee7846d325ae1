"""Tests of the embedded synthcity renderer (the sibling package synthcity)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

import synthcity
from synthcity import dataset as render_mod
from synthcity.camera import Camera, intrinsics, orientation
from synthcity.flow_gt import exact_flow
from synthcity.raycast import GROUND, PRIM0, SKY, cast
from synthcity.scene import BOX, CYL, ELL, M_PAINT, Ground, SceneBuilder, World
from synthcity.street import random_env
from synthcity.textures import make_atlas
from synthcity.video import render_frame
from tagseg import classes
from tagseg.h5io import open_artifact

TINY = dict(seed=3, width=96, height=48, train_snippets=2, val_snippets=2, frames=12,
            annotated=7, flow_offsets=(-2, -1, 0, 1), iconic_per_class=2, iconic_size=32)
EVAL_IDS = {classes.label(n).label_id for n in classes.CLASS_NAMES}
FG_IDS = {classes.label(n).label_id for n in classes.FOREGROUND}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth") / "tiny"
    info = synthcity.render(root, **TINY)
    return root, info


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> Path:
    """A noise-free snippet (for photometric flow checks)."""
    root = tmp_path_factory.mktemp("synth") / "clean"
    synthcity.render(root, seed=5, width=128, height=64, train_snippets=1, val_snippets=0,
                     frames=8, annotated=4, flow_offsets=(-3, -1, 0, 2), iconic_per_class=0,
                     noise=0.0, density={"car": 2.0, "person": 2.0, "rider": 2.0})
    return root


def _snippets(root: Path, split: str) -> list[tuple[str, int]]:
    out = []
    for city in synthcity.CITIES[split]:
        for p in sorted((root / "gtFine" / split / city).glob("*_gtFine_labelIds.png")):
            out.append((city, int(p.name.split("_")[1])))
    return out


def _png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img[..., ::-1] if img.ndim == 3 else img


# ----------------------------------------------------------------------------- layout


def test_layout_and_names(tiny):
    root, info = tiny
    assert json.loads((root / "synthcity.json").read_text())["params"]["seed"] == 3
    assert info["counts"]["snippets"] == {"train": 2, "val": 2}
    for split, n in (("train", 2), ("val", 2)):
        snips = _snippets(root, split)
        assert len(snips) == n
        for city, seq in snips:
            assert city in synthcity.CITIES[split]
            stem = f"{city}_{seq:06d}"
            seqdir = root / "leftImg8bit_sequence" / split / city
            frames = sorted(seqdir.glob(f"{stem}_*_leftImg8bit.png"))
            assert [p.name for p in frames] == [f"{stem}_{f:06d}_leftImg8bit.png" for f in range(12)]
            ann = f"{stem}_000007"
            left = root / "leftImg8bit" / split / city / f"{ann}_leftImg8bit.png"
            assert left.read_bytes() == (seqdir / f"{ann}_leftImg8bit.png").read_bytes()
            img = _png(left)
            assert img.shape == (48, 96, 3) and img.dtype == np.uint8
            lab = _png(root / "gtFine" / split / city / f"{ann}_gtFine_labelIds.png")
            assert lab.shape == (48, 96) and lab.dtype == np.uint8
            col = _png(root / "gtFine" / split / city / f"{ann}_gtFine_color.png")
            pal = {lb.label_id: lb.color for lb in classes.LABELS}
            for lid in np.unique(lab):
                assert tuple(col[lab == lid][0]) == pal[int(lid)]
            assert (root / "flowGt" / split / city / f"{ann}_flowGt.h5").is_file()
    # no temporary folders left beside the root
    assert [p.name for p in root.parent.iterdir()] == [root.name]


def test_labels_are_cityscapes_ids(tiny):
    root, _ = tiny
    seen = set()
    for split in synthcity.SPLITS:
        for city, seq in _snippets(root, split):
            lab = _png(root / "gtFine" / split / city / f"{city}_{seq:06d}_000007_gtFine_labelIds.png")
            ids = set(np.unique(lab).tolist())
            assert ids <= EVAL_IDS | {classes.label("ego_vehicle").label_id}
            tid = classes.to_train_ids(lab)
            assert (tid != classes.IGNORE).mean() > 0.85
            seen |= ids
    for name in ("road", "building", "car", "sky"):
        assert classes.label(name).label_id in seen, name


def test_iconic_images(tiny):
    root, info = tiny
    dirs = sorted(p.name for p in (root / "iconic").iterdir())
    assert dirs == sorted(classes.CLASS_NAMES)
    for name in classes.CLASS_NAMES:
        files = sorted((root / "iconic" / name).glob("*.png"))
        assert [f.name for f in files] == ["0000.png", "0001.png"]
        assert _png(files[0]).shape == (32, 32, 3)
        # the class covers a large share of its iconic images (context at the borders; street-level
        # views stop at half the close-ups' share, slender things at 0.3 x 0.5)
        assert info["iconic_mean_fraction"][name] > 0.12, name


# ----------------------------------------------------------------------------- determinism


def test_deterministic_whatever_the_workers(tiny, tmp_path):
    root, _ = tiny
    other = tmp_path / "again"
    synthcity.render(other, workers=2, **TINY)
    a = sorted(p.relative_to(root) for p in root.rglob("*.png"))
    b = sorted(p.relative_to(other) for p in other.rglob("*.png"))
    assert a == b and len(a) == 4 * 12 + 4 * 3 + 19 * 2
    for rel in a:
        assert (root / rel).read_bytes() == (other / rel).read_bytes(), rel
    for rel in sorted(p.relative_to(root) for p in root.rglob("*.h5")):
        with h5py.File(root / rel) as f, h5py.File(other / rel) as g:
            for key in ("flow", "valid", "moving", "K", "cam_R", "cam_C"):
                np.testing.assert_array_equal(f[key][()], g[key][()])


def test_other_seed_differs(tiny, tmp_path):
    root, _ = tiny
    other = tmp_path / "seed4"
    synthcity.render(other, **{**TINY, "seed": 4, "train_snippets": 1, "val_snippets": 0,
                               "iconic_per_class": 0})
    rel = Path("leftImg8bit") / "train" / "alphaville" / "alphaville_000000_000007_leftImg8bit.png"
    assert (root / rel).read_bytes() != (other / rel).read_bytes()


# ----------------------------------------------------------------------------- flow


def _flow_file(root: Path, split="train", city="alphaville", seq=0, ann=7) -> Path:
    return root / "flowGt" / split / city / f"{city}_{seq:06d}_{ann:06d}_flowGt.h5"


def test_flow_artifact_format(tiny):
    root, _ = tiny
    with open_artifact(_flow_file(root), stage="synthesize") as f:
        assert f["flow"].shape == (4, 2, 48, 96) and f["flow"].dtype == np.float32
        assert list(f["flow"].attrs["offsets"]) == [-2, -1, 0, 1]
        assert list(f.attrs["offsets"]) == [-2, -1, 0, 1]
        assert f["valid"].shape == f["moving"].shape == (4, 48, 96)
        assert f["valid"].dtype == f["moving"].dtype == bool
        assert f["cam_R"].shape == (12, 3, 3) and f["cam_C"].shape == (12, 3)
        valid = f["valid"][()]
        flow = f["flow"][()]
    assert 0.5 < valid.mean() <= 1.0
    # targets outside the image are never valid
    v, u = np.mgrid[0:48, 0:96]
    eps = 1e-3  # the renderer's tolerance for rounding at the border
    out = ((u + flow[:, 0] < -eps) | (u + flow[:, 0] > 95 + eps)
           | (v + flow[:, 1] < -eps) | (v + flow[:, 1] > 47 + eps))
    assert not (valid & out).any()


def _pair_frames(root, split, city, seq, a):
    d = root / "leftImg8bit_sequence" / split / city
    return (_png(d / f"{city}_{seq:06d}_{a:06d}_leftImg8bit.png").astype(np.float32),
            _png(d / f"{city}_{seq:06d}_{a + 1:06d}_leftImg8bit.png").astype(np.float32))


def test_flow_warps_next_frame_onto_this_one(clean):
    """Warping frame t+1 back with the exact flow reproduces frame t on valid pixels, and
    better than any scaled or half-pixel-shifted version of the flow does (the remaining
    error comes from resampling point-sampled frames, not from the flow)."""
    with open_artifact(_flow_file(clean, ann=4), stage="synthesize") as f:
        flow, valid, moving = f["flow"][()], f["valid"][()], f["moving"][()]
        offsets = list(f.attrs["offsets"])
    H, W = valid.shape[1:]
    v, u = np.mgrid[0:H, 0:W].astype(np.float32)
    perturb = [(1.0, 0, 0), (0.0, 0, 0), (0.8, 0, 0), (1.2, 0, 0), (1.0, 0.5, 0),
               (1.0, -0.5, 0), (1.0, 0, 0.5), (1.0, 0, -0.5)]  # (scale, dx, dy)
    sums = {"static": np.zeros(len(perturb)), "moving": np.zeros(len(perturb))}
    counts = {"static": 0, "moving": 0}
    for p, o in enumerate(offsets):
        a, b = _pair_frames(clean, "train", "alphaville", 0, 4 + o)
        m = valid[p].copy()
        m[:2], m[-2:], m[:, :2], m[:, -2:] = False, False, False, False
        assert m.mean() > 0.5
        # pixels of moving things need a flow of >= 1 px: with tiny flows the identity,
        # which needs no interpolation, can beat any sub-pixel warp
        big = np.hypot(flow[p, 0], flow[p, 1]) >= 1.0
        masks = {"static": m & ~moving[p], "moving": m & moving[p] & big}
        for k, (s, dx, dy) in enumerate(perturb):
            warped = cv2.remap(b, u + s * flow[p, 0] + dx, v + s * flow[p, 1] + dy,
                               cv2.INTER_LINEAR)
            err = np.abs(warped - a).mean(-1)
            if k == 0:
                assert np.median(err[masks["static"]]) < 1.5, (o, np.median(err[masks["static"]]))
            for name, mask in masks.items():
                sums[name][k] += err[mask].sum()
        for name, mask in masks.items():
            counts[name] += int(mask.sum())
    assert counts["moving"] > 100, counts
    for name in sums:
        e = sums[name] / counts[name]
        assert e[0] < e[1:].min(), (name, e)
        assert e[0] < 0.7 * e[1], (name, e)  # far better than assuming no motion


def test_flow_of_an_independently_moving_box():
    """A box translating sideways in front of a static camera: flow = f * v / Z exactly."""
    rng = np.random.default_rng(0)
    b = SceneBuilder(rng)
    o = b.new_object((0.2, 0.0, 0.0))
    b.box(-1.0, 1.0, 0.5, 2.5, 10.0, 11.0, "car", M_PAINT, (0.3, 0.1, 0.1), obj=o)
    prims, vel = b.build()
    gr = Ground(road_x=(-5.0, 5.0), cross=[], road_color=(0.1, 0.1, 0.1),
                terrain_color=(0.1, 0.2, 0.05))
    world = World(prims=prims, vel=vel, ground=gr, env=random_env(rng))
    cam = _cam(W=96, H=64, C=(0.0, 1.5, 0.0))
    atlas = make_atlas(0)
    _, _, h0 = render_frame(world, cam, 0.0, atlas, None, None, rng)
    _, _, h1 = render_frame(world, cam, 1.0, atlas, None, None, rng)
    flow, valid, moving = exact_flow(world, h0, 0.0, h1, cam, 1.0)
    box = (h0.code == PRIM0).reshape(64, 96)
    assert box.sum() > 100
    np.testing.assert_allclose(flow[0][box], cam.f * 0.2 / 10.0, rtol=1e-6)
    np.testing.assert_allclose(flow[1][box], 0.0, atol=1e-9)
    assert moving[box].all() and not moving[~box].any()
    assert valid[box].mean() > 0.9
    # static ground and sky do not move; ground that the box covers in frame 1 is occluded
    still = ~box
    np.testing.assert_allclose(flow[:, still], 0.0, atol=1e-9)
    covered = still & (h1.code == PRIM0).reshape(64, 96)
    assert covered.sum() > 0 and not valid[covered].any()
    assert valid[still & ~covered].all()


def test_flow_of_road_matches_plane_projection(tiny):
    """Road points lie on the plane y = 0: project them analytically into the next camera."""
    root, _ = tiny
    for split in synthcity.SPLITS:
        for city, seq in _snippets(root, split):
            lab = _png(root / "gtFine" / split / city / f"{city}_{seq:06d}_000007_gtFine_labelIds.png")
            with open_artifact(_flow_file(root, split, city, seq), stage="synthesize") as f:
                p = list(f.attrs["offsets"]).index(0)
                flow = f["flow"][p]
                K, R, C = f["K"][()], f["cam_R"][()], f["cam_C"][()]
            v, u = np.nonzero(lab == classes.label("road").label_id)
            assert u.size > 100
            rays = R[7].T @ np.linalg.inv(K) @ np.stack([u, v, np.ones_like(u)]).astype(float)
            t = -C[7, 1] / rays[1]
            P = C[7][:, None] + rays * t
            X = K @ (R[8] @ (P - C[8][:, None]))
            u1, v1 = X[0] / X[2], X[1] / X[2]
            np.testing.assert_allclose(flow[0, v, u], u1 - u, atol=2e-3)
            np.testing.assert_allclose(flow[1, v, u], v1 - v, atol=2e-3)


def test_moving_mask_marks_only_things(tiny, clean):
    n_moving = 0
    for root, ann in ((tiny[0], 7), (clean, 4)):
        for split in synthcity.SPLITS:
            for city, seq in _snippets(root, split):
                lab = _png(root / "gtFine" / split / city / f"{city}_{seq:06d}_{ann:06d}_gtFine_labelIds.png")
                with open_artifact(_flow_file(root, split, city, seq, ann), stage="synthesize") as f:
                    p = list(f.attrs["offsets"]).index(0)
                    mov = f["moving"][p]
                assert set(np.unique(lab[mov]).tolist()) <= FG_IDS
                n_moving += int(mov.sum())
    assert n_moving > 0


# ----------------------------------------------------------------------------- geometry


def _cam(W=64, H=48, C=(0.0, 1.5, 0.0), yaw=0.0, pitch=0.0):
    f, cx, cy = intrinsics(W, H, 1.0)
    return Camera(R=orientation(yaw, pitch), C=np.array(C), f=f, cx=cx, cy=cy, width=W, height=H)


def test_projection_roundtrip():
    cam = _cam(yaw=0.1, pitch=-0.05)
    D = cam.ray_dirs()
    u, v, z = cam.project(cam.C[:, None] + 7.0 * D)
    np.testing.assert_allclose(z, 7.0)
    np.testing.assert_allclose(u, np.tile(np.arange(64), 48), atol=1e-9)
    np.testing.assert_allclose(v, np.repeat(np.arange(48), 64), atol=1e-9)


@pytest.mark.parametrize("kind", [BOX, CYL, ELL])
def test_raycast_hits_primitive_at_analytic_depth(kind):
    cam = _cam(C=(0.0, 1.0, 0.0))
    lo = np.array([[-1.0, 0.0, 9.0]])
    hi = np.array([[1.0, 2.0, 11.0]])
    hits = cast(cam, lo, hi, np.array([kind], np.int8))
    code = hits.code.reshape(48, 64)
    t = hits.t.reshape(48, 64)
    # the centre ray (pixel (23.5, 31.5) lies between pixels): check the four around it
    assert (code[23:25, 31:33] == PRIM0).all()
    # exact depth along the pixel ray through (31, 23)
    D = hits.D.reshape(3, 48, 64)[:, 23, 31]
    o = cam.C
    if kind == BOX:
        expect = 9.0  # front face z = 9
    else:
        # front of a cylinder / sphere of radius 1 centred at (0, 1, 10)
        c = np.array([0.0, 1.0, 10.0])
        dd = D if kind == ELL else D * np.array([1, 0, 1])
        oc = (o - c) if kind == ELL else (o - c) * np.array([1, 0, 1])
        a, b, cc = dd @ dd, 2 * oc @ dd, oc @ oc - 1
        expect = (-b - np.sqrt(b * b - 4 * a * cc)) / (2 * a)
    assert t[23, 31] == pytest.approx(expect, rel=1e-5)
    assert code[0, 0] == SKY and code[-1, 0] == GROUND


# ----------------------------------------------------------------------------- atomicity, errors


def test_failed_render_leaves_no_root(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(render_mod, "_iconic_job", boom)
    root = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="killed"):
        synthcity.render(root, width=48, height=24, train_snippets=1, val_snippets=0, frames=3,
                         annotated=1, flow_offsets=[0], iconic_per_class=1, iconic_size=16)
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_root_is_replaced(tmp_path):
    """An earlier render (its marker) is replaced; a folder of anything else is refused
    (tests/test_bad_inputs_cli.py)."""
    root = tmp_path / "ds"
    (root / "stale").mkdir(parents=True)
    (root / synthcity.MARKER).write_text("an earlier render\n")
    small = dict(width=48, height=24, train_snippets=1, val_snippets=1, frames=3, annotated=1,
                 flow_offsets=[-1, 0], iconic_per_class=0)
    info = synthcity.render(root, **small)
    assert not (root / "stale").exists()
    assert (root / "synthcity.json").is_file() and info["counts"]["frames"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


@pytest.mark.parametrize("bad, match", [
    (dict(flow_offsets=[2]), "flow_offsets"),
    (dict(annotated=5), "annotated"),
    (dict(density={"unicorn": 1.0}), "unicorn"),
    (dict(width=8), "width"),
])
def test_bad_parameters_are_named(tmp_path, bad, match):
    params = dict(width=48, height=24, train_snippets=1, val_snippets=0, frames=3, annotated=1,
                  flow_offsets=[0], iconic_per_class=0)
    params.update(bad)
    with pytest.raises(ValueError, match=match):
        synthcity.render(tmp_path / "x", **params)
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- difficulty


def _rgb_pixels(root: Path, split: str, ann: int):
    X, y = [], []
    for city, seq in _snippets(root, split):
        stem = f"{city}_{seq:06d}_{ann:06d}"
        img = _png(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png")
        tid = classes.to_train_ids(_png(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"))
        keep = tid != classes.IGNORE
        X.append(img[keep].reshape(-1, 3))
        y.append(tid[keep])
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


def _miou(pred: np.ndarray, gt: np.ndarray) -> float:
    ious = []
    for c in range(classes.NUM_CLASSES):
        inter = np.sum((pred == c) & (gt == c))
        union = np.sum((pred == c) | (gt == c))
        if np.any(gt == c):
            ious.append(inter / union)
    return float(np.mean(ious))


def rgb_classifier_mious(root: Path, ann: int) -> dict[str, float]:
    """Val mIoU (over classes present in val) of per-pixel RGB classifiers fit on train."""
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    Xtr, ytr = _rgb_pixels(root, "train", ann)
    Xva, yva = _rgb_pixels(root, "val", ann)
    rng = np.random.default_rng(0)
    sub = rng.choice(len(Xtr), min(len(Xtr), 40000), replace=False)
    out = {}
    for name, clf in (("gnb", GaussianNB()),
                      ("tree", DecisionTreeClassifier(max_depth=12, random_state=0)),
                      ("knn", KNeighborsClassifier(15))):
        clf.fit(Xtr[sub], ytr[sub])
        out[name] = _miou(clf.predict(Xva), yva)
    return out


def test_rgb_alone_is_ambiguous(tiny):
    mious = rgb_classifier_mious(tiny[0], 7)
    assert max(mious.values()) < 0.40, mious


# ----------------------------------------------------------------------------- default size


@pytest.mark.slow
def test_default_dataset_statistics(tmp_path_factory):
    """The default dataset's scenes (48 + 16 snippets of 30 frames, seed 0): every class
    occurs, frequencies resemble Cityscapes, RGB alone stays ambiguous. The statistics read
    only the annotated frames, so the render is cut to what they need: half the default
    resolution (128 x 64: the same views, the camera's intrinsics scale with the frame),
    one exact flow per snippet instead of 14 and no iconic images (neither changes a scene
    or an annotated frame)."""
    root = tmp_path_factory.mktemp("synth") / "default"
    info = synthcity.render(root, width=128, height=64, flow_offsets=(0,), iconic_per_class=0,
                            workers=2)
    assert info["counts"]["snippets"] == {"train": 48, "val": 16}
    freq = info["class_frequencies"]
    assert all(freq[n] > 0 for n in classes.CLASS_NAMES), freq
    assert 0.25 < freq["road"] < 0.5
    assert 0.1 < freq["building"] < 0.35
    assert 0.06 < freq["vegetation"] < 0.3
    assert 0.03 < freq["car"] < 0.12
    assert 0.01 < freq["sky"] < 0.1
    for rare in ("train", "motorcycle", "rider", "bus", "truck", "traffic_light"):
        assert freq[rare] < 0.012, (rare, freq[rare])
    mious = rgb_classifier_mious(root, 19)
    assert max(mious.values()) < 0.40, mious


def test_texture_sampling_beyond_remap_limit():
    """More samples than cv2.remap's 32767-column limit (a 256x144 frame of one material):
    the same values as sampled in small batches."""
    from synthcity import textures as tx

    atlas = tx.make_atlas(0)
    rng = np.random.default_rng(0)
    n = 40000
    tid, u, v = rng.integers(0, 3, n), rng.uniform(-500, 500, n), rng.uniform(-500, 500, n)
    parts = [tx.sample(atlas, tid[i:i + 3000], u[i:i + 3000], v[i:i + 3000]) for i in range(0, n, 3000)]
    assert np.array_equal(tx.sample(atlas, tid, u, v), np.concatenate(parts))
