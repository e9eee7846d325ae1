"""Rule `heatmaps`: multi-scale heatmaps and class scores of one shard."""

import torch

from tagseg.device import deterministic, resolve
from tagseg.heatmaps.stage import run_heatmaps
from tagseg.logs import configure

configure(snakemake.log[0])
torch.set_num_threads(int(snakemake.threads))
# config key `deterministic`: read from the config, not a param, so switching it does not
# rerun finished jobs (tagseg.device.deterministic)
with deterministic(snakemake.config["deterministic"]):
    run_heatmaps(
        snakemake.input.manifest,
        snakemake.input.model,
        snakemake.wildcards.split,
        int(snakemake.wildcards.shard),
        dict(snakemake.params.cfg),
        list(snakemake.params.offsets),
        snakemake.output[0],
        device=resolve(snakemake.params.device),
        progress=False,
        provenance=snakemake.params.provenance,
    )
