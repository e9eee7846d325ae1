"""Training data, loop (resume, NaN guard, bad checkpoints), prediction, evaluation, ablation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import torch

from tagseg import classes as C
from tagseg.datasets.manifest import Manifest, Snippet
from tagseg.config import section
from tagseg.flow.storage import write_pairs
from tagseg.h5io import write_artifact
from tagseg.pseudolabels.storage import write_labels
from tagseg.train import checkpoint as ck
from tagseg.train.data import DataError, FrameDataset
from tagseg.train.readers import Readers
from tagseg.train.loop import TrainingError, loss_terms, train

H, W = 32, 64
FRAMES, ANNOTATED, L = 8, 4, 2
ROAD, SKY, CAR = C.train_id("road"), C.train_id("sky"), C.train_id("car")


def _scene(rng, shift):
    """Sky on top (blue), road below (grey), a red car box; labels in train ids."""
    img = np.zeros((H, W, 3), np.uint8)
    lab = np.full((H, W), ROAD, np.uint8)
    img[: H // 2] = (70, 130, 180)
    lab[: H // 2] = SKY
    img[H // 2:] = (128, 64, 128)
    x0 = 8 + shift
    img[H // 2: H // 2 + 8, x0: x0 + 12] = (200, 0, 0)
    lab[H // 2: H // 2 + 8, x0: x0 + 12] = CAR
    img = np.clip(img.astype(int) + rng.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)
    return img, lab


def _read_heatmaps(f, sid):
    g = f[sid]
    return g["offsets"][()], g["maps"][()], g["scores"][()]


READERS = Readers(heatmaps=_read_heatmaps, heatmap=None)


def make_dataset(root: Path, n_train=4, n_val=2, pseudo_ignore=0.3):
    """Tiny Cityscapes-layout dataset + manifest + flow / heatmap / pseudo-label shards."""
    rng = np.random.default_rng(0)
    label_of = C.train_id_to_label_id_lut()
    snippets = []
    for split, n in (("train", n_train), ("val", n_val)):
        city = f"town{split}"
        for seq in range(n):
            frames = []
            for f in range(FRAMES):
                img, lab = _scene(rng, shift=seq * 3 + f)
                p = root / "leftImg8bit_sequence" / split / city / f"{city}_{seq:06d}_{f:06d}_leftImg8bit.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                frames.append(str(p))
                if f == ANNOTATED:
                    g = root / "gtFine" / split / city / f"{city}_{seq:06d}_{f:06d}_gtFine_labelIds.png"
                    g.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(g), label_of[lab])
                    gt = str(g)
            snippets.append(Snippet(id=f"{city}_{seq:06d}_{ANNOTATED:06d}", split=split, city=city,
                                    frames=frames, annotated=ANNOTATED, tags=["road", "sky", "car"],
                                    gt=gt, shard=0))
    m = Manifest(dataset="tiny", kind="cityscapes", root=str(root), size=(H, W), resize=1.0,
                 classes=list(C.CLASS_NAMES), iconic=None, shards={"train": 1, "val": 1}, snippets=snippets)
    shards = {}
    for split in ("train", "val"):
        fp = root / "flow" / split / "shard-0.h5"
        hp = root / "heatmaps" / split / "shard-0.h5"
        pp = root / "pseudo" / split / "shard-0.h5"
        with write_artifact(fp, "flow") as f, write_artifact(hp, "heatmaps") as fh, \
                write_artifact(pp, "pseudolabels") as fq:
            for s in m.split(split):
                offs = np.arange(-2, 3)
                flow = np.zeros((len(offs), 2, H, W), np.float32)
                flow[:, 0, H // 2: H // 2 + 8] = 1.0  # the car moves right by one pixel
                write_pairs(f, s.id, offs, flow, section("flow.storage", {"encoding": "float32", "compression": "none"}))
                lab = cv2.imread(s.gt, cv2.IMREAD_UNCHANGED)
                train_ids = C.to_train_ids(lab)
                maps = np.zeros((1, C.NUM_CLASSES, H, W), np.float32)
                for k in (ROAD, SKY, CAR):
                    maps[0, k] = cv2.GaussianBlur((train_ids == k).astype(np.float32), (9, 9), 3)
                g = fh.create_group(s.id)
                g["offsets"] = np.array([0])
                g["maps"] = maps
                g["scores"] = maps.max(axis=(2, 3))
                noisy = train_ids.copy()
                noisy[rng.random((H, W)) < pseudo_ignore] = 255
                write_labels(fq, s.id, [0], noisy[None], np.ones((1, H, W), np.float32))
        shards[split] = {"flow": [fp], "heatmaps": [hp], "pseudo": [pp]}
    return m, shards


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return make_dataset(root)


def train_cfg(**over):
    cfg = {
        "variants": {
            "no_heatmap": {"two_stream": False, "losses": ["tag", "crf"]},
            "fg_heatmap": {"two_stream": False, "losses": ["tag", "heatmap", "crf"], "heatmap_classes": "foreground"},
            "heatmap": {"two_stream": False, "losses": ["tag", "heatmap", "crf"]},
            "two_stream": {"two_stream": True, "losses": ["tag", "heatmap", "crf"]},
            "two_stream_pseudo": {"two_stream": True, "losses": ["tag", "heatmap", "crf", "pseudo"]},
            "oracle": {"two_stream": True, "losses": ["gt"]},
        },
        "model": {"width": 0.0625, "flow_L": L, "output_stride": 16, "head_channels": 256,
                  "fusion_kernel": 1, "dropout": 0.0, "init": None, "batch_norm": False},
        "loss_weights": {"tag": 1.0, "heatmap": 1.0, "crf": 1.0, "pseudo": 1.0, "gt": 1.0},
        "lse_r": 5.0, "heatmap_threshold": 0.2,
        "crf": {"backend": "convcrf", "scale": 0.5, "tags_only": True, "window": 5, "blur": 2},
        "optimizer": {"name": "adam", "lr": 2e-3, "weight_decay": 0.0, "lr_step": 1000, "lr_gamma": 0.1},
        "iterations": 6, "batch_size": 2, "workers": 0, "checkpoint_every": 2, "log_every": 2,
        "amp": "auto", "hflip": True, "flow_scale": 1.0, "ema": 0.0,
    }
    for k, v in over.items():
        cfg[k] = v
    return section("train", cfg)  # the other keys: the schema's defaults


# ------------------------------------------------------------------------------------ data


def test_dataset_samples_and_flip(tiny):
    m, shards = tiny
    ds = FrameDataset(m, "train", [0], ["flow", "heatmaps", "pseudo"], shards["train"], flow_L=L,
                      flow_scale=1.0, readers=READERS)
    s = ds[0]
    assert s["rgb"].shape == (3, H, W) and s["image"].dtype == torch.uint8
    assert s["flow"].shape == (2 * L, H, W)
    assert float(s["flow"][0, H // 2 + 1, 20]) == 1.0 and float(s["flow"][1].abs().max()) == 0.0
    assert s["heatmaps"].shape == (C.NUM_CLASSES, H, W)
    assert s["tags"].sum() == 3 and bool(s["tags"][CAR])
    assert s["labels"].dtype == torch.int64 and set(s["labels"].unique().tolist()) <= {ROAD, SKY, CAR, 255}
    flipped = FrameDataset(m, "train", [0], ["flow", "gt"], shards["train"], flow_L=L, flow_scale=1.0,
                           hflip=True, readers=READERS, seed=0)
    plain = FrameDataset(m, "train", [0], ["flow", "gt"], shards["train"], flow_L=L, flow_scale=1.0,
                         readers=READERS)
    found = False
    for i in range(len(plain)):
        a, b = plain[i], flipped[i]
        if not torch.equal(a["image"], b["image"]):
            found = True
            assert torch.equal(b["image"], a["image"].flip(-1))
            assert torch.equal(b["labels"], a["labels"].flip(-1))
            assert torch.equal(b["flow"][0], -a["flow"][0].flip(-1))  # x component changes sign
    assert found


def test_dataset_errors(tiny, tmp_path):
    m, shards = tiny
    with pytest.raises(DataError, match=r"shape \(6, 32, 64\), expected \(2L=4"):
        FrameDataset(m, "train", [0], ["flow"], shards["train"], flow_L=L, flow_scale=1.0,
                     readers=Readers(stack=lambda f, sid, c, l: np.zeros((6, H, W), np.float32), heatmap=None))[0]
    with pytest.raises(DataError, match="no flow pair at offset -3"):
        FrameDataset(m, "train", [0], ["flow"], shards["train"], flow_L=8, flow_scale=1.0,
                     readers=READERS)[0]
    with pytest.raises(DataError, match="no heatmaps at frame offset 2"):
        FrameDataset(m, "train", [2], ["heatmaps"], shards["train"], readers=READERS)[0]
    with pytest.raises(ValueError, match="shard paths"):
        FrameDataset(m, "train", [0], ["flow"], {})


def test_loss_terms_per_variant(tiny):
    m, shards = tiny
    cfg = train_cfg()
    ds = FrameDataset(m, "train", [0], ["flow", "heatmaps", "pseudo"], shards["train"], flow_L=L,
                      flow_scale=10.0, readers=READERS)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    logits = torch.randn(2, C.NUM_CLASSES, H, W, requires_grad=True)
    terms = loss_terms(logits, batch, ["tag", "heatmap", "crf", "pseudo"], cfg)
    assert set(terms) == {"tag", "heatmap", "crf", "pseudo"}
    assert all(torch.isfinite(t) and t.item() >= 0 for t in (v.detach() for v in terms.values()))
    sum(terms.values()).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    # the fg heatmap loss only sees 'car'; zeroing car's heatmap zeroes that term
    fg = torch.tensor([n in m.table.foreground for n in m.classes])
    batch2 = dict(batch, heatmaps=batch["heatmaps"].clone())
    batch2["heatmaps"][:, CAR] = 0
    assert loss_terms(logits, batch2, ["heatmap"], cfg, fg)["heatmap"].item() == 0.0
    assert loss_terms(logits, batch2, ["heatmap"], cfg)["heatmap"].item() > 0.0


# ------------------------------------------------------------------------------------ loop


def test_balanced_sampling_draws_each_tag_class_about_equally_often():
    from tagseg.train.loop import _batches, sample_weights

    tags = [["car"]] * 8 + [["bus"]] * 2 + [[]]  # 8 car snippets, 2 bus, 1 untagged
    assert sample_weights(tags, "uniform") is None
    w = sample_weights(tags, "balanced")
    assert w[:8].sum().item() == pytest.approx(1.0) == w[8:10].sum().item() and w[10] == pytest.approx(1 / 11)
    assert sorted(i for b in _batches(11, 2, 0, 3) for i in b) != list(range(11))  # 5 batches: 10 of 11
    assert sorted(i for b in _batches(10, 2, 0, 3) for i in b) == list(range(10))  # uniform: a permutation
    draws = [i for e in range(200) for b in _batches(11, 2, 0, e, w) for i in b]
    assert draws == [i for e in range(200) for b in _batches(11, 2, 0, e, w) for i in b]  # (seed, epoch) only
    bus = sum(8 <= i < 10 for i in draws) / len(draws)
    car = sum(i < 8 for i in draws) / len(draws)
    assert 0.4 < bus < 0.55 and 0.4 < car < 0.55  # uniform draws would give 0.18 / 0.73
    with pytest.raises(ValueError, match="train.sampling"):
        sample_weights(tags, "rare")


@pytest.mark.parametrize("sampling", ["uniform", "balanced"])
def test_oracle_learns_and_resume_matches_uninterrupted(tiny, tmp_path, sampling):
    m, shards = tiny
    cfg = train_cfg(iterations=6, sampling=sampling)
    full = train(m, cfg, "oracle", tmp_path / "a" / "model.pt", shards["train"], readers=READERS,
                 progress=False, history_path=tmp_path / "a" / "train.json")
    assert (tmp_path / "a" / "model.pt").exists() and not (tmp_path / "a" / "checkpoint.pt").exists()
    hist = json.loads((tmp_path / "a" / "train.json").read_text())["history"]
    assert hist[-1]["gt"] < hist[0]["gt"]  # it learns
    # killed after 4 iterations (checkpoint at 4), then resumed
    part = train(m, cfg, "oracle", tmp_path / "b" / "model.pt", shards["train"], readers=READERS,
                 progress=False, stop_after=4)
    assert part["iterations_this_run"] == 4 and (tmp_path / "b" / "checkpoint.pt").exists()
    assert not (tmp_path / "b" / "model.pt").exists()
    rest = train(m, cfg, "oracle", tmp_path / "b" / "model.pt", shards["train"], readers=READERS, progress=False)
    assert rest["resumed_from"] == 4 and rest["iterations_this_run"] == 2
    a = ck.load(tmp_path / "a" / "model.pt")["model"]
    b = ck.load(tmp_path / "b" / "model.pt")["model"]
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    assert full["history"][-1]["gt"] == pytest.approx(rest["history"][-1]["gt"], rel=1e-4)


def test_ema_model_is_the_average_and_resumes_exactly(tiny, tmp_path):
    m, shards = tiny
    # decay 0.5 over 4 iterations: the saved weights are the EMA, not the last ones
    train(m, train_cfg(iterations=4, checkpoint_every=0), "oracle", tmp_path / "p" / "model.pt",
          shards["train"], readers=READERS, progress=False)
    cfg = train_cfg(iterations=4, checkpoint_every=2, ema=0.5)
    train(m, cfg, "oracle", tmp_path / "a" / "model.pt", shards["train"], readers=READERS, progress=False)
    p = ck.load(tmp_path / "p" / "model.pt")["model"]
    a = ck.load(tmp_path / "a" / "model.pt")["model"]
    assert set(p) == set(a)  # same layout: predict loads it like any model
    assert any(not torch.allclose(p[k].float(), a[k].float()) for k in p if p[k].is_floating_point())
    # the same run killed after 2 iterations and resumed gives the same average
    train(m, cfg, "oracle", tmp_path / "b" / "model.pt", shards["train"], readers=READERS,
          progress=False, stop_after=2)
    assert "ema" in ck.load(tmp_path / "b" / "checkpoint.pt")
    train(m, cfg, "oracle", tmp_path / "b" / "model.pt", shards["train"], readers=READERS, progress=False)
    b = ck.load(tmp_path / "b" / "model.pt")["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k
    with pytest.raises(TrainingError, match="train.ema"):
        train(m, {**train_cfg(iterations=1), "ema": 1.0}, "oracle", tmp_path / "c" / "model.pt", shards["train"],
              readers=READERS, progress=False)



@pytest.mark.parametrize("variant", ["no_heatmap", "fg_heatmap", "heatmap", "two_stream", "two_stream_pseudo"])
def test_every_weak_variant_trains(tiny, tmp_path, variant):
    m, shards = tiny
    s = train(m, train_cfg(iterations=2, checkpoint_every=0), variant, tmp_path / "model.pt",
              shards["train"], readers=READERS, progress=False)
    net, meta = ck.load_model(tmp_path / "model.pt", variant, list(m.classes))
    assert meta["variant"] == variant and net.cfg.two_stream == variant.startswith("two_stream")
    assert set(s["history"][-1]) >= set(s["losses"])


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    m, shards = tiny
    cfg = train_cfg(iterations=6, checkpoint_every=2)
    import tagseg.train.loop as loop

    real = loop.loss_terms
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        t = real(*a, **k)
        if calls["n"] == 3:
            t["gt"] = t["gt"] * float("nan")
        return t

    monkeypatch.setattr(loop, "loss_terms", poisoned)
    with pytest.raises(TrainingError, match="non-finite loss at iteration 2.*checkpoint.pt"):
        train(m, cfg, "oracle", tmp_path / "model.pt", shards["train"], readers=READERS, progress=False)
    assert not (tmp_path / "model.pt").exists()
    good = ck.load(tmp_path / "checkpoint.pt")
    assert good["meta"]["iteration"] == 2
    assert all(torch.isfinite(v).all() for v in good["model"].values())


def test_foreign_checkpoints_are_rejected(tiny, tmp_path):
    m, shards = tiny
    cfg = train_cfg(iterations=2, checkpoint_every=0)
    train(m, cfg, "heatmap", tmp_path / "model.pt", shards["train"], readers=READERS, progress=False)
    with pytest.raises(ck.CheckpointError, match="variant 'heatmap', expected 'two_stream'"):
        ck.load_model(tmp_path / "model.pt", "two_stream", list(m.classes))
    with pytest.raises(ck.CheckpointError, match="class table"):
        ck.load_model(tmp_path / "model.pt", "heatmap", ["road", "sky"])
    # a resumable checkpoint of another variant in this variant's folder: moved aside, not used
    (tmp_path / "model.pt").rename(tmp_path / "checkpoint.pt")
    s = train(m, cfg, "two_stream", tmp_path / "model.pt", shards["train"], readers=READERS, progress=False)
    assert s["resumed_from"] == 0 and (tmp_path / "checkpoint.pt.stale-1").is_file()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ck.CheckpointError, match="junk.pt"):
        ck.load(tmp_path / "junk.pt")
    with pytest.raises(TrainingError, match="train.variants"):
        train(m, cfg, "nope", tmp_path / "x.pt", shards["train"], readers=READERS, progress=False)


def test_changed_config_restarts_instead_of_resuming(tiny, tmp_path):
    m, shards = tiny
    train(m, train_cfg(iterations=4), "oracle", tmp_path / "model.pt", shards["train"], readers=READERS,
          progress=False, stop_after=2)
    cfg = train_cfg(iterations=4)
    cfg["optimizer"] = dict(cfg["optimizer"], lr=1e-3)
    s = train(m, cfg, "oracle", tmp_path / "model.pt", shards["train"], readers=READERS, progress=False)
    assert s["resumed_from"] == 0 and s["iterations_this_run"] == 4


# ------------------------------------------------------------------------------- predict / evaluate


def test_predict_evaluate_ablation(tiny, tmp_path):
    from tagseg import ablation
    from tagseg.predict import evaluate_variant, predict_split

    m, shards = tiny
    cfg = train_cfg(iterations=30, checkpoint_every=0, optimizer={"name": "adam", "lr": 3e-3, "weight_decay": 0.0})
    metric_files = {}
    for variant in ("oracle", "heatmap"):
        train(m, cfg, variant, tmp_path / variant / "model.pt", shards["train"], readers=READERS, progress=False)
        out = tmp_path / "predict" / variant
        s = predict_split(m, "val", tmp_path / variant / "model.pt", variant, out, shards["val"]["flow"],
                          {"crf": {"reference_width": None}, "overlays": True}, readers=READERS)
        assert s["images"] == 2
        pngs = sorted((out / "raw").rglob("*.png"))
        assert [p.name for p in pngs] == [f"townval_{i:06d}_{ANNOTATED:06d}_{variant}_labelIds.png" for i in range(2)]
        lab = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
        assert lab.shape == (H, W) and set(np.unique(lab)) <= {lab_.label_id for lab_ in C.TRAIN_LABELS}
        assert len(list((out / "crf").rglob("*.png"))) == 2 and len(list((out / "overlay").rglob("*.png"))) == 4
        r = evaluate_variant(m, "val", out, variant, tmp_path / f"{variant}.json")
        assert r["n_images"] == 2 and set(r) >= {"raw", "crf", "dataset", "variant", "split"}
        assert set(r["crf"]) >= {"class_iou", "miou", "mean_class_accuracy", "global_accuracy", "category_miou"}
        json.loads((tmp_path / f"{variant}.json").read_text())  # valid JSON (no NaN)
        metric_files[variant] = tmp_path / f"{variant}.json"
    oracle = json.loads(metric_files["oracle"].read_text())
    assert oracle["raw"]["global_accuracy"] > 0.8  # three easy classes, trained on ground truth
    with pytest.raises(ck.CheckpointError):
        predict_split(m, "val", tmp_path / "oracle" / "model.pt", "heatmap", tmp_path / "x", None, {},
                      readers=READERS)
    table = ablation.write(metric_files, tmp_path / "ablation.json", tmp_path / "ablation.md", default="heatmap")
    md = (tmp_path / "ablation.md").read_text()
    assert "| heatmap (default) |" in md and "| oracle |" in md and "| car |" in md
    assert table["variants"]["oracle"]["raw"]["miou"] == oracle["raw"]["miou"]


def test_init_from_classifier_checkpoint(tiny, tmp_path):
    from tagseg.heatmaps.cam import CAMNet
    from tagseg.heatmaps.model import FORMAT
    from tagseg.model.two_stream import NetConfig
    from tagseg.train.loop import init_state

    m, shards = tiny
    cam = CAMNet(num_classes=3, width=0.0625)
    path = tmp_path / "classifiers.pt"
    torch.save({"format": FORMAT, "cam_arch": cam.arch(), "cam_state": cam.state_dict()}, path)
    state = init_state(path, NetConfig(width=0.0625, num_classes=19))
    assert torch.equal(state["features.0.weight"], cam.features[0].weight)
    with pytest.raises(TrainingError, match="width 0.0625.*width 0.125"):
        init_state(path, NetConfig(width=0.125))
    cfg = train_cfg(iterations=1, checkpoint_every=0)
    train(m, cfg, "two_stream", tmp_path / "model.pt", shards["train"], readers=READERS, progress=False,
          init_path=path)
    _, meta = ck.load_model(tmp_path / "model.pt", "two_stream")
    assert meta["iteration"] == 1


def test_rule_helpers():
    from tagseg import plan as tr

    config = {"device": "cpu", "datasets": {"d": {"shards": {"train": 2, "val": 1}}}, "flow": {"L": 6},
              "predict": {"split": "val"},
              "train": {"variant": "ts", "ablation": ["rgb", "ts"], "model": {"flow_L": None, "init": None},
                        "iterations": 3, "extra_datasets": [],
                        "variants": {"rgb": {"two_stream": False, "losses": ["tag", "crf"]},
                                     "ts": {"two_stream": True, "losses": ["tag", "heatmap", "pseudo"]}}}}
    assert tr.train_inputs(config, "d", "rgb") == {"manifest": "results/d/manifest.json"}
    ts = tr.train_inputs(config, "d", "ts")
    assert ts["flow"] == ["results/d/flow/train/shard-0.h5", "results/d/flow/train/shard-1.h5"]
    assert ts["pseudo"][1] == "results/d/pseudolabels/train/shard-1.h5" and "heatmaps" in ts
    assert tr.predict_inputs(config, "d", "ts")["flow"] == ["results/d/flow/val/shard-0.h5"]
    rc = tr.train_config(config, "rgb")
    assert rc["model"]["flow_L"] == 6 and list(rc["variants"]) == ["rgb"] and "ablation" not in rc
    assert tr.gpu(config) == 0 and tr.default_variant(config) == "ts"
    config["train"]["ablation"].append("typo")
    with pytest.raises(ValueError, match="train.variants"):
        tr.ablation_variants(config)


def test_single_frame_heatmap_reader_matches_contract_reader(tmp_path):
    from tagseg.heatmaps.storage import read_heatmaps, write_snippet
    from tagseg.train.readers import _read_heatmap

    rng = np.random.default_rng(0)
    maps = rng.random((3, C.NUM_CLASSES, 8, 16)).astype(np.float32)
    with write_artifact(tmp_path / "h.h5", "heatmaps") as f:
        write_snippet(f, "s", np.array([-1, 0, 1]), maps, maps.max(axis=(2, 3)), (16, 32))
    with h5py.File(tmp_path / "h.h5") as f:
        offs, all_maps, _ = read_heatmaps(f, "s")
        one, _ = _read_heatmap(f, "s", 1)
    assert one.shape == (C.NUM_CLASSES, 16, 32)
    assert np.allclose(one, all_maps[list(offs).index(1)])
