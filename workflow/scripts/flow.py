"""Rule `flow`: TV-L1 flow pairs of one shard."""

from tagseg.flow.stage import run_shard
from tagseg.logs import configure

configure(snakemake.log[0])
run_shard(
    snakemake.input.manifest,
    snakemake.wildcards.split,
    int(snakemake.wildcards.shard),
    snakemake.output[0],
    dict(snakemake.params.cfg),
    centers=list(snakemake.params.centers),
    device=snakemake.params.device,
    threads=snakemake.threads,
    provenance=snakemake.params.provenance,
)
