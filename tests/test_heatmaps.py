"""Heatmap stage: iconic images, CAM classifier, heads, multi-scale maps, storage, quality."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import torch

from tagseg.config import section
from tagseg.datasets.cityscapes import TABLE
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.h5io import ArtifactError, write_artifact
from tagseg.heatmaps import imagenet as imagenet_mod
from tagseg.heatmaps.cam import CAMNet
from tagseg.heatmaps.iconic import IconicError, IconicImages, scan, split_held_out
from tagseg.heatmaps.model import (
    ClassHeadError,
    HeatmapModel,
    load_model,
    resolve_heads,
)
from tagseg.heatmaps.multiscale import multiscale_heatmaps, normalise, to_batch
from tagseg.heatmaps.quality import heatmap_quality
from tagseg.heatmaps.stage import heatmap_offsets, run_heatmaps
from tagseg.heatmaps.storage import read_heatmap, read_heatmaps, write_snippet
from tagseg.heatmaps.train import mosaic, run_classifiers, train_cam
from tagseg.model.vgg import VGG16, WeightsError

# A tiny world: 4 classes with distinct colours; frames are sky / building / road bands with a
# car box; label ids are Cityscapes'.
CLASSES = ["road", "building", "sky", "car"]
COLOURS = {"road": (128, 64, 128), "building": (150, 110, 60), "sky": (70, 130, 220),
           "car": (220, 20, 20)}
LABEL_IDS = {"road": 7, "building": 11, "sky": 23, "car": 26}
H, W = 32, 64
N_FRAMES, ANNOTATED = 12, 5

# Validated sections (tagseg.config.section): keys left out take the schema's defaults.
CAM_CFG = section("heatmaps.cam", {
    "width": 0.0625, "channels": 16, "batch_norm": True, "loss": "softmax", "input_size": 32,
    "epochs": 12, "batch_size": 8, "lr": 3e-3, "weight_decay": 0.0, "val_fraction": 0.25,
    "crop_scale": [0.5, 1.0], "jitter": 0.1})
CFG = section("heatmaps", {
    "heads": {"foreground": "auto", "background": "cam"},
    "imagenet": {"weights": None, "allow_download": False, "classes": {}},
    "cam": CAM_CFG, "scales": [1.0, 2.0], "store_scale": 0.5, "batch_frames": 4,
    "precision": "fp32", "threads": 1, "mask_threshold": 0.2})


def _noisy(colour, shape, rng):
    img = np.asarray(colour, np.float32) + rng.normal(0, 12, (*shape, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_iconic(root: Path, classes=CLASSES, n=8, size=40) -> Path:
    rng = np.random.default_rng(0)
    for name in classes:
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = _noisy(COLOURS[name], (size, size), rng)
            cv2.imwrite(str(d / f"{i:02d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return root


def frame_and_labels(rng, car_x: int) -> tuple[np.ndarray, np.ndarray]:
    lab = np.full((H, W), LABEL_IDS["road"], np.uint8)
    lab[: H // 4] = LABEL_IDS["sky"]
    lab[H // 4: H // 2] = LABEL_IDS["building"]
    lab[H // 2 - 4: H - 6, car_x: car_x + 16] = LABEL_IDS["car"]
    img = np.zeros((H, W, 3), np.uint8)
    for name, lid in LABEL_IDS.items():
        m = lab == lid
        img[m] = _noisy(COLOURS[name], (H, W), rng)[m]
    return img, lab


def write_dataset(root: Path, iconic: bool = True) -> Manifest:
    """Frames, ground truth and a manifest of 2 train + 2 val snippets (val: 2 shards)."""
    rng = np.random.default_rng(1)
    snippets = []
    for split, n in (("train", 2), ("val", 2)):
        for k in range(n):
            sid = f"town{split}_{k:06d}_{ANNOTATED:06d}"
            frames = []
            for t in range(N_FRAMES):
                img, lab = frame_and_labels(rng, car_x=4 + 3 * t)
                p = root / split / f"{sid}_{t:02d}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                frames.append(str(p))
                if t == ANNOTATED:
                    gt = root / split / f"{sid}_gtFine_labelIds.png"
                    cv2.imwrite(str(gt), lab)
            snippets.append(Snippet(id=sid, split=split, city=f"town{split}", frames=frames,
                                    annotated=ANNOTATED, tags=list(CLASSES), gt=str(gt), shard=k % 2 if split == "val" else 0))
    if iconic:
        write_iconic(root / "iconic")
    return Manifest(dataset="tiny", kind="synthcity", root=str(root), size=(H, W), resize=1.0,
                    classes=list(CLASSES), iconic=str(root / "iconic"),
                    shards={"train": 1, "val": 2}, snippets=snippets)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny dataset and a classifier trained on it (shared: training takes seconds)."""
    root = tmp_path_factory.mktemp("tiny")
    m = write_dataset(root)
    m.save(root / "manifest.json")
    torch.set_num_threads(1)
    report = run_classifiers(root / "manifest.json", CFG, root / "model.pt", root / "acc.json",
                             torch.device("cpu"), seed=0, progress=False)
    return root, m, report


