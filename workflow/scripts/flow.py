"""Rule `flow`: TV-L1 flow pairs of one shard."""

from tagseg.flow.stage import run_shard
from tagseg.device import deterministic
from tagseg.logs import configure

configure(snakemake.log[0])
# config key `deterministic`: read from the config, not a param, so switching it does not
# rerun finished jobs (tagseg.device.deterministic)
torch_backend = snakemake.config["flow"]["backend"] == "torch"  # opencv: no torch at all
with deterministic(snakemake.config["deterministic"] if torch_backend else False):
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
