"""Rule `manifest`: scan the dataset root and write results/{dataset}/manifest.json."""

from tagseg.datasets.kinds import build_manifest
from tagseg.logs import configure

configure(snakemake.log[0])
build_manifest(snakemake.wildcards.dataset, snakemake.params.dataset).save(snakemake.output[0])