# --------------------------------------------------------------------------- iconic images


def test_scan_and_split_are_stratified_and_deterministic(tmp_path):
    write_iconic(tmp_path, n=5)
    items = scan(tmp_path, CLASSES)
    assert len(items) == 20
    tr, va = split_held_out(items, 0.2, seed=3)
    assert sorted(lab for _, lab in va) == [0, 1, 2, 3]
    assert len(tr) == 16
    assert split_held_out(items, 0.2, seed=3) == (tr, va)
    ds = IconicImages(tr, CLASSES, size=24, augment=True, seed=0)
    x, y = ds[0]
    assert x.shape == (3, 24, 24) and x.dtype == torch.float32 and y == tr[0][1]


def test_iconic_errors_name_class_folder_and_file(tmp_path):
    write_iconic(tmp_path, classes=["road"], n=2)
    with pytest.raises(IconicError, match=r"class 'sky': iconic folder .*sky does not exist"):
        scan(tmp_path, ["road", "sky"])
    (tmp_path / "sky").mkdir()
    with pytest.raises(IconicError, match=r"class 'sky': iconic folder .*sky holds no images"):
        scan(tmp_path, ["sky"])
    (tmp_path / "sky" / "bad.png").write_bytes(b"garbage")
    ds = IconicImages(scan(tmp_path, ["sky"]), ["sky"], size=16, augment=False)
    with pytest.raises(IconicError, match=r"class 'sky': unreadable .*bad.png"):
        ds[0]


def test_heads_tagged_class_without_images_or_mapping_is_an_error(tmp_path):
    write_iconic(tmp_path, classes=["road", "sky"], n=1)
    cfg = copy.deepcopy(CFG)
    heads = resolve_heads(["road", "sky", "car"], {"road": "s1"}, cfg, tmp_path, TABLE)
    assert heads == {"road": "cam", "sky": "cam", "car": "none"}
    with pytest.raises(ClassHeadError, match=r"class 'car' \(in the tags of snippet s7\).*car does "
                                             r"not exist.*heatmaps.imagenet.classes"):
        resolve_heads(["road", "car"], {"car": "s7"}, cfg, tmp_path, TABLE)
    (tmp_path / "car").mkdir()
    with pytest.raises(IconicError, match=r"class 'car': iconic folder .*car holds no images"):
        resolve_heads(["car"], {}, cfg, tmp_path, TABLE)
    cfg["heads"]["background"] = "imagenet"
    with pytest.raises(WeightsError, match=r"class 'road'.*heatmaps.imagenet.weights"):
        resolve_heads(["road"], {}, cfg, tmp_path, TABLE)
    cfg["imagenet"] = section("heatmaps.imagenet", {"weights": "x.pth", "allow_download": False,
                                                    "classes": {"car": [817]}})
    with pytest.raises(ClassHeadError, match=r"class 'road'.*heatmaps.imagenet.classes"):
        resolve_heads(["road"], {}, cfg, tmp_path, TABLE)
    # auto: ImageNet for mapped foreground classes once weights are available
    assert resolve_heads(["car"], {"car": "s"}, cfg, tmp_path, TABLE)["car"] == "imagenet"


