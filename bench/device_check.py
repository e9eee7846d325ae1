"""GPU check (issue 19): every torch stage timed on the device against its CPU reference, side by
side in one run, with goals, a determinism check and a projection to Cityscapes size.

    python bench/device_check.py --device cuda --out device_check.json   # <= 8 min on one GPU
    python bench/device_check.py --device cpu --tiny --out /tmp/dc.json  # CI / no GPU: < 1 min

Sections (each under its own time cap, so the whole CUDA run fits ``--budget`` seconds; a section
that fails is recorded with its error and the others still run):

* ``flow``: TV-L1 pairs/s at 1024x512 (``--tiny``: 128x64) of OpenCV DualTVL1 on the CPU with 1
  thread and with all cores, and of tagseg's torch backend (batched) on ``--device``; end-point
  error of both against synthcity ground truth rendered at that size.
* ``heatmaps``: frames/s of the multi-scale CAM heatmaps per backbone, fp32 and bf16
  (bench/heatmaps.py's timing).
* ``training``: iterations/s of the two-stream network (the variant two_stream_pseudo's loss
  terms: tag, heatmap, ConvCRF, pseudo-label) at batch 1 and 4, AMP off and bf16, per backbone,
  with peak GPU memory (``torch.cuda.max_memory_allocated``; null on the CPU).
* ``inference``: images/s of the network alone, with pydensecrf's dense CRF on the CPU and with
  ConvCRF on the device; mIoU of both CRFs on the same predictions. The check has no trained
  network, so those predictions are simulated from the rendered ground truth (one-hot scores
  plus smooth noise: a stand-in whose raw mIoU is printed beside the CRFs').
* ``determinism``: two identical short training runs (same seed, same data): equal weights or
  not, by default and under ``deterministic: warn`` (a fresh process), naming the ops torch
  reports as having no deterministic kernel.
* ``main_job`` (CUDA only): the .test-size workflow to results/synthcity/metrics.json with
  ``device=cuda`` and, at the same time, with ``device=cpu``; their metrics compared.
* ``projection``: GPU-hours per stage of a Cityscapes-size run (2975 train + 500 val snippets)
  from these figures (meaningful only for a full-size run on the GPU).

Weights are random wherever only speed is measured. Nothing is written outside ``--workdir``
(a temporary folder by default) and ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SECTIONS = ("flow", "heatmaps", "training", "inference", "determinism", "main_job", "projection")
"""Keys of the JSON report, one per measured section (and ``meta``, ``goals``)."""

CITYSCAPES = {"train": 2975, "val": 500}
"""Snippets per split of Cityscapes (leftImg8bit_sequence), for the projection."""

PAPER = {"inference_s": 0.56, "inference_crf_s": 3.6}
"""Saleh et al. §4: seconds per 1024x512 image without / with the dense CRF."""

GOALS = {"flow_speedup": 50.0, "crf_inference_s": 0.1, "train_it_per_s_batch1": 5.0,
         "flow_epe_ratio": 1.1}
"""Issue 19's goals: torch TV-L1 on the GPU >= 50x OpenCV 1-thread pairs/s, with EPE within
1.1x OpenCV's; inference with CRF <= 0.1 s per 1024x512 image; training >= 5 it/s at batch 1."""


# ----------------------------------------------------------------------------- settings


def settings(tiny: bool) -> dict[str, Any]:
    """Sizes, repeats and time caps (seconds) of each section; ``tiny`` for the CPU smoke run."""
    if tiny:  # seconds of work; CPU bf16 (no AMX) is slow, so one step per training setting
        return dict(size=(64, 32), snippets=1, flow_pairs=2, flow_cap=3.0, heat_scales=[1.0],
                    heat_backbones=[("efficientnet_lite0", None), ("vgg16", 0.125)], heat_frames=1,
                    heat_repeats=1, train_backbones=[("vgg16", 0.125), ("efficientnet_lite0", None)],
                    train_batches=[1, 4], train_cap=0.0, train_warmup=0, train_max=1,
                    infer_width=0.125, infer_cap=0.0, det_size=(32, 16), det_steps=1, det_batch=1,
                    threads=1)
    return dict(size=(1024, 512), snippets=2, flow_pairs=8, flow_cap=40.0,
                heat_backbones=[("efficientnet_lite0", None), ("vgg16", 0.125), ("vgg16", 1.0)],
                heat_frames=4, heat_repeats=2,
                train_backbones=[("vgg16", 1.0), ("vgg16", 0.125), ("efficientnet_lite0", None)],
                train_batches=[1, 4], train_cap=6.0, train_warmup=2, train_max=50,
                infer_width=1.0, infer_cap=8.0, det_size=(512, 256), det_steps=5, det_batch=2,
                heat_scales=None, threads=None)


def load_config() -> dict[str, Any]:
    """The repository's config/config.yaml, validated with the schema's defaults filled (what
    every stage runs with)."""
    from tagseg.config import load_config as load

    return load(REPO / "config" / "config.yaml")


