"""Rule `train`: train one variant of the two-stream network."""

import torch

from tagseg.datasets.manifest import load
from tagseg.device import deterministic, resolve
from tagseg.logs import configure
from tagseg.train.loop import train

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
inp = snakemake.input
shards = {k: list(getattr(inp, k)) for k in ("flow", "heatmaps", "pseudo") if hasattr(inp, k)}
# config key `deterministic`: read from the config, not a param, so switching it does not
# rerun finished jobs (tagseg.device.deterministic)
with deterministic(snakemake.config["deterministic"]):
    train(
        load(inp.manifest),
        snakemake.params.cfg,
        snakemake.wildcards.variant,
        snakemake.output.model,
        shards=shards,
        device=resolve(snakemake.params.device),
        seed=int(snakemake.params.seed),
        offsets=list(snakemake.params.offsets),
        history_path=snakemake.output.history,
        init_path=getattr(inp, "init", None),
        provenance=snakemake.params.provenance,
    )
