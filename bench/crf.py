"""ConvCRF (torch, local window) vs pydensecrf (exact) — speed and agreement, and mIoU when
ground truth is at hand.

    python bench/crf.py                                  # synthetic probabilities, 128x256
    python bench/crf.py --model results/x/model.pt --results results/synthcity --variant two_stream

Without ``--model``: random smooth probability maps over a random colour image, timing per
image for pydensecrf and ConvCRF at several (window, blur) settings, and the fraction of
pixels whose argmax agrees with pydensecrf. With ``--model``: the val frames' softmax from
that model, refined by each CRF, scored against the ground truth (mIoU at working size).
Prints one JSON line per setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tagseg.classtable import ClassTable
from tagseg.crf import ConvCRF, CRFParams, dense_crf
from tagseg.datasets.cityscapes import TABLE
from tagseg.metrics import confusion_matrix, scores

SETTINGS = [(7, 1), (11, 1), (7, 2), (7, 4), (11, 4)]


def synthetic(n: int, h: int, w: int, c: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    imgs = (F.interpolate(torch.rand(n, 3, h // 8, w // 8, generator=g), size=(h, w), mode="nearest") * 255)
    logits = F.interpolate(torch.randn(n, c, h // 16, w // 16, generator=g) * 3, size=(h, w), mode="bilinear")
    return imgs, torch.softmax(logits, 1), None, TABLE


def from_model(args):
    from tagseg.datasets.manifest import load
    from tagseg.flow.storage import read_stack
    from tagseg.h5io import open_artifact
    from tagseg.images import read_label, read_rgb
    from tagseg.plan import shard_file
    from tagseg.predict import predict_probs
    from tagseg.train.checkpoint import load_model

    m = load(args.results / "manifest.json")
    net, meta = load_model(args.model, args.variant, list(m.classes))
    net.eval()
    imgs, probs, gts = [], [], []
    for s in m.split("val")[: args.n]:
        img = read_rgb(s.frame_path(0), tuple(m.size))
        flow = None
        if net.cfg.two_stream:
            with open_artifact(shard_file(str(args.results), "flow", "val", s.shard)) as f:
                flow = read_stack(f, s.id, 0, net.cfg.flow_channels // 2)
        probs.append(predict_probs(net, img, flow, meta["flow_scale"], torch.device("cpu")))
        imgs.append(torch.from_numpy(img).permute(2, 0, 1).float())
        gt = m.table.to_train_ids(read_label(s.gt))
        gts.append(gt)
    return torch.stack(imgs), torch.stack(probs), gts, m.table


def miou(probs: torch.Tensor, gts, table: ClassTable) -> float | None:
    if gts is None:
        return None
    n = table.num_classes
    conf = np.zeros((n, n + 1), np.int64)
    for p, g in zip(probs, gts):
        confusion_matrix(g, p.argmax(0).numpy().astype(np.uint8), n=n, out=conf)
    return round(scores(conf, table=table)["miou"], 4)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--results", type=Path)
    ap.add_argument("--variant")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--size", type=int, nargs=2, default=(128, 256), metavar=("H", "W"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model:
        imgs, probs, gts, table = from_model(args)
    else:
        imgs, probs, gts, table = synthetic(args.n, *args.size, TABLE.num_classes)
    params = CRFParams()
    n = len(probs)
    t = time.perf_counter()
    ref = torch.stack([torch.from_numpy(dense_crf(imgs[i].permute(1, 2, 0).round().byte().numpy(),
                                                  probs[i].numpy(), params)) for i in range(n)])
    t_ref = (time.perf_counter() - t) / n
    h, w = probs.shape[-2:]
    print(json.dumps({"crf": "none", "size": [h, w], "miou": miou(probs, gts, table),
                      "agree_with_pydensecrf": round(float((probs.argmax(1) == ref.argmax(1)).float().mean()), 4)}))
    print(json.dumps({"crf": "pydensecrf", "size": [h, w], "s_per_image": round(t_ref, 4), "miou": miou(ref, gts, table)}))
    for window, blur in SETTINGS:
        crf = ConvCRF(params, window, blur)
        t = time.perf_counter()
        with torch.no_grad():
            q = torch.cat([crf(imgs[i:i + 4], probs[i:i + 4]) for i in range(0, n, 4)])
        dt = (time.perf_counter() - t) / n
        agree = float((q.argmax(1) == ref.argmax(1)).float().mean())
        print(json.dumps({"crf": "convcrf", "window": window, "blur": blur, "size": [h, w],
                          "s_per_image": round(dt, 4), "speedup_vs_pydensecrf": round(t_ref / dt, 2),
                          "agree_with_pydensecrf": round(agree, 4), "miou": miou(q, gts, table)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