def _bench_module(name: str):
    """bench/{name}.py as a module (its timing helpers are reused here)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timings)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(step: Callable[[], Any], device: torch.device, cap_s: float, warmup: int = 1,
         max_n: int = 1000, min_n: int = 1) -> tuple[float, int]:
    """(calls per second, calls timed): ``warmup`` untimed calls, then calls until ``cap_s``
    seconds have passed (at least ``min_n``, at most ``max_n``)."""
    for _ in range(warmup):
        step()
    sync(device)
    n, t0 = 0, time.perf_counter()
    while n < min_n or (n < max_n and time.perf_counter() - t0 < cap_s):
        step()
        n += 1
    sync(device)
    return n / (time.perf_counter() - t0), n


# ----------------------------------------------------------------------------- data


def render_truth(root: Path, size: tuple[int, int], snippets: int) -> dict[str, Any]:
    """Render ``snippets`` synthcity val snippets at ``size`` (W, H) into ``root`` and load them.

    Returns {"gray0", "gray1": (P, H, W) uint8 consecutive frames; "flow": (P, 2, H, W) exact
    forward flow, pixels; "valid": (P, H, W) bool; "rgb": (S, H, W, 3) uint8 annotated frames;
    "labels": (S, H, W) uint8 train ids (255 ignore); "seconds": render time}.
    """
    import synthcity
    from tagseg.datasets.cityscapes import TABLE
    from tagseg.flow.quality import read_gt
    from tagseg.images import read_label, read_rgb

    w, h = size
    t0 = time.perf_counter()
    synthcity.render(root, width=w, height=h, train_snippets=0, val_snippets=snippets, frames=9,
                     annotated=4, flow_offsets=range(-4, 4), iconic_per_class=0,
                     workers=min(snippets, os.cpu_count() or 1), overwrite=True)
    seconds = time.perf_counter() - t0
    out: dict[str, list] = {k: [] for k in ("gray0", "gray1", "flow", "valid", "rgb", "labels")}
    for gt in sorted(root.glob("flowGt/val/*/*_flowGt.h5")):
        stem = gt.name.removesuffix("_flowGt.h5")
        city, seq, ann = stem.rsplit("_", 2)
        frame = lambda k: root / "leftImg8bit_sequence" / "val" / city / f"{city}_{seq}_{int(ann) + k:06d}_leftImg8bit.png"  # noqa: E731
        offsets, flow, _moving, valid = read_gt(gt, (h, w))
        for j, k in enumerate(offsets.tolist()):
            g = [cv2.cvtColor(read_rgb(frame(o)), cv2.COLOR_RGB2GRAY) for o in (k, k + 1)]
            out["gray0"].append(g[0])
            out["gray1"].append(g[1])
            out["flow"].append(flow[j])
            out["valid"].append(valid[j])
        out["rgb"].append(read_rgb(frame(0)))
        out["labels"].append(TABLE.to_train_ids(read_label(root / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png")))
    data = {k: np.stack(v) for k, v in out.items()}
    data["seconds"] = seconds
    return data


def epe(flows: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """Mean end-point error (pixels) of (P, 2, H, W) ``flows`` against ``truth`` where ``valid``."""
    err = np.sqrt(((flows - truth[: len(flows)]) ** 2).sum(1))
    return float(err[valid[: len(flows)]].mean())


# ----------------------------------------------------------------------------- sections


def check_flow(data: Mapping[str, Any], cfg: Mapping[str, Any], device: torch.device, s: Mapping[str, Any]) -> dict:
    """TV-L1 pairs/s: OpenCV 1 thread, OpenCV all cores, torch backend batched on ``device``; EPE."""
    from tagseg.flow.opencv_tvl1 import OpenCVTVL1
    from tagseg.flow.params import TVL1Params
    from tagseg.flow.torch_tvl1 import TorchTVL1

    params = TVL1Params.from_config(cfg["flow"]["tvl1"])
    g0, g1 = data["gray0"][: s["flow_pairs"]], data["gray1"][: s["flow_pairs"]]
    n = len(g0)
    ocv = OpenCVTVL1(params)
    cores = os.cpu_count() or 1
    old = cv2.getNumThreads()
    res: dict[str, Any] = {"size": list(s["size"]), "pairs": n, "params": params.to_config()}
    try:
        cv2.setNumThreads(1)
        done: list[np.ndarray] = []
        t0 = time.perf_counter()
        for i in range(n):  # one pair at a time, until the cap
            done.append(ocv(g0[i : i + 1], g1[i : i + 1])[0])
            if time.perf_counter() - t0 > s["flow_cap"] / 3:
                break
        res["opencv_1thread"] = {"threads": 1, "pairs_timed": len(done),
                                 "pairs_per_s": len(done) / (time.perf_counter() - t0)}
        cv2.setNumThreads(cores)
        t0 = time.perf_counter()
        f_ocv = ocv(g0, g1)
        res["opencv_all"] = {"threads": cores, "pairs_timed": n, "pairs_per_s": n / (time.perf_counter() - t0),
                             "epe_px": epe(f_ocv, data["flow"], data["valid"])}
    finally:
        cv2.setNumThreads(old)
    tor = TorchTVL1(params, device=device, batch_size=max(1, n))
    tor(g0[:1], g1[:1])  # warm-up: CUDA context, kernels
    sync(device)
    t0 = time.perf_counter()
    f_tor = tor(g0, g1)
    sync(device)
    res["torch"] = {"device": str(device), "batch_size": n, "pairs_timed": n,
                    "pairs_per_s": n / (time.perf_counter() - t0),
                    "epe_px": epe(f_tor, data["flow"], data["valid"])}
    res["speedup_torch_vs_opencv_1thread"] = res["torch"]["pairs_per_s"] / res["opencv_1thread"]["pairs_per_s"]
    res["speedup_torch_vs_opencv_all"] = res["torch"]["pairs_per_s"] / res["opencv_all"]["pairs_per_s"]
    res["epe_ratio_torch_vs_opencv"] = res["torch"]["epe_px"] / res["opencv_all"]["epe_px"]
    return res


def check_heatmaps(cfg: Mapping[str, Any], device: torch.device, s: Mapping[str, Any]) -> dict:
    """Frames/s of the multi-scale heatmaps per backbone and precision (bench/heatmaps.py)."""
    bench = _bench_module("heatmaps").bench
    w, h = s["size"]
    scales = [float(x) for x in (s["heat_scales"] or cfg["heatmaps"]["scales"])]
    bn = bool(cfg["heatmaps"]["cam"]["batch_norm"])
    rows = []
    for backbone, width in s["heat_backbones"]:
        for prec in ("fp32", "bf16"):
            fps = bench(backbone, float(width or cfg["heatmaps"]["cam"]["width"]), bn, device, prec,
                        s["heat_frames"], s["heat_repeats"], (h, w), scales)
            rows.append({"backbone": backbone, "width": width, "precision": prec, "frames_per_s": fps})
    return {"size": [w, h], "scales": scales, "frames_per_batch": s["heat_frames"], "rows": rows}


def synthetic_batch(batch: int, size: tuple[int, int], classes: int, L: int, device: torch.device,
                    seed: int = 0) -> dict[str, torch.Tensor]:
    """A training batch like :class:`tagseg.train.data.FrameDataset`'s, of random data (W, H = size)."""
    from tagseg.classtable import IGNORE

    w, h = size
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (batch, h, w), generator=g)
    labels[:, : h // 8] = IGNORE
    out = {"rgb": torch.randn(batch, 3, h, w, generator=g), "flow": torch.randn(batch, 2 * L, h, w, generator=g),
           "image": torch.rand(batch, 3, h, w, generator=g) * 255,
           "tags": torch.rand(batch, classes, generator=g) < 0.4, "tags_complete": torch.ones(batch, dtype=torch.bool),
           "heatmaps": torch.rand(batch, classes, h, w, generator=g), "labels": labels}
    return {k: v.to(device) for k, v in out.items()}


def train_setup(cfg: Mapping[str, Any], backbone: str, width: float | None, size: tuple[int, int], batch: int,
                amp: str, device: torch.device, seed: int = 0) -> tuple[torch.nn.Module, Callable[[], float]]:
    """(network, step): one training step of the two-stream net with the two_stream_pseudo loss terms."""
    from tagseg.model import losses as L
    from tagseg.model.two_stream import TwoStreamNet
    from tagseg.train.loop import autocast_dtype, build_optimizer, loss_terms, net_config, seed_everything

    tcfg = json.loads(json.dumps(cfg["train"]))
    tcfg["model"]["backbone"] = backbone
    if width is not None:
        tcfg["model"]["width"] = width
    flow_L = int(cfg["flow"]["L"])
    tcfg["model"]["flow_L"] = flow_L
    v = tcfg["variants"]["two_stream_pseudo"]
    seed_everything(seed)
    net = TwoStreamNet(net_config(tcfg, v, 19))
    frozen = int(tcfg["model"]["frozen_blocks"])
    if frozen and backbone == "efficientnet_lite0":
        net.appearance.freeze(frozen)
    net.to(device).train()
    opt, _ = build_optimizer(net, tcfg["optimizer"])
    dtype = autocast_dtype(amp, device)
    b = synthetic_batch(batch, size, 19, flow_L, device, seed)

    def step() -> float:
        ctx = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with ctx:
            logits = net(b["rgb"], b["flow"])
        loss = L.combine(loss_terms(logits, b, v["losses"], tcfg), tcfg["loss_weights"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return net, step


def check_training(cfg: Mapping[str, Any], device: torch.device, s: Mapping[str, Any]) -> dict:
    """Iterations/s of the two-stream network per backbone x batch x AMP, with peak GPU memory."""
    rows = []
    for backbone, width in s["train_backbones"]:
        for batch in s["train_batches"]:
            for amp in ("off", "bf16"):
                row: dict[str, Any] = {"backbone": backbone, "width": width, "batch": batch, "amp": amp}
                try:
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                        torch.cuda.reset_peak_memory_stats(device)
                    net, step = train_setup(cfg, backbone, width, s["size"], batch, amp, device)
                    row["it_per_s"], row["iterations_timed"] = rate(step, device, s["train_cap"], s["train_warmup"],
                                                                    s["train_max"])
                    row["peak_gpu_mib"] = (torch.cuda.max_memory_allocated(device) / 2**20
                                           if device.type == "cuda" else None)
                    del net, step
                except torch.cuda.OutOfMemoryError as e:  # a row, not the section
                    row["error"] = f"out of memory: {str(e).splitlines()[0]}"
                rows.append(row)
    return {"size": list(s["size"]), "losses": list(cfg["train"]["variants"]["two_stream_pseudo"]["losses"]),
            "crf_backend": cfg["train"]["crf"]["backend"], "rows": rows}


def simulated_probs(labels: np.ndarray, classes: int, seed: int = 0) -> torch.Tensor:
    """(C, H, W) class probabilities standing in for a network's: softmax of 3 x one-hot(labels)
    plus smooth noise (std 2.5 at 1/16 resolution, bilinearly upsampled); ignore pixels random."""
    h, w = labels.shape
    g = torch.Generator().manual_seed(seed)
    lab = torch.from_numpy(labels.astype(np.int64))
    onehot = F.one_hot(lab.clamp_max(classes - 1), classes).permute(2, 0, 1).float()
    onehot[:, lab >= classes] = 0
    noise = torch.randn(1, classes, max(1, h // 16), max(1, w // 16), generator=g) * 2.5
    noise = F.interpolate(noise, size=(h, w), mode="bilinear", align_corners=False)[0]
    return torch.softmax(3.0 * onehot + noise, 0)


def check_inference(data: Mapping[str, Any], cfg: Mapping[str, Any], device: torch.device, s: Mapping[str, Any]) -> dict:
    """Images/s: network alone, + pydensecrf (CPU), + ConvCRF (device); mIoU of both CRFs."""
    from tagseg.crf import ConvCRF, CRFParams, dense_crf
    from tagseg.datasets.cityscapes import TABLE
    from tagseg.model.two_stream import TwoStreamNet
    from tagseg.predict import predict_probs
    from tagseg.train.loop import net_config

    miou = _bench_module("crf").miou
    w, h = s["size"]
    tcfg = json.loads(json.dumps(cfg["train"]))
    tcfg["model"]["width"] = s["infer_width"]
    tcfg["model"]["flow_L"] = L = int(cfg["flow"]["L"])
    net = TwoStreamNet(net_config(tcfg, tcfg["variants"]["two_stream_pseudo"], 19)).to(device).eval()
    amp = torch.bfloat16 if device.type == "cuda" else None
    rgb = data["rgb"][0]
    flow = np.random.default_rng(0).normal(0, 3, (2 * L, h, w)).astype(np.float32)
    raw_ips, _ = rate(lambda: predict_probs(net, rgb, flow, 10.0, device, amp), device, s["infer_cap"], 1, 100, 2)
    params = CRFParams.from_config(cfg["predict"]["crf"], width=w)
    probs = [simulated_probs(lab, 19, seed=i) for i, lab in enumerate(data["labels"])]
    try:  # pydensecrf (built from its sdist on the GPU machine, bench/device_env.sh) may be missing
        t0 = time.perf_counter()
        q_dense = [torch.from_numpy(dense_crf(img, p.numpy(), params)) for img, p in zip(data["rgb"], probs)]
        dense_s = (time.perf_counter() - t0) / len(probs)
    except ImportError as e:
        q_dense, dense_s, dense_error = None, math.nan, f"ImportError: {e}"
    crf = ConvCRF(params, int(cfg["train"]["crf"]["window"]), int(cfg["train"]["crf"]["blur"]))
    imgs = [torch.from_numpy(img).permute(2, 0, 1)[None].float().to(device) for img in data["rgb"]]
    dev_probs = [p[None].to(device) for p in probs]
    with torch.no_grad():
        crf(imgs[0], dev_probs[0])  # warm-up
        sync(device)
        t0 = time.perf_counter()
        q_conv = [crf(i, p)[0].float().cpu() for i, p in zip(imgs, dev_probs)]
        sync(device)
    conv_s = (time.perf_counter() - t0) / len(probs)
    gts = list(data["labels"])
    m_raw, m_conv = (miou(torch.stack(q), gts, TABLE) for q in (probs, q_conv))
    m_dense = miou(torch.stack(q_dense), gts, TABLE) if q_dense is not None else math.nan
    raw_s = 1.0 / raw_ips
    out = {
        "size": [w, h], "device": str(device), "net": {"backbone": "vgg16", "width": s["infer_width"],
                                                        "two_stream": True, "amp": str(amp)},
        "raw": {"s_per_image": raw_s, "images_per_s": raw_ips},
        "pydensecrf_cpu": {"crf_s_per_image": dense_s, "s_per_image": raw_s + dense_s,
                           "images_per_s": 1.0 / (raw_s + dense_s)},
        "convcrf_device": {"crf_s_per_image": conv_s, "s_per_image": raw_s + conv_s,
                           "images_per_s": 1.0 / (raw_s + conv_s),
                           "window": crf.window, "blur": crf.blur},
        "miou": {"images": len(probs), "predictions": "simulated (ground truth one-hot + smooth noise)",
                 "raw": m_raw, "pydensecrf": m_dense, "convcrf": m_conv,
                 "convcrf_minus_pydensecrf": m_conv - m_dense},
        "paper_s_per_image": dict(PAPER),
    }
    if q_dense is None:
        out["pydensecrf_cpu"]["error"] = out["miou"]["pydensecrf_error"] = dense_error
        out["error"] = f"pydensecrf: {dense_error} (ConvCRF figures kept)"
    return out


def weights_after(cfg: Mapping[str, Any], device: torch.device, size: tuple[int, int], steps: int, batch: int,
                  seed: int = 0) -> torch.Tensor:
    """All parameters and buffers (flattened, CPU float64) after ``steps`` training steps from ``seed``."""
    net, step = train_setup(cfg, "vgg16", 0.125, size, batch, "auto", device, seed)
    for _ in range(steps):
        step()
    sync(device)
    return torch.cat([t.detach().double().flatten().cpu() for t in net.state_dict().values() if t.is_floating_point()])


def determinism_runs(mode: bool | str, device: str, size: tuple[int, int], steps: int, batch: int) -> dict:
    """Two identical training runs under config ``deterministic: mode`` (in this process; torch's
    deterministic setting is restored afterwards): equal weights?, their largest difference, and
    the ops torch warned or failed about."""
    from tagseg.device import nondeterministic_op, set_deterministic

    cfg = load_config()
    dev = torch.device(device)
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    ops: list[str] = []
    out: dict[str, Any] = {"mode": mode}
    a = b = None
    try:
        set_deterministic(mode)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                a = weights_after(cfg, dev, size, steps, batch)
                b = weights_after(cfg, dev, size, steps, batch)
            except RuntimeError as e:
                op = nondeterministic_op(e)
                if op is None:
                    raise
                ops.append(op)
        for wmsg in caught:
            op = nondeterministic_op(wmsg.message)
            if op and op not in ops:
                ops.append(op)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]
    if a is not None:
        out["equal"] = bool(torch.equal(a, b))
        out["max_abs_diff"] = float((a - b).abs().max())
        out["parameters"] = int(a.numel())
        out["digest"] = hashlib.sha256(a.numpy().tobytes()).hexdigest()[:16]
    out["nondeterministic_ops"] = ops
    return out


def check_determinism(device: torch.device, s: Mapping[str, Any], budget_s: float) -> dict:
    """Default mode (twice, in this process) and ``deterministic: warn`` (twice; on CUDA in a
    fresh process, since cuBLAS reads CUBLAS_WORKSPACE_CONFIG once per process)."""
    size, steps, batch = s["det_size"], s["det_steps"], s["det_batch"]
    res: dict[str, Any] = {"size": list(size), "steps": steps, "batch": batch, "backbone": "vgg16", "width": 0.125}
    res["default"] = determinism_runs(False, str(device), size, steps, batch)
    if device.type == "cuda":
        args = json.dumps({"mode": "warn", "device": str(device), "size": list(size), "steps": steps, "batch": batch})
        r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--determinism-child", args],
                           capture_output=True, text=True, timeout=max(30.0, budget_s), env=_child_env())
        if r.returncode != 0:
            raise RuntimeError(f"determinism child failed ({r.returncode}): {(r.stderr or r.stdout)[-800:]}")
        res["deterministic_warn"] = json.loads(r.stdout.strip().splitlines()[-1])
        res["deterministic_warn"]["process"] = "fresh"
    else:
        res["deterministic_warn"] = determinism_runs("warn", str(device), size, steps, batch)
        res["deterministic_warn"]["process"] = "same"
    res["equal_by_default"] = res["default"].get("equal")
    res["equal_when_deterministic"] = res["deterministic_warn"].get("equal")
    return res


def _child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def check_main_job(device: torch.device, workdir: Path, budget_s: float, cores: int = 8) -> dict:
    """The .test-size workflow to results/synthcity/metrics.json with device=cuda and, at the same
    time in another folder, device=cpu (``cores`` each); their metrics compared."""
    if device.type != "cuda":
        return {"skipped": "CUDA only (the same run with device=cpu is what CI's end-to-end tests do)"}
    target = "results/synthcity/metrics.json"
    runs: dict[str, Any] = {}
    procs = {}
    env = _child_env({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    for dev in ("cuda", "cpu"):
        wd = workdir / f"main-{dev}"
        wd.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(wd), target,
               "--configfile", str(REPO / "config" / "config.yaml"), str(REPO / ".test" / "config.yaml"),
               "--cores", str(cores), "--nocolor", "--config", f"device={device if dev == 'cuda' else 'cpu'}"]
        if dev == "cuda":
            cmd[cmd.index("--nocolor"):cmd.index("--nocolor")] = ["--resources", "gpu=1"]
        if importlib.util.find_spec("pulp") is None:  # bench/device_env.sh leaves pulp out
            cmd[cmd.index("--nocolor"):cmd.index("--nocolor")] = ["--scheduler", "greedy"]
        log = open(wd / "snakemake.log", "w")
        procs[dev] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True),
                      time.perf_counter(), log, wd, cmd)
    deadline = time.perf_counter() + budget_s
    for dev, (p, t0, log, wd, cmd) in procs.items():
        try:
            rc = p.wait(timeout=max(1.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 15)
            rc = p.wait()
            rc = f"timed out after {budget_s:.0f} s"
        log.close()
        run: dict[str, Any] = {"command": " ".join(cmd[1:]), "rc": rc, "seconds": time.perf_counter() - t0}
        m = wd / target
        if rc == 0 and m.exists():
            met = json.loads(m.read_text())
            run["miou_raw"], run["miou_crf"] = met["raw"]["miou"], met["crf"]["miou"]
            hist = wd / "results" / "synthcity" / "train" / str(met.get("default_variant")) / "train.json"
            if hist.exists():
                run["train_s_per_iteration"] = json.loads(hist.read_text()).get("seconds_per_iteration")
        else:
            run["log_tail"] = (wd / "snakemake.log").read_text()[-1500:]
        runs[dev] = run
    out: dict[str, Any] = {"runs": runs, "cores_each": cores}
    if all("miou_raw" in r for r in runs.values()):
        out["miou_raw_cuda_minus_cpu"] = runs["cuda"]["miou_raw"] - runs["cpu"]["miou_raw"]
        out["miou_crf_cuda_minus_cpu"] = runs["cuda"]["miou_crf"] - runs["cpu"]["miou_crf"]
    return out


def projection(report: Mapping[str, Any], cfg: Mapping[str, Any]) -> dict:
    """Hours per stage of a Cityscapes-size run (2975 train + 500 val snippets) from the figures
    measured here (device hours for the torch stages, CPU hours for OpenCV's flow)."""
    from tagseg.plan import needed_offsets, needed_pairs

    snippets = CITYSCAPES["train"] + CITYSCAPES["val"]
    pairs = snippets * len(needed_pairs(cfg["frames"]["train_offsets"], int(cfg["flow"]["L"])))
    frames = snippets * len(needed_offsets(cfg))
    out: dict[str, Any] = {"snippets": dict(CITYSCAPES), "flow_pairs": pairs, "heatmap_frames": frames}
    fl = report.get("flow", {})
    if "torch" in fl:
        out["flow_torch_h"] = pairs / fl["torch"]["pairs_per_s"] / 3600
        out["flow_opencv_all_cores_cpu_h"] = pairs / fl["opencv_all"]["pairs_per_s"] / 3600
    hm = {(r["backbone"], r["width"], r["precision"]): r["frames_per_s"] for r in report.get("heatmaps", {}).get("rows", [])}
    cam = cfg["heatmaps"]["cam"]
    key = (cam["backbone"], None if cam["backbone"] != "vgg16" else float(cam["width"]), "bf16")
    if key in hm:
        out["heatmaps_h"] = {"backbone": f"{key[0]} {key[1] or ''}".strip(), "precision": "bf16",
                             "hours": frames / hm[key] / 3600}
    tr = [r for r in report.get("training", {}).get("rows", []) if "it_per_s" in r]
    epoch = {}
    for r in tr:
        name = f"{r['backbone']}{'' if r['width'] is None else ' w' + str(r['width'])} batch {r['batch']} amp {r['amp']}"
        epoch[name] = math.ceil(CITYSCAPES["train"] / r["batch"]) / r["it_per_s"] / 3600
    if epoch:
        out["train_h_per_epoch"] = epoch
    inf = report.get("inference", {})
    if "convcrf_device" in inf:
        out["inference_val_h"] = {"raw": CITYSCAPES["val"] * inf["raw"]["s_per_image"] / 3600,
                                  "convcrf": CITYSCAPES["val"] * inf["convcrf_device"]["s_per_image"] / 3600,
                                  "pydensecrf": CITYSCAPES["val"] * inf["pydensecrf_cpu"]["s_per_image"] / 3600}
    out["basis"] = report["meta"]["size"]
    return out


def goals(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Issue 19's goals against the figures measured (met: None when not measured)."""
    out = []
    fl, inf = report.get("flow", {}), report.get("inference", {})
    tr = [r for r in report.get("training", {}).get("rows", []) if r.get("batch") == 1 and "it_per_s" in r]

    full = tuple(report["meta"]["size"]) == (1024, 512)  # the goals are for the paper's size

    def add(name: str, value: float | None, target: float, higher: bool) -> None:
        met = None if value is None or not full else (value >= target if higher else value <= target)
        out.append({"goal": name, "value": value, "target": target, "met": met})

    add("torch TV-L1 pairs/s / OpenCV 1 thread (>=)", fl.get("speedup_torch_vs_opencv_1thread"),
        GOALS["flow_speedup"], True)
    add("torch TV-L1 EPE / OpenCV EPE (<=)", fl.get("epe_ratio_torch_vs_opencv"), GOALS["flow_epe_ratio"], False)
    add("inference + ConvCRF, s per image (<=)", inf.get("convcrf_device", {}).get("s_per_image"),
        GOALS["crf_inference_s"], False)
    add("inference + pydensecrf, s per image (<=)", inf.get("pydensecrf_cpu", {}).get("s_per_image"),
        GOALS["crf_inference_s"], False)
    best = max((r["it_per_s"] for r in tr), default=None)
    add("training it/s at batch 1, best setting (>=)", best, GOALS["train_it_per_s_batch1"], True)
    paper = [r["it_per_s"] for r in tr if r["backbone"] == "vgg16" and r["width"] == 1.0]
    if paper:
        add("training it/s at batch 1, VGG-16 width 1.0 (paper), best AMP (>=)", max(paper),
            GOALS["train_it_per_s_batch1"], True)
    return out


# ----------------------------------------------------------------------------- the run


def run(device_name: str, tiny: bool, workdir: Path, budget_s: float = 480.0,
        log: Callable[[str], None] = print, only: set[str] | None = None) -> dict[str, Any]:
    """Every section in order (``only``: just these, the others marked skipped), each under its
    cap; returns the report (JSON-ready)."""
    from tagseg.device import resolve

    t_start = time.perf_counter()
    device = resolve(device_name)
    s = settings(tiny)
    threads = s["threads"] or os.cpu_count() or 1
    torch.set_num_threads(threads)  # torch's CPU work (tiny: 1, the CI machine is shared)
    cfg = load_config()
    report: dict[str, Any] = {"meta": {
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "tiny": tiny, "size": list(s["size"]), "torch": torch.__version__, "cuda": torch.version.cuda,
        "opencv": cv2.__version__, "cpu_cores": os.cpu_count(), "torch_threads": threads, "budget_s": budget_s,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
    errors: dict[str, str] = {}

    def section(name: str, fn: Callable[[], dict]) -> None:
        if only and name not in only and name != "render":
            report[name] = {"skipped": "not in --only"}
            return
        t0 = time.perf_counter()
        log(f"[{time.perf_counter() - t_start:6.1f} s] {name} ...")
        try:
            report[name] = fn()
        except Exception as e:  # noqa: BLE001 - record it and go on: one device run shows all
            report[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        if "error" in report[name]:
            errors[name] = report[name]["error"]
        report[name]["seconds"] = time.perf_counter() - t0

    data: dict[str, Any] = {}

    def truth() -> dict:
        data.update(render_truth(workdir / "synthcity", s["size"], s["snippets"]))
        return {"size": list(s["size"]), "snippets": s["snippets"], "pairs": len(data["gray0"])}

    section("render", truth)
    section("flow", lambda: check_flow(data, cfg, device, s))
    section("heatmaps", lambda: check_heatmaps(cfg, device, s))
    section("training", lambda: check_training(cfg, device, s))
    section("inference", lambda: check_inference(data, cfg, device, s))
    section("determinism", lambda: check_determinism(device, s, 60.0 if not tiny else 40.0))
    left = budget_s - (time.perf_counter() - t_start) - 15.0
    section("main_job", lambda: check_main_job(device, workdir, max(60.0, left)))
    section("projection", lambda: projection(report, cfg))
    report["goals"] = goals(report)
    report["errors"] = errors
    report["meta"]["seconds"] = time.perf_counter() - t_start
    return report


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table(report: Mapping[str, Any]) -> str:
    """One Markdown table of every figure (section | setting | value | unit)."""
    rows: list[tuple[str, str, Any, str]] = []
    m = report["meta"]
    rows.append(("meta", f"{m['device']} ({m['device_name']}), torch {m['torch']}, {m['cpu_cores']} CPU cores",
                 m.get("seconds"), "s total"))
    fl = report.get("flow", {})
    if "torch" in fl:
        for k, label in (("opencv_1thread", "OpenCV DualTVL1, 1 thread"), ("opencv_all", f"OpenCV DualTVL1, {fl['opencv_all']['threads']} threads"),
                         ("torch", f"torch TV-L1 on {fl['torch']['device']}, batch {fl['torch']['batch_size']}")):
            rows.append(("flow", f"{label}, {fl['size'][0]}x{fl['size'][1]}", fl[k]["pairs_per_s"], "pairs/s"))
        rows.append(("flow", "EPE OpenCV vs synthcity ground truth", fl["opencv_all"]["epe_px"], "px"))
        rows.append(("flow", "EPE torch vs synthcity ground truth", fl["torch"]["epe_px"], "px"))
        rows.append(("flow", "torch / OpenCV 1 thread", fl["speedup_torch_vs_opencv_1thread"], "x"))
    for r in report.get("heatmaps", {}).get("rows", []):
        rows.append(("heatmaps", f"{r['backbone']}{' w' + str(r['width']) if r['width'] else ''} {r['precision']}",
                     r["frames_per_s"], "frames/s"))
    for r in report.get("training", {}).get("rows", []):
        name = f"{r['backbone']}{' w' + str(r['width']) if r['width'] else ''} batch {r['batch']} amp {r['amp']}"
        rows.append(("training", name, r.get("it_per_s", r.get("error")), "it/s"))
        if r.get("peak_gpu_mib") is not None:
            rows.append(("training", name + " peak GPU memory", r["peak_gpu_mib"], "MiB"))
    inf = report.get("inference", {})
    if "raw" in inf:
        rows.append(("inference", "network alone", inf["raw"]["s_per_image"], "s/image"))
        rows.append(("inference", "+ pydensecrf (CPU)", inf["pydensecrf_cpu"]["s_per_image"], "s/image"))
        rows.append(("inference", f"+ ConvCRF ({inf['device']})", inf["convcrf_device"]["s_per_image"], "s/image"))
        mi = inf["miou"]
        rows.append(("inference", "mIoU raw / pydensecrf / ConvCRF (simulated predictions)",
                     f"{mi['raw']:.3f} / {mi['pydensecrf']:.3f} / {mi['convcrf']:.3f}", "mIoU"))
        rows.append(("inference", "mIoU ConvCRF - pydensecrf", mi["convcrf_minus_pydensecrf"], "mIoU"))
    det = report.get("determinism", {})
    if "default" in det:
        for k in ("default", "deterministic_warn"):
            d = det[k]
            rows.append(("determinism", f"{k}: equal weights (max abs diff)",
                         f"{_fmt(d.get('equal'))} ({_fmt(d.get('max_abs_diff'))})", ", ".join(d["nondeterministic_ops"]) or "-"))
    mj = report.get("main_job", {})
    if "runs" in mj:
        for dev, r in mj["runs"].items():
            rows.append(("main job", f"device={dev}: rc {r['rc']}, mIoU raw / crf",
                         f"{_fmt(r.get('miou_raw'))} / {_fmt(r.get('miou_crf'))}", f"{r['seconds']:.0f} s"))
    elif "skipped" in mj:
        rows.append(("main job", "skipped", mj["skipped"], ""))
    pr = report.get("projection", {})
    if pr.get("basis"):
        rows.append(("projection", "figures at", "x".join(map(str, pr["basis"])),
                     "the paper's size" if pr["basis"] == [1024, 512] else "smoke run: NOT a projection"))
    for k in ("flow_torch_h", "flow_opencv_all_cores_cpu_h"):
        if k in pr:
            rows.append(("projection", f"Cityscapes {k}", pr[k], "h"))
    if "heatmaps_h" in pr:
        rows.append(("projection", f"Cityscapes heatmaps ({pr['heatmaps_h']['backbone']} bf16)", pr["heatmaps_h"]["hours"], "h"))
    for k, v in pr.get("train_h_per_epoch", {}).items():
        rows.append(("projection", f"Cityscapes training epoch, {k}", v, "h"))
    for k, v in pr.get("inference_val_h", {}).items():
        rows.append(("projection", f"Cityscapes val inference, {k}", v, "h"))
    for g in report.get("goals", []):
        verdict = {True: "met", False: "NOT met"}.get(g["met"], "not judged (not measured at 1024x512)")
        rows.append(("goal", f"{g['goal']} {g['target']}", g["value"], verdict))
    for name, err in report.get("errors", {}).items():
        rows.append(("error", name, err, ""))
    lines = ["| section | setting | value | unit |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {_fmt(c)} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cpu | cuda | cuda:N (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true", help="128x64 frames, few repeats: the CPU smoke run (< 1 min)")
    ap.add_argument("--out", type=Path, default=Path("device_check.json"), help="JSON report (default: %(default)s)")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run (default: %(default)s)")
    ap.add_argument("--only", default=None, help=f"comma-separated sections to run, e.g. a rerun of "
                    f"flow,training (default: all of {','.join(SECTIONS)})")
    ap.add_argument("--determinism-child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.determinism_child:
        k = json.loads(a.determinism_child)
        print(json.dumps(determinism_runs(k["mode"], k["device"], tuple(k["size"]), k["steps"], k["batch"])))
        return 0
    from tagseg.device import cuda_problem

    problem = cuda_problem(a.device, key="--device")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    only = set(a.only.split(",")) if a.only else None
    if only and only - set(SECTIONS):
        print(f"--only: unknown sections {', '.join(sorted(only - set(SECTIONS)))} (known: {', '.join(SECTIONS)})",
              file=sys.stderr)
        return 2
    work = a.workdir or Path(tempfile.mkdtemp(prefix="device_check-"))
    try:
        report = run(a.device, a.tiny, work, a.budget, log=lambda m: print(m, file=sys.stderr, flush=True), only=only)
    finally:
        if a.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    from tagseg.h5io import write_json

    write_json(a.out, report)
    print(table(report))
    print(f"\nwritten: {a.out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
