"""The training loop: variants, loss terms, optimiser, AMP, checkpoint / resume, NaN guard.

A *variant* (config ``train.variants.{name}``) says which streams the network has and which
loss terms it trains with; everything else comes from the shared ``train`` section::

    no_heatmap:        {two_stream: false, losses: [tag, crf]}
    fg_heatmap:        {two_stream: false, losses: [tag, heatmap, crf], heatmap_classes: foreground}
    heatmap:           {two_stream: false, losses: [tag, heatmap, crf]}
    two_stream:        {two_stream: true,  losses: [tag, heatmap, crf]}
    two_stream_pseudo: {two_stream: true,  losses: [tag, heatmap, crf, pseudo]}
    oracle:            {two_stream: true,  losses: [gt]}
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..crf import CRFParams, batch_crf
from ..datasets.manifest import Manifest
from ..errors import TagsegError
from ..h5io import CONFIG_HASH, VERSION, config_hash, manifest_digest, open_artifact, provenance_of, write_json
from ..model import losses as L
from ..model.two_stream import NetConfig, TwoStreamNet
from ..model.vgg import load_state
from ..plan import STAGE_OF_INPUT, needs_of, variant_section
from . import checkpoint as ck
from .data import FrameDataset, foreground_mask
from .readers import Readers

log = logging.getLogger("tagseg.train")


class TrainingError(TagsegError, RuntimeError):
    """Training cannot go on (non-finite loss, bad configuration); the last checkpoint is kept."""


def variant_cfg(cfg: Mapping[str, Any], variant: str) -> dict[str, Any]:
    """The variant's section ``train.variants.{variant}`` (``cfg``: the ``train`` section), checked."""
    try:
        v = variant_section(cfg, variant)
    except ValueError as e:
        raise TrainingError(str(e)) from None
    bad = set(v["losses"]) - set(L.LOSS_TERMS)
    if bad or not v["losses"]:
        raise TrainingError(f"train.variants.{variant}.losses: unknown or no loss terms {sorted(bad)}")
    return v


