"""Rule `classifiers`: train the CAM classifier on the iconic images."""

import torch

from tagseg.device import resolve
from tagseg.heatmaps.train import run_classifiers
from tagseg.logs import configure

configure(snakemake.log[0])
torch.set_num_threads(int(snakemake.threads))
run_classifiers(
    snakemake.input.manifest,
    dict(snakemake.params.cfg),
    snakemake.output.model,
    snakemake.output.accuracy,
    device=resolve(snakemake.params.device),
    seed=int(snakemake.params.seed),
    progress=False,
)
