"""Rule `webvideos_manifest`: retrieved clips -> PNG frames + results/{dataset}/manifest.json."""

from tagseg.datasets.webvideos import run_manifest
from tagseg.logs import configure

configure(snakemake.log[0])
run_manifest(snakemake.wildcards.dataset, snakemake.params.dataset, list(snakemake.input.clips),
             snakemake.input.source_manifest, list(snakemake.params.offsets), snakemake.output[0])
