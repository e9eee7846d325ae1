"""Render the synthcity dataset into a Cityscapes-layout tree, atomically.

Layout under ``root`` (``{id}`` = ``{city}_{seq:06d}``)::

    leftImg8bit_sequence/{split}/{city}/{id}_{frame:06d}_leftImg8bit.png   all frames
    leftImg8bit/{split}/{city}/{id}_{annotated:06d}_leftImg8bit.png        annotated frame
    gtFine/{split}/{city}/{id}_{annotated:06d}_gtFine_labelIds.png         Cityscapes label ids
    gtFine/{split}/{city}/{id}_{annotated:06d}_gtFine_color.png            palette colours
    flowGt/{split}/{city}/{id}_{annotated:06d}_flowGt.h5                   exact flows
    iconic/{class_name}/{i:04d}.png                                        iconic images
    synthcity.json                                                         written last
    .tagseg-synthcity                                                      marks a render

Everything is rendered into a hidden temporary folder beside ``root`` that is renamed to
``root`` only when complete. A render replaces ``root`` only when it is missing, empty or a
previous render (:func:`check_root`): tagseg never deletes a folder it did not write.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tagseg import __version__, classes
from tagseg.fsutil import apply_umask
from tagseg.h5io import write_artifact

from .iconic_images import GROUP, render_iconic_group
from .street import DENSITY_KEYS, Street
from .textures import make_atlas
from .video import render_snippet

CITIES: dict[str, tuple[str, ...]] = {"train": ("alphaville", "brickton"), "val": ("cedarfield",)}
"""City names per split; snippet ``k`` of a split goes to city ``k % n`` with seq ``k // n``."""
SPLITS = ("train", "val")
MARKER = ".tagseg-synthcity"
"""File in every rendered root: the folder is tagseg's to replace on the next render."""


class RootNotOurs(ValueError):
    """The render root holds files that tagseg did not write."""