# --------------------------------------------------------------------------- CAM network


def test_cam_is_feature_map_times_fc_weights():
    torch.manual_seed(0)
    net = CAMNet(5, width=0.0625, channels=12).eval()
    x = torch.randn(2, 3, 48, 80)
    with torch.no_grad():
        logits, cam = net.cam(x)
        f = net.feature_map(x)
        ref = torch.einsum("bdhw,d->bhw", f, net.fc.weight[3])
        torch.testing.assert_close(cam[:, 3], ref)
        torch.testing.assert_close(logits, net(x), rtol=1e-4, atol=1e-5)
    assert cam.shape == (2, 5, 3, 5)


def test_training_learns_and_writes_checkpoint_and_accuracy(trained):
    root, m, report = trained
    acc = json.loads((root / "acc.json").read_text())
    assert list(acc["classes"]) == CLASSES
    for name in CLASSES:
        assert acc["classes"][name]["head"] == "cam"
        assert acc["classes"][name]["n_val"] == 2
    # 4 flat-colour classes: far above chance (0.25) after a few epochs
    assert acc["val_accuracy"] >= 0.75
    assert len(acc["history"]) == CAM_CFG["epochs"]
    model = load_model(root / "model.pt")
    assert model.class_names == CLASSES and model.cam is not None
    ck = torch.load(root / "model.pt", weights_only=True)
    assert ck["cam_arch"]["batch_norm"] is True
    assert any(k.startswith("features.") for k in ck["cam_state"])


def test_mosaic_targets_are_quadrant_area_fractions():
    g = torch.Generator().manual_seed(0)
    x = torch.stack([torch.full((3, 8, 8), float(i)) for i in range(4)])
    y = torch.tensor([0, 1, 2, 1])
    out, t = mosaic(x, y, 3, p=1.0, gen=g)
    assert out.shape == x.shape and t.shape == (4, 3)
    torch.testing.assert_close(t.sum(1), torch.ones(4))
    for i in range(4):
        quads = [out[i, 0, :4, :4], out[i, 0, :4, 4:], out[i, 0, 4:, :4], out[i, 0, 4:, 4:]]
        src = [int(q.mean().round()) for q in quads]  # each quadrant is one half-size image
        assert i in src
        assert t[i].tolist() == (torch.bincount(y[src], minlength=3) / 4).tolist()
    same, t0 = mosaic(x, y, 3, p=0.0, gen=g)
    assert torch.equal(same, x) and torch.equal(t0.argmax(1), y)


def test_training_is_reproducible_with_a_seed(tmp_path):
    write_iconic(tmp_path, classes=CLASSES[:2], n=3, size=24)
    cfg = dict(CAM_CFG, epochs=1, input_size=24)
    a, ra = train_cam(tmp_path, CLASSES[:2], cfg, torch.device("cpu"), seed=5, progress=False)
    b, rb = train_cam(tmp_path, CLASSES[:2], cfg, torch.device("cpu"), seed=5, progress=False)
    torch.testing.assert_close(a.fc.weight, b.fc.weight)
    assert ra["history"][0]["loss"] == rb["history"][0]["loss"]


# --------------------------------------------------------------------------- maps


