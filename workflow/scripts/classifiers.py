"""Rule `classifiers`: train the CAM classifier on the iconic images."""

import torch

from tagseg.device import deterministic, resolve
from tagseg.heatmaps.train import run_classifiers
from tagseg.logs import configure

configure(snakemake.log[0])
torch.set_num_threads(int(snakemake.threads))
# config key `deterministic`: read from the config, not a param, so switching it does not
# rerun finished jobs (tagseg.device.deterministic)
with deterministic(snakemake.config["deterministic"]):
    run_classifiers(
        snakemake.input.manifest,
        dict(snakemake.params.cfg),
        snakemake.output.model,
        snakemake.output.accuracy,
        device=resolve(snakemake.params.device),
        seed=int(snakemake.params.seed),
        progress=False,
    )