def is_render(root: str | os.PathLike) -> bool:
    """True when ``root`` holds a previous render: its :data:`MARKER`, or (renders made before
    the marker existed) the ``synthcity.json`` summary a render writes last."""
    root = Path(root)
    if (root / MARKER).is_file():
        return True
    try:
        info = json.loads((root / "synthcity.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("dataset") == "synthcity" and "params" in info


def check_root(root: str | os.PathLike, overwrite: bool = False, key: str | None = None) -> None:
    """Raise :class:`RootNotOurs` unless rendering may replace ``root``: it is missing, an empty
    folder, a previous render (:func:`is_render`), or ``overwrite`` is set. A previous render
    without the marker gets it now (its ``synthcity.json`` is removed before a rerun).
    ``key`` names the config key that set ``root``, for the message."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise RootNotOurs(f"synthcity: root {root} exists and is not a folder")
    if overwrite or not root.exists() or not any(root.iterdir()):
        return
    if is_render(root):
        if not (root / MARKER).is_file():
            _write_marker(root)
        return
    fix = f"set config key {key} to a new or empty folder" if key else \
        "choose a new or empty folder, or pass --overwrite to replace it"
    raise RootNotOurs(f"synthcity: {root} is not empty and holds no previous render "
                      f"(no {MARKER}); rendering would delete it: {fix}")


def _write_marker(root: Path) -> None:
    (root / MARKER).write_text(f"rendered by tagseg {__version__} (tagseg synth / rule synthesize); "
                               "a new render replaces this whole folder\n")


@functools.lru_cache(maxsize=4)
def _atlas(seed: int) -> np.ndarray:
    return make_atlas(seed)


def _imwrite(path: Path, img: np.ndarray) -> None:
    """Write a PNG (RGB or single channel) into the (temporary) dataset tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    if not cv2.imwrite(str(path), arr):
        raise OSError(f"{path}: could not write PNG")


def snippet_id(city: str, seq: int, frame: int) -> str:
    """Cityscapes name of one frame, e.g. ``alphaville_000003_000019``."""
    return f"{city}_{seq:06d}_{frame:06d}"


def _snippet_job(tmp: str, split: str, k: int, p: dict[str, Any]) -> dict[str, Any]:
    """Render snippet ``k`` of ``split`` into ``tmp``; returns its per-class pixel counts."""
    cities = CITIES[split]
    city, seq = cities[k % len(cities)], k // len(cities)
    si = SPLITS.index(split)
    rng = np.random.default_rng([p["seed"], si, k])
    world, path = Street(rng, p["frames"], city=city, density=p["density"]).build()
    world.env.noise_sigma *= p["noise"]
    r = render_snippet(world, path, p["width"], p["height"], p["frames"], p["annotated"],
                       p["flow_offsets"], _atlas(p["seed"]), (p["seed"], si, k, 7),
                       hood_depth=p["hood"])
    root = Path(tmp)
    a = p["annotated"]
    for f in range(p["frames"]):
        _imwrite(root / "leftImg8bit_sequence" / split / city
                 / f"{snippet_id(city, seq, f)}_leftImg8bit.png", r.frames[f])
    ann = snippet_id(city, seq, a)
    src = root / "leftImg8bit_sequence" / split / city / f"{ann}_leftImg8bit.png"
    dst = root / "leftImg8bit" / split / city / f"{ann}_leftImg8bit.png"
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    _imwrite(root / "gtFine" / split / city / f"{ann}_gtFine_labelIds.png", r.labels)
    _imwrite(root / "gtFine" / split / city / f"{ann}_gtFine_color.png", classes.label_id_palette()[r.labels])
    fpath = root / "flowGt" / split / city / f"{ann}_flowGt.h5"
    fpath.parent.mkdir(parents=True, exist_ok=True)
    K = r.cams[0].K
    attrs = {"snippet": ann, "annotated": a, "frames": p["frames"], "units": "pixels",
             "offsets": np.asarray(p["flow_offsets"], np.int64)}
    with write_artifact(fpath, stage="synthesize", config=p, attrs=attrs) as h:
        d = h.create_dataset("flow", data=r.flow, chunks=(1, 2, *r.flow.shape[2:]),
                             compression="lzf", shuffle=True)
        d.attrs["units"] = "pixels"
        d.attrs["axes"] = "pair, (x right, y down), row, column"
        d.attrs["offsets"] = np.asarray(p["flow_offsets"], np.int64)
        h.create_dataset("valid", data=r.valid, compression="lzf").attrs["meaning"] = (
            "target inside the next frame and not occluded there (sky: rotation-only flow, "
            "valid where the next frame shows sky around the target)")
        h.create_dataset("moving", data=r.moving, compression="lzf").attrs["meaning"] = (
            "pixel of an object with its own nonzero velocity (not parked / standing)")
        h.create_dataset("K", data=K).attrs["units"] = "pixels"
        h.create_dataset("cam_R", data=np.stack([c.R for c in r.cams])).attrs["meaning"] = (
            "world -> camera matrix per frame, x_cam = R (X - C); rows are the camera's "
            "right, down, forward axes in world coordinates (world: X right, Y up, Z forward)")
        h.create_dataset("cam_C", data=np.stack([c.C for c in r.cams])).attrs["units"] = "metres"
    counts = np.bincount(r.labels.ravel(), minlength=256)
    return {"id": ann, "split": split, "city": city, "seq": seq, "counts": counts}


def _iconic_job(tmp: str, name: str, group: int, p: dict[str, Any]) -> list[float]:
    """Render iconic images ``group * GROUP ..`` of class ``name``; returns their class shares."""
    ci = classes.CLASS_NAMES.index(name)
    i0 = group * GROUP
    n = min(GROUP, p["iconic_per_class"] - i0)
    city = CITIES["train"][group % len(CITIES["train"])]
    res = render_iconic_group(name, [p["seed"], 99, ci, group], n, p["iconic_size"],
                              _atlas(p["seed"]), city, noise=p["noise"])
    for j, r in enumerate(res):
        _imwrite(Path(tmp) / "iconic" / name / f"{i0 + j:04d}.png", r.image)
    return [r.fraction for r in res]


def _run_jobs(jobs: list[tuple], workers: int) -> list[Any]:
    """Run ``(fn, *args)`` jobs, in order; with a process pool when ``workers > 1``."""
    if workers <= 1:
        return [fn(*args) for fn, *args in jobs]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futs = [pool.submit(fn, *args) for fn, *args in jobs]
        return [f.result() for f in futs]


def _check(params: dict[str, Any]) -> None:
    def bad(key: str, why: str) -> None:
        raise ValueError(f"synthcity: parameter {key!r} = {params[key]!r}: {why}")

    if params["width"] < 32 or params["height"] < 16:
        bad("width" if params["width"] < 32 else "height", "frames must be at least 32 x 16 pixels")
    for key in ("train_snippets", "val_snippets", "iconic_per_class"):
        if params[key] < 0:
            bad(key, "must be >= 0")
    if params["frames"] < 2:
        bad("frames", "a snippet needs at least 2 frames")
    if not 0 <= params["annotated"] < params["frames"]:
        bad("annotated", f"must index a frame 0..{params['frames'] - 1}")
    for o in params["flow_offsets"]:
        if not 0 <= params["annotated"] + o < params["frames"] - 1:
            bad("flow_offsets", f"offset {o:+d} needs frames {params['annotated'] + o} and "
                f"{params['annotated'] + o + 1}, outside 0..{params['frames'] - 1}")
    if params["iconic_size"] < 16:
        bad("iconic_size", "must be >= 16 pixels")
    for k in params["density"]:
        if k not in DENSITY_KEYS:
            raise ValueError(f"synthcity: parameter 'density' has unknown class {k!r}; "
                             f"known: {', '.join(DENSITY_KEYS)}")
    if params["noise"] < 0:
        bad("noise", "must be >= 0")
    if not 0 <= params["hood"] < 0.5:
        bad("hood", "ego-vehicle hood height must be a fraction in [0, 0.5)")


def render(root: str | os.PathLike, *, seed: int = 0, width: int = 256, height: int = 128,
           train_snippets: int = 48, val_snippets: int = 16, frames: int = 30,
           annotated: int = 19, flow_offsets: Sequence[int] = range(-6, 8),
           iconic_per_class: int = 40, iconic_size: int = 96, workers: int = 1,
           density: Mapping[str, float] | None = None, hood: float = 0.08,
           noise: float = 1.0, overwrite: bool = False) -> dict[str, Any]:
    """Render the synthcity dataset into ``root`` (Cityscapes layout; see module docstring).

    ``seed``: everything random; same seed and parameters give byte-identical PNGs and
    identical HDF5 datasets, whatever ``workers``.
    ``width``, ``height``: frame size, pixels. ``frames``: frames per snippet, of which
    ``annotated`` (index) has ground truth. ``flow_offsets``: pair ``p`` of each flowGt file
    is the flow from frame ``annotated + flow_offsets[p]`` to the next one.
    ``iconic_per_class`` images of ``iconic_size``² pixels per evaluation class.
    ``workers``: processes (output does not depend on it).
    ``density``: per-class multipliers of the expected number of instances (keys
    :data:`~.street.DENSITY_KEYS`). ``hood``: height of the ego-vehicle hood at the image
    centre as a fraction of the frame height (label ``ego_vehicle``, ignored), 0 for none.
    ``noise``: multiplier of the sensor noise (0: noise-free frames, e.g. to check flows).
    ``overwrite``: replace ``root`` even when it holds files of no previous render (else
    :class:`RootNotOurs`, before anything is rendered).

    Returns the dictionary also written to ``root/synthcity.json``: parameters, counts,
    per-class pixel frequencies of the ground truth, timing, library version.
    """
    root = Path(root)
    params: dict[str, Any] = dict(
        seed=int(seed), width=int(width), height=int(height), train_snippets=int(train_snippets),
        val_snippets=int(val_snippets), frames=int(frames), annotated=int(annotated),
        flow_offsets=[int(o) for o in flow_offsets], iconic_per_class=int(iconic_per_class),
        iconic_size=int(iconic_size), density={k: float(v) for k, v in sorted((density or {}).items())},
        hood=float(hood), noise=float(noise))
    _check(params)
    t0 = time.time()
    with staging(root, overwrite) as tmp:
        jobs: list[tuple] = []
        for split, n in (("train", params["train_snippets"]), ("val", params["val_snippets"])):
            jobs += [(_snippet_job, str(tmp), split, k, params) for k in range(n)]
        n_snip = len(jobs)
        n_groups = -(-params["iconic_per_class"] // GROUP)
        for name in classes.CLASS_NAMES:
            jobs += [(_iconic_job, str(tmp), name, g, params) for g in range(n_groups)]
        results = _run_jobs(jobs, int(workers))
        iconic = [f for r in results[n_snip:] for f in r]
        info = _summary(params, results[:n_snip], iconic, time.time() - t0, workers)
        publish(tmp, root, info)
    return info


@contextmanager
def staging(root: Path, overwrite: bool = False) -> Iterator[Path]:
    """A hidden temporary folder beside ``root`` to render into (after :func:`check_root`),
    with the user's umask (mkdtemp makes it 0700); removed when the block fails."""
    check_root(root, overwrite)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    apply_umask(tmp, folder=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(tmp: Path, root: Path, info: Mapping[str, Any]) -> None:
    """Finish a render: write the marker and ``synthcity.json`` (``info``, the render's
    summary) into ``tmp``, then put ``tmp`` in place of ``root`` (:func:`_replace_dir`)."""
    _write_marker(tmp)
    with open(tmp / "synthcity.json", "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    _replace_dir(tmp, root)


def _replace_dir(tmp: Path, root: Path) -> None:
    """Rename ``tmp`` to ``root``; an existing ``root`` is moved aside first, then removed."""
    old = None
    if root.exists():
        try:
            root.rmdir()  # empty folder (e.g. pre-created by Snakemake)
        except OSError:
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.rename(root, old / "tree")
    os.rename(tmp, root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _summary(params, snippets, iconic, seconds, workers) -> dict[str, Any]:
    lids = [classes.label(n).label_id for n in classes.CLASS_NAMES]
    per_split: dict[str, dict[str, Any]] = {}
    total = np.zeros(256, np.int64)
    snip_info = []
    for s in snippets:
        c = s["counts"]
        total += c
        d = per_split.setdefault(s["split"], {"snippets": 0, "counts": np.zeros(256, np.int64)})
        d["snippets"] += 1
        d["counts"] += c
        snip_info.append({"id": s["id"], "split": s["split"], "city": s["city"], "seq": s["seq"],
                          "pixels": {n: int(c[li]) for n, li in zip(classes.CLASS_NAMES, lids) if c[li]}})

    def freqs(c: np.ndarray) -> dict[str, float]:
        ev = c[lids].sum()
        return {n: (float(c[li] / ev) if ev else 0.0) for n, li in zip(classes.CLASS_NAMES, lids)}

    n_ic = params["iconic_per_class"]
    iconic_frac = {}
    for j, name in enumerate(classes.CLASS_NAMES):
        fr = iconic[j * n_ic:(j + 1) * n_ic]
        iconic_frac[name] = float(np.mean(fr)) if fr else 0.0
    return {
        "dataset": "synthcity",
        "version": __version__,
        "params": params,
        "cities": {s: list(c) for s, c in CITIES.items()},
        "counts": {"snippets": {s: d["snippets"] for s, d in per_split.items()},
                   "frames": len(snippets) * params["frames"],
                   "iconic": n_ic * len(classes.CLASS_NAMES)},
        "class_frequencies": freqs(total),
        "class_frequencies_by_split": {s: freqs(d["counts"]) for s, d in per_split.items()},
        "ignored_fraction": float(1 - total[lids].sum() / max(total.sum(), 1)),
        "iconic_mean_fraction": iconic_frac,
        "flow": {"offsets": params["flow_offsets"], "units": "pixels",
                 "sky": "rotation-only flow of points at infinity, valid where the next frame "
                        "shows sky around the target",
                 "moving": "pixel of an object with its own nonzero velocity"},
        "snippets": snip_info,
        "render_seconds": round(seconds, 2),
        "workers": int(workers),
    }
