"""Rule `training_manifest`: the target's manifest + the train snippets of train.extra_datasets."""

from tagseg.datasets.extra import run_training_manifest
from tagseg.logs import configure

configure(snakemake.log[0])
used, skipped = snakemake.params.extra
run_training_manifest(snakemake.input.target, list(snakemake.input.extra), dict(skipped),
                      snakemake.output[0], own=bool(snakemake.params.own))
