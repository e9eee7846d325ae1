"""Rule `adapt_labels`: the target's train images labelled by a trained variant (domain adaptation)."""

import torch

from tagseg.adapt import run_shard
from tagseg.device import resolve
from tagseg.logs import configure

configure(snakemake.log[0])
torch.set_num_threads(int(snakemake.threads))
run_shard(snakemake.input.manifest, snakemake.input.model, snakemake.wildcards.source,
          int(snakemake.wildcards.shard), snakemake.output[0], dict(snakemake.params.cfg),
          provenance=snakemake.params.provenance, device=resolve(snakemake.params.device))
