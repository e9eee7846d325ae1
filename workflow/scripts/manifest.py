"""Rule `manifest`: scan the dataset root with its kind's builder (tagseg.datasets.kinds) and
write results/{dataset}/manifest.json."""

from tagseg.datasets.kinds import get
from tagseg.logs import configure

configure(snakemake.log[0])
cfg = snakemake.params.dataset
get(cfg["kind"]).build_manifest(snakemake.wildcards.dataset, cfg).save(snakemake.output[0])
