"""Rule `manifest`: scan the dataset root and write results/{dataset}/manifest.json."""

from tagseg.datasets import kinds
from tagseg.logs import configure

configure(snakemake.log[0])
cfg = snakemake.params.dataset
kinds.get(cfg["kind"]).build_manifest(snakemake.wildcards.dataset, cfg).save(snakemake.output[0])