def test_multiscale_maps_are_normalised_and_single_scale_matches_model(trained):
    root, m, _ = trained
    model = load_model(root / "model.pt")
    rng = np.random.default_rng(0)
    frames = np.stack([frame_and_labels(rng, 10)[0], frame_and_labels(rng, 30)[0]])
    maps, scores = multiscale_heatmaps(model, frames, [1.0, 1.5], device="cpu")
    assert maps.shape == (2, 4, H, W) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = maps.max(axis=(2, 3))
    assert np.all((np.abs(peaks - 1) < 1e-5) | (peaks == 0))
    assert scores.shape == (2, 4) and np.allclose(scores.sum(1), 1, atol=1e-4)  # softmax
    one, _ = multiscale_heatmaps(model, frames, [1.0], out_size=(16, 32), device="cpu")
    with torch.no_grad():
        _, ref = model.maps(to_batch(frames, torch.device("cpu")), (16, 32))
    np.testing.assert_allclose(one, normalise(ref).numpy(), atol=1e-6)


def test_softmax_maps_are_per_pixel_probabilities_of_the_mean_class_scores(trained):
    root, m, _ = trained
    model = load_model(root / "model.pt")
    rng = np.random.default_rng(1)
    frames = np.stack([frame_and_labels(rng, 10)[0], frame_and_labels(rng, 30)[0]])
    maps, _ = multiscale_heatmaps(model, frames, [1.0, 1.5], device="cpu", mode="softmax")
    assert maps.shape == (2, 4, H, W)
    np.testing.assert_allclose(maps.sum(1), 1.0, atol=1e-5)  # a distribution at every pixel
    x = to_batch(frames, torch.device("cpu"))
    with torch.no_grad():
        f = model.cam.feature_map(x)
        logits = torch.einsum("bdhw,cd->bchw", f, model.cam.fc.weight) + model.cam.fc.bias.view(1, -1, 1, 1)
        small = torch.nn.functional.interpolate(x, size=(int(round(H * 1.5)), int(round(W * 1.5))),
                                                mode="bilinear", align_corners=False)
        f2 = model.cam.feature_map(small)
        logits2 = torch.einsum("bdhw,cd->bchw", f2, model.cam.fc.weight) + model.cam.fc.bias.view(1, -1, 1, 1)
        up = lambda t: torch.nn.functional.interpolate(t, size=(H, W), mode="bilinear", align_corners=False)  # noqa: E731
        ref = ((up(logits) + up(logits2)) / 2).softmax(1)
    np.testing.assert_allclose(maps, ref.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="heatmaps.maps: unknown mode 'max'"):
        multiscale_heatmaps(model, frames, [1.0], device="cpu", mode="max")


def test_normalise_keeps_zero_maps_zero():
    x = torch.zeros(1, 2, 3, 3)
    x[0, 0, 1, 1] = 4.0
    y = normalise(x)
    assert float(y[0, 0].max()) == 1.0 and float(y[0, 1].abs().max()) == 0.0


def test_heatmap_offsets_union_train_offsets_and_flow_window():
    cfg = {"frames": {"train_offsets": [0, 7]}, "flow": {"L": 10}}
    assert heatmap_offsets(cfg) == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7]
    assert heatmap_offsets({"frames": {"train_offsets": [0]}, "flow": {"L": 2}}) == [0, 1]
    assert heatmap_offsets({"frames": {"train_offsets": [0]}, "flow": section("flow")}) == list(range(-4, 6))


# --------------------------------------------------------------------------- storage