def net_config(cfg: Mapping[str, Any], v: Mapping[str, Any], num_classes: int) -> NetConfig:
    m = cfg["model"]
    return NetConfig(
        num_classes=num_classes,
        width=float(m["width"]),
        flow_channels=2 * int(m["flow_L"]),
        two_stream=bool(v["two_stream"]),
        output_stride=int(m["output_stride"]),
        head_channels=int(m["head_channels"]),
        fusion_kernel=int(m["fusion_kernel"]),
        batch_norm=bool(m["batch_norm"]),
        dropout=float(m["dropout"]),
        backbone=str(m["backbone"]),
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """``train.amp``: auto (bf16 on CUDA, off on CPU), bf16, fp16, off."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp in ("auto", "bf16"):
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    raise TrainingError(f"config key train.amp: unknown value {amp!r} (auto, bf16, fp16, off)")


def loss_terms(
    logits: torch.Tensor,
    batch: Mapping[str, torch.Tensor],
    losses: Sequence[str],
    cfg: Mapping[str, Any],
    heatmap_classes: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Loss terms of one batch. logits (B, C, H, W); batch from :class:`FrameDataset` (on device).

    ``cfg`` is the validated ``train`` section (``lse_r``, ``heatmap_threshold``, ``crf``);
    ``heatmap_classes`` (C,) bool restricts the heatmap loss (``fg_heatmap``).
    """
    logits = logits.float()
    probs = torch.softmax(logits, 1)
    terms: dict[str, torch.Tensor] = {}
    tags = batch["tags"]
    complete = batch.get("tags_complete")  # (B,) bool; False: partial tags (web videos)
    if "tag" in losses:
        terms["tag"] = L.tag_loss(probs, tags, float(cfg["lse_r"]), complete)
    if "heatmap" in losses:
        masks = L.heatmap_masks(batch["heatmaps"], float(cfg["heatmap_threshold"]))
        terms["heatmap"] = L.heatmap_loss(torch.log_softmax(logits, 1), masks, tags, heatmap_classes)
    if "crf" in losses:
        c = cfg["crf"]
        scale = float(c["scale"])
        p, img = probs, batch["image"].float()
        if scale != 1.0:
            size = (max(1, round(p.shape[-2] * scale)), max(1, round(p.shape[-1] * scale)))
            p = F.interpolate(p, size=size, mode="bilinear", align_corners=False)
            img = F.interpolate(img, size=size, mode="area")
        unary = L.restrict_to_tags(p.detach(), tags, complete) if c["tags_only"] else p.detach()
        q = batch_crf(img, unary, CRFParams.from_config(c), c["backend"], int(c["window"]), int(c["blur"]))
        terms["crf"] = L.crf_loss(p, q)
    if "pseudo" in losses:
        terms["pseudo"] = L.label_loss(logits, batch["labels"])
    if "gt" in losses:
        terms["gt"] = L.label_loss(logits, batch["labels"])
    return terms


SAMPLING = ("uniform", "balanced")
"""``train.sampling``: every sample once per epoch, or tag classes drawn equally often."""


def sample_weights(tags: Sequence[Sequence[str]], sampling: str) -> torch.Tensor | None:
    """Draw weights (N,) of the N samples with these tags (class names), or None (``uniform``).

    ``balanced``: a sample weighs max over its tags c of 1 / (samples tagged c), so each tag
    class is about equally likely per draw (a web snippet has one tag: class-balanced over the
    retrieved classes); an untagged sample weighs 1 / N.
    """
    if sampling not in SAMPLING:
        raise ValueError(f"config key train.sampling: {sampling!r} is not one of {' | '.join(SAMPLING)}")
    if sampling == "uniform":
        return None
    count: dict[str, int] = {}
    for t in tags:
        for c in set(t):
            count[c] = count.get(c, 0) + 1
    return torch.tensor([max((1.0 / count[c] for c in t), default=1.0 / len(tags)) for t in tags],
                        dtype=torch.float64)


def _batches(n: int, batch_size: int, seed: int, epoch: int,
             weights: torch.Tensor | None = None) -> list[list[int]]:
    """An epoch's batches: a permutation of the ``n`` samples, or ``n`` draws with replacement
    by ``weights``; depends only on (seed, epoch)."""
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    if weights is None:
        order = torch.randperm(n, generator=g).tolist()
    else:
        order = torch.multinomial(weights, n, replacement=True, generator=g).tolist()
    nb = max(1, n // batch_size)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(nb)]


def _stream(ds: FrameDataset, batch_size: int, workers: int, seed: int, start: int,
            pin: bool, weights: torch.Tensor | None = None) -> Iterator[dict[str, Any]]:
    """Endless batches from iteration ``start`` on; the order depends only on (seed, iteration)."""
    per_epoch = max(1, len(ds) // batch_size)
    epoch, skip = divmod(start, per_epoch)
    while True:
        ds.set_epoch(epoch)
        batches = _batches(len(ds), batch_size, seed, epoch, weights)[skip:]
        loader = DataLoader(ds, batch_sampler=batches, num_workers=workers, pin_memory=pin,
                            persistent_workers=False)
        yield from loader
        epoch, skip = epoch + 1, 0


def _trainable_cfg(cfg: Mapping[str, Any], v: Mapping[str, Any], classes: Sequence[str]) -> dict[str, Any]:
    """What a resumable checkpoint must agree on (everything that changes the run)."""
    keep = {k: val for k, val in cfg.items() if k not in ("variants", "ablation", "variant", "workers", "threads",
                                                        "checkpoint_every", "log_every", "progress")}
    return {"train": keep, "variant": dict(v), "classes": list(classes)}


def shard_datasets(manifest: Manifest, split: str = "train") -> dict[int, str]:
    """Shard number -> the dataset its snippets come from (``train.extra_datasets`` renumber
    their shards after the target's, see :mod:`tagseg.datasets.extra`)."""
    return {s.shard: str(s.extra.get("dataset") or manifest.dataset) for s in manifest.split(split)}


def input_provenance(
    manifest: Manifest,
    shards: Mapping[str, Sequence[str | os.PathLike]] | None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """{input kind: digest of what its shards record (stage, version, dataset, manifest, config
    hashes)}, after checking each shard (complete, of its stage and, with ``provenance`` -- the
    rule's param, :func:`tagseg.provenance.rule_param` -- made for the current config).

    A mismatching shard raises :class:`tagseg.h5io.ArtifactError` naming it and the rule to rerun.
    """
    from ..provenance import Expectations

    datasets = shard_datasets(manifest)
    combined = any(d != manifest.dataset for d in datasets.values())  # the training manifest
    expect = (Expectations.from_param(provenance, None if combined else manifest)
              if provenance else None)
    out: dict[str, str] = {}
    for kind, paths in sorted((shards or {}).items()):
        stage = STAGE_OF_INPUT.get(kind, kind)
        records = []
        for i, path in enumerate(paths):
            want = expect.of(stage, datasets.get(i, manifest.dataset)) if expect is not None else None
            with open_artifact(path, stage, expect=want) as f:
                made = provenance_of(f)
                records.append({"stage": stage, "version": str(f.attrs.get(VERSION, "")),
                                "config_hash": str(f.attrs.get(CONFIG_HASH, "")),
                                "provenance": None if made is None else
                                [made.dataset, dict(made.chain), made.manifest]})
        out[kind] = config_hash(records)
    return out


def init_state(path: str | os.PathLike, ncfg: NetConfig) -> dict[str, torch.Tensor]:
    """Backbone weights from a VGG state dict, or from the heatmap stage's classifier checkpoint
    (``classifiers/model.pt``, format ``tagseg-classifiers/1``: its CAM network's ``features.*``)."""
    from ..heatmaps.model import FORMAT as CLS_FORMAT

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - fall back to the VGG loader's error message
        return load_state(path)
    if isinstance(obj, dict) and obj.get("format") == CLS_FORMAT:
        arch = obj.get("cam_arch") or {}
        if not obj.get("cam_state"):
            raise TrainingError(f"{path}: classifier checkpoint holds no CAM network to start from")
        backbone = arch.get("backbone", "vgg16")
        if backbone != ncfg.backbone:
            raise TrainingError(f"{path}: classifier backbone is {backbone}; train.model.backbone "
                                f"is {ncfg.backbone}")
        if backbone == "vgg16" and (float(arch.get("width", -1)) != ncfg.width
                                    or bool(arch.get("batch_norm")) != ncfg.batch_norm):
            raise TrainingError(
                f"{path}: classifier backbone has width {arch.get('width')}, batch_norm "
                f"{arch.get('batch_norm')}; train.model has width {ncfg.width}, batch_norm {ncfg.batch_norm}"
            )
        return obj["cam_state"]
    return load_state(path)


def trained_model(path: str | os.PathLike | None, ncfg: NetConfig,
                  classes: Sequence[str]) -> dict[str, torch.Tensor] | None:
    """The weights of a trained tagseg model at ``path`` (rule ``train``'s ``model.pt``: a
    variant's ``adapt_from`` source) when it is one, else None. Its network and classes must be
    this run's, else :class:`TrainingError` naming the file."""
    if not path or path in ("imagenet", "classifiers") or not os.path.isfile(path):
        return None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # noqa: BLE001 - not a torch file: the other loaders say why
        return None
    if not (isinstance(obj, dict) and "meta" in obj and "model" in obj and "net" in obj["meta"]):
        return None
    meta = obj["meta"]
    if list(meta.get("classes") or []) != list(classes):
        raise TrainingError(f"{path}: trained on classes {meta.get('classes')}, this run has {list(classes)}")
    if NetConfig(**meta["net"]) != ncfg:
        raise TrainingError(f"{path}: its network {meta['net']} differs from this variant's "
                            f"{ncfg.to_dict()} (train.model, two_stream)")
    return obj["model"]


def averaged(net: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``net``'s parameters and buffers (BatchNorm statistics
    included), updated after every step: ``ema = decay * ema + (1 - decay) * net``; None when
    ``decay`` is 0 (``train.ema``). The saved model is the average."""
    if decay <= 0.0:
        return None
    if decay >= 1.0:
        raise TrainingError(f"config key train.ema: decay {decay} must be below 1 (0 = off)")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def build_optimizer(net: torch.nn.Module, o: Mapping[str, Any]):
    name = o["name"]
    lr, wd = float(o["lr"]), float(o["weight_decay"])
    params = [p for p in net.parameters() if p.requires_grad]
    if name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=float(o["momentum"]), weight_decay=wd)
    elif name == "adam":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    else:
        raise TrainingError(f"config key train.optimizer.name: unknown optimiser {name!r} (sgd, adam)")
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=int(o["lr_step"]), gamma=float(o["lr_gamma"]))
    return opt, sched


def resume_inputs(
    manifest: Manifest,
    shards: Mapping[str, Sequence[str | os.PathLike]] | None,
    provenance: Mapping[str, Any] | None,
    seed: int,
    offsets: Sequence[int],
    init: str | os.PathLike | None,
) -> dict[str, Any]:
    """What a resumable checkpoint must have been trained on, besides the ``train`` section:
    the input shards' provenance (:func:`input_provenance`), the manifest, seed, frame offsets
    and the initial weights (path, size, mtime)."""
    key: dict[str, Any] = {f"{k} shards": d for k, d in input_provenance(manifest, shards, provenance).items()}
    key["manifest"] = manifest_digest(manifest)
    key["seed"] = int(seed)
    key["frames.train_offsets"] = [int(o) for o in offsets]
    if init and init != "imagenet" and os.path.isfile(init):
        st = os.stat(init)
        key["init"] = [str(init), st.st_size, st.st_mtime_ns]
    else:
        key["init"] = None if init is None else str(init)
    return key


def _resumable(ckpt_path: Path, variant: str, classes: Sequence[str], run_hash: str,
               inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``ckpt_path`` when training may resume from it, else None; one that
    cannot be resumed from is moved aside (``checkpoint.pt.stale-N``, never deleted) with a
    warning saying why."""
    if not ckpt_path.exists():
        return None
    why = None
    try:
        obj = ck.load(ckpt_path)
        ck.check_meta(obj["meta"], ckpt_path, variant, list(classes))
    except ck.CheckpointError as e:
        why = str(e).removeprefix(f"{ckpt_path}: ")
    else:
        meta = obj["meta"]
        if meta.get("config_hash") != run_hash:
            why = "written with another train configuration"
        elif meta.get("inputs") != dict(inputs):
            old = meta.get("inputs") or {}
            differ = sorted(k for k in set(old) | set(inputs) if old.get(k) != inputs.get(k))
            why = f"made from other inputs ({', '.join(differ)} differ)"
    if why is None:
        return obj
    dest = ck.move_aside(ckpt_path)
    log.warning("%s: %s; moved it aside to %s, training %s starts at iteration 0",
                ckpt_path, why, dest.name, variant)
    return None


def train(
    manifest: Manifest,
    cfg: Mapping[str, Any],
    variant: str,
    model_path: str | os.PathLike,
    shards: Mapping[str, Sequence[str | os.PathLike]] | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    offsets: Sequence[int] = (0,),
    history_path: str | os.PathLike | None = None,
    readers: Readers | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    init_path: str | os.PathLike | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``variant`` on the manifest's train split and write ``model_path`` (meta + weights).

    ``cfg``: the validated config ``train`` section (:func:`tagseg.plan.train_config`).
    ``shards``: {"flow"|"heatmaps"|"pseudo": [shard paths
    of the train split, by shard number]}. A ``checkpoint.pt`` beside ``model_path`` is written
    every ``checkpoint_every`` iterations (atomically) and resumed from when its run
    configuration and its inputs (:func:`resume_inputs`: the input shards' provenance, the
    manifest, seed, offsets, init weights) match; a checkpoint that does not match (or is
    unreadable, or of another variant) is moved aside to ``checkpoint.pt.stale-N`` with a
    warning saying why, and training starts at 0. It is removed once ``model_path`` is written.
    ``provenance`` (the rule's param) makes every input shard be checked against the current
    config before training starts. ``stop_after``
    stops after that many iterations of this call without writing ``model_path`` (tests).
    ``init_path`` overrides ``train.model.init`` (the rule passes the classifier checkpoint
    there when ``init`` is ``classifiers``).
    Returns the summary also written to ``history_path`` (loss history, timings).
    """
    device = torch.device(device)
    v = variant_cfg(cfg, variant)
    losses = list(v["losses"])
    classes = list(manifest.classes)
    ncfg = net_config(cfg, v, len(classes))
    run_hash = config_hash(_trainable_cfg(cfg, v, classes))
    init = init_path or cfg["model"]["init"]
    inputs = resume_inputs(manifest, shards, provenance, seed, offsets, init)
    meta = {"variant": variant, "classes": classes, "net": ncfg.to_dict(), "config_hash": run_hash,
            "inputs": inputs, "stage_hashes": dict(provenance["hashes"]) if provenance else None,
            "losses": losses, "dataset": manifest.dataset,
            "flow_scale": float(cfg["flow_scale"]), "seed": seed}
    model_path = Path(model_path)
    ckpt_path = model_path.with_name("checkpoint.pt")

    seed_everything(seed)
    ds = FrameDataset(manifest, "train", offsets, needs_of(v), shards, flow_L=int(cfg["model"]["flow_L"]),
                      flow_scale=meta["flow_scale"], hflip=bool(cfg["hflip"]), readers=readers,
                      seed=seed)
    net = TwoStreamNet(ncfg)
    start_from = trained_model(init, ncfg, classes)
    if start_from is not None:  # fine-tuning a trained variant (adapt_from: domain adaptation)
        net.load_state_dict(start_from)
        log.info("initialised the whole network from the trained model %s", init)
    elif init == "imagenet":
        log.info("initialised both streams from ImageNet weights %s", net.load_imagenet())
    elif init == "classifiers":
        raise TrainingError("train.model.init is 'classifiers' but no classifier checkpoint path was given")
    elif init and ncfg.backbone == "efficientnet_lite0":
        state = init_state(init, ncfg)
        if any(k.startswith("features.") for k in state):  # the CAM classifier's trunk
            state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        net.load_trunk_state(state, str(init))  # else an ImageNet file in EfficientNet-PyTorch names
        log.info("initialised both streams from %s", init)
    elif init:
        net.load_backbone(init_state(init, ncfg), str(init), prefix=cfg["model"]["init_prefix"])
        log.info("initialised both streams from %s", init)
    frozen = int(cfg["model"]["frozen_blocks"])
    if frozen and ncfg.backbone == "efficientnet_lite0":
        net.appearance.freeze(frozen)  # the RGB stream's first blocks stay as initialised
    net.to(device)
    opt, sched = build_optimizer(net, cfg["optimizer"])
    ema = averaged(net, float(cfg["ema"]))
    amp = autocast_dtype(str(cfg["amp"]), device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    fg = (foreground_mask(manifest.table, classes).to(device)
          if v["heatmap_classes"] == "foreground" else None)
    iterations = int(cfg["iterations"])
    history: list[dict[str, float]] = []
    start = 0
    obj = _resumable(ckpt_path, variant, classes, run_hash, inputs)
    if obj is not None:
        net.load_state_dict(obj["model"])
        if ema is not None:
            ema.load_state_dict(obj["ema"])
        opt.load_state_dict(obj["optimizer"])
        sched.load_state_dict(obj["scheduler"])
        scaler.load_state_dict(obj["scaler"])
        ck.set_rng_state(obj["rng"])
        start = int(obj["meta"]["iteration"])
        history = list(obj.get("history", []))
        log.info("resuming %s from %s at iteration %d", variant, ckpt_path, start)

    batch_size = min(int(cfg["batch_size"]), len(ds))
    workers = int(cfg["workers"])
    sampling = str(cfg["sampling"])
    weights = sample_weights([snip.tags for snip, _ in ds.items], sampling)
    stream = _stream(ds, batch_size, workers, seed, start, pin=device.type == "cuda", weights=weights)
    log.info("training %s: %d samples (%s sampling), %d iterations from %d, batch %d, losses %s, "
             "device %s, amp %s, %.2f M parameters", variant, len(ds), sampling, iterations, start,
             batch_size, losses, device, amp, sum(p.numel() for p in net.parameters()) / 1e6)

    def save_checkpoint(it: int) -> None:
        ck.save(ckpt_path, {"meta": {**meta, "iteration": it}, "model": net.state_dict(),
                            **({"ema": ema.state_dict()} if ema is not None else {}),
                            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                            "scaler": scaler.state_dict(), "rng": ck.rng_state(), "history": history})

    every = int(cfg["checkpoint_every"])
    log_every = max(1, int(cfg["log_every"]))
    acc: dict[str, float] = {}
    n_acc = 0
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=iterations, initial=start, desc=variant, dynamic_ncols=True, mininterval=2.0)
    net.train()
    it = start
    end = iterations if stop_after is None else min(iterations, start + stop_after)
    try:
        for it in range(start, end):
            batch = next(stream)
            batch = {k: (t.to(device, non_blocking=True) if torch.is_tensor(t) else t) for k, t in batch.items()}
            ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
            with ctx:
                logits = net(batch["rgb"], batch.get("flow"))
            terms = loss_terms(logits, batch, losses, cfg, fg)
            loss = L.combine(terms, cfg["loss_weights"])
            if not torch.isfinite(loss):
                vals = ", ".join(f"{k}={float(t.detach()):.4g}" for k, t in terms.items())
                raise TrainingError(
                    f"variant {variant}: non-finite loss at iteration {it} ({vals}); stopping. "
                    f"Last good checkpoint: {ckpt_path if ckpt_path.exists() else 'none'} "
                    "(lower train.optimizer.lr or set train.amp: off)"
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            if ema is not None:
                ema.update_parameters(net)
            vals = {k: float(t.detach()) for k, t in terms.items()}
            for k, val in vals.items():
                acc[k] = acc.get(k, 0.0) + val
            acc["total"] = acc.get("total", 0.0) + float(loss.detach())
            n_acc += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{val:.3f}" for k, val in vals.items()}, refresh=False)
            if (it + 1) % log_every == 0 or it + 1 == end:
                row = {"iteration": it + 1, **{k: val / n_acc for k, val in acc.items()},
                       "lr": sched.get_last_lr()[0]}
                history.append(row)
                log.info("%s it %d: %s", variant, it + 1,
                         " ".join(f"{k}={val:.4f}" for k, val in row.items() if k != "iteration"))
                acc, n_acc = {}, 0
            if every > 0 and (it + 1) % every == 0 and it + 1 < iterations:
                save_checkpoint(it + 1)
    finally:
        if bar is not None:
            bar.close()
        ds.close()
    seconds = time.perf_counter() - t0
    done = end - start
    summary = {"variant": variant, "dataset": manifest.dataset, "iterations": iterations,
               "iterations_this_run": done, "resumed_from": start, "seconds": seconds,
               "seconds_per_iteration": seconds / max(1, done), "batch_size": batch_size,
               "samples": len(ds), "device": str(device), "amp": str(amp), "losses": losses,
               "history": history}
    if stop_after is not None and end < iterations:
        save_checkpoint(end)
        return summary
    final = ema.module if ema is not None else net
    ck.save(model_path, {"meta": {**meta, "iteration": iterations}, "model": final.state_dict()})
    ckpt_path.unlink(missing_ok=True)
    if history_path is not None:
        write_json(history_path, summary)
    log.info("%s: %d iterations in %.1f s (%.3f s/iteration) -> %s", variant, done, seconds,
             seconds / max(1, done), model_path)
    return summary
