"""Rule `predict`: labelId PNGs (raw, dense CRF) and overlays of one variant."""

from pathlib import Path

import torch

from tagseg.datasets.manifest import load
from tagseg.device import deterministic, resolve
from tagseg.h5io import write_json
from tagseg.logs import configure
from tagseg.predict import predict_split

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
out = snakemake.output
cfg = dict(snakemake.params.cfg)
# config key `deterministic`: read from the config, not a param, so switching it does not
# rerun finished jobs (tagseg.device.deterministic)
with deterministic(snakemake.config["deterministic"]):
    summary = predict_split(
        load(snakemake.input.manifest),
        snakemake.params.split if hasattr(snakemake.params, "split") else cfg["split"],
        snakemake.input.model,
        snakemake.wildcards.variant,
        Path(out.raw).parent,
        flow_shards=list(snakemake.input.flow) if hasattr(snakemake.input, "flow") else None,
        cfg=cfg,
        device=resolve(snakemake.params.device),
        backbone=snakemake.params.backbone,
        provenance=snakemake.params.provenance,
    )
for d in (out.raw, out.crf, out.overlay):
    Path(d).mkdir(parents=True, exist_ok=True)
write_json(out.timing, summary)