def test_storage_roundtrip_upsamples_to_working_size(tmp_path):
    rng = np.random.default_rng(0)
    maps = rng.random((3, 4, 8, 16)).astype(np.float32)
    scores = rng.random((3, 4)).astype(np.float32)
    with write_artifact(tmp_path / "h.h5", "heatmaps", attrs={"classes": json.dumps(CLASSES)}) as f:
        write_snippet(f, "a_000000_000005", np.array([-1, 0, 1]), maps, scores, (16, 32))
    with h5py.File(tmp_path / "h.h5") as f:
        assert f["a_000000_000005/maps"].dtype == np.float16
        offs, up, sc = read_heatmaps(f, "a_000000_000005")
        assert offs.tolist() == [-1, 0, 1]
        assert up.shape == (3, 4, 16, 32) and up.dtype == np.float32
        assert up.min() >= 0 and up.max() <= 1
        np.testing.assert_allclose(up.mean(axis=(2, 3)), maps.mean(axis=(2, 3)), atol=0.02)
        np.testing.assert_array_equal(sc, scores)
        one, s1 = read_heatmap(f, "a_000000_000005", 1)
        np.testing.assert_allclose(one, up[2])
        with pytest.raises(ArtifactError, match=r"no heatmap at offset \+7"):
            read_heatmap(f, "a_000000_000005", 7)
        with pytest.raises(ArtifactError, match="no heatmaps for snippet 'zz'"):
            read_heatmaps(f, "zz")


# --------------------------------------------------------------------------- stage + quality


