"""Rule `pseudolabels`: graph-cut pseudo-labels of one shard."""

from tagseg.logs import configure
from tagseg.pseudolabels.stage import run_shard

configure(snakemake.log[0])
run_shard(
    snakemake.input.manifest,
    getattr(snakemake.input, "flow", None),  # None: still images
    snakemake.input.heatmaps,
    snakemake.output[0],
    snakemake.wildcards.split,
    int(snakemake.wildcards.shard),
    dict(snakemake.params.cfg),
    L=int(snakemake.params.L),
    seed=int(snakemake.params.seed),
    provenance=snakemake.params.provenance,
)
