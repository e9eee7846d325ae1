"""Rule `tagged_classifiers`: the multi-label CAM classifier on the dataset's tagged images."""

import torch

from tagseg.device import resolve
from tagseg.heatmaps.tagged import run_tagged_classifiers
from tagseg.logs import configure

configure(snakemake.log[0])
torch.set_num_threads(int(snakemake.threads))
run_tagged_classifiers(snakemake.input.manifest, dict(snakemake.params.cfg), snakemake.output.model,
                       snakemake.output.accuracy, device=resolve(snakemake.params.device),
                       seed=int(snakemake.params.seed))