def test_stage_writes_every_offset_and_a_quality_report(trained, tmp_path):
    root, m, _ = trained
    offsets = heatmap_offsets({"frames": {"train_offsets": [0]}, "flow": {"L": 10}})
    paths = []
    for shard in (0, 1):
        out = tmp_path / f"val-{shard}.h5"
        info = run_heatmaps(root / "manifest.json", root / "model.pt", "val", shard, CFG, offsets,
                            out, torch.device("cpu"), progress=False)
        assert info["frames"] == len(offsets)
        paths.append(out)
    with h5py.File(paths[0]) as f:
        assert json.loads(f.attrs["classes"]) == CLASSES
        assert f.attrs["stored_size"].tolist() == [H // 2, W // 2]
        sid = m.shard("val", 0)[0].id
        assert f[sid]["maps"].shape == (len(offsets), 4, H // 2, W // 2)
        offs, maps, scores = read_heatmaps(f, sid)
        assert offs.tolist() == offsets and maps.shape == (len(offsets), 4, H, W)
        assert scores.shape == (len(offsets), 4)
    q = heatmap_quality(root / "manifest.json", paths, "val", 0.2)
    assert q["frames"] == 2
    # the numbers themselves are checked on exact maps below; here: a complete report
    assert 0 <= q["miou"] <= 1 and set(q["class_iou"]) == set(CLASSES)
    assert set(q["masks"]) == set(CLASSES)
    assert all(0 <= v["recall"] <= 1 for v in q["masks"].values())


def test_quality_is_perfect_for_ground_truth_maps(tmp_path):
    m = write_dataset(tmp_path, iconic=False)
    path = tmp_path / "gt.h5"
    with write_artifact(path, "heatmaps", attrs={"classes": json.dumps(CLASSES)}) as f:
        for s in m.split("val"):
            lab = cv2.imread(s.gt, cv2.IMREAD_UNCHANGED)
            maps = np.stack([(lab == LABEL_IDS[c]).astype(np.float32) for c in CLASSES])[None]
            scores = np.full((1, 4), 0.9, np.float32)
            write_snippet(f, s.id, np.array([0]), maps, scores, (H, W))
    q = heatmap_quality(m, [path], "val", 0.2)
    assert q["miou"] == pytest.approx(1.0)
    assert all(v["precision"] == 1.0 and v["recall"] == 1.0 for v in q["masks"].values())
    with pytest.raises(ValueError, match="no train snippet with ground truth"):
        heatmap_quality(m, [path], "train", 0.2)


def test_stage_rejects_a_checkpoint_of_another_class_table(trained, tmp_path):
    root, m, _ = trained
    other = copy.deepcopy(m)
    other.classes = ["road", "building", "sky", "car", "person"]
    with pytest.raises(ValueError, match="class table"):
        run_heatmaps(other, root / "model.pt", "val", 0, CFG, [0], tmp_path / "x.h5",
                     torch.device("cpu"), progress=False)
    assert not (tmp_path / "x.h5").exists()


# --------------------------------------------------------------------------- ImageNet head


def _tiny_imagenet_file(tmp_path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "vgg16-tiny.pth"
    torch.save(VGG16(width=0.0625).state_dict(), path)
    return path


def test_imagenet_head_is_max_over_mapped_classes(tmp_path):
    net = imagenet_mod.build(width=0.0625, weights=_tiny_imagenet_file(tmp_path))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        logits, maps = net(x)
    assert logits.shape == (1, 1000) and maps.shape == (1, 1000, 2, 3)
    scores, cmaps = imagenet_mod.class_maps(logits, maps, {"car": [817, 511]}, ["car"])
    prob = maps.softmax(1)
    torch.testing.assert_close(cmaps[:, 0], torch.maximum(prob[:, 817], prob[:, 511]))
    assert 0 <= float(scores) <= 1


def test_imagenet_weights_with_wrong_keys_name_the_key(tmp_path):
    state = VGG16(width=0.0625).state_dict()
    state["classifier.9.weight"] = state.pop("classifier.6.weight")
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"bad.pth.*classifier\.6\.weight.*classifier\.9\.weight"):
        imagenet_mod.build(width=0.0625, weights=path)


def test_imagenet_download_from_a_local_server(tmp_path):
    path = _tiny_imagenet_file(tmp_path)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/{path.name}"
        net = imagenet_mod.build(width=0.0625, allow_download=True, url=url,
                                 model_dir=tmp_path / "cache")
        assert (tmp_path / "cache" / path.name).is_file()
        with pytest.raises(WeightsError, match="cannot download"):
            imagenet_mod.build(width=0.0625, allow_download=True, url=url + "-missing",
                               model_dir=tmp_path / "cache")
    finally:
        srv.shutdown()
    assert isinstance(net, imagenet_mod.ImageNetHeatmaps)


def test_model_with_imagenet_foreground_and_cam_background(trained, tmp_path):
    root, m, _ = trained
    cfg = copy.deepcopy(CFG)
    cfg["imagenet"] = section("heatmaps.imagenet", {
        "weights": str(_tiny_imagenet_file(tmp_path)), "allow_download": False, "width": 0.0625,
        "classes": {"car": [817, 511]}})
    cfg["cam"] = dict(CAM_CFG, epochs=1, weights="none")
    run_classifiers(root / "manifest.json", cfg, tmp_path / "m.pt", tmp_path / "a.json",
                    torch.device("cpu"), progress=False)
    acc = json.loads((tmp_path / "a.json").read_text())
    assert acc["classes"]["car"] == {"val_accuracy": None, "head": "imagenet"}
    model = load_model(tmp_path / "m.pt", cfg)
    assert model.cam_classes == ["road", "building", "sky"] and model.imagenet is not None
    rng = np.random.default_rng(0)
    frames = frame_and_labels(rng, 20)[0][None]
    maps, scores = multiscale_heatmaps(model, frames, [1.0], device="cpu")
    assert maps.shape == (1, 4, H, W) and float(maps[0, 3].max()) == pytest.approx(1.0)
    assert isinstance(model, HeatmapModel)


def test_classifiers_fail_early_naming_a_tagged_class_without_images(tmp_path):
    m = write_dataset(tmp_path, iconic=False)
    write_iconic(tmp_path / "iconic", classes=["road", "building", "sky"], n=2)
    with pytest.raises(ClassHeadError, match=r"class 'car' \(in the tags of snippet town"):
        run_classifiers(m, CFG, tmp_path / "m.pt", tmp_path / "a.json", torch.device("cpu"),
                        progress=False)
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "a.json").exists()


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(WeightsError, match=r"missing.pt: classifier checkpoint not found"):
        load_model(tmp_path / "missing.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match=r"other.pt: not a tagseg classifier checkpoint"):
        load_model(tmp_path / "other.pt")
