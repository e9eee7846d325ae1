"""Rule `retrieval_local_catalogue`: local videos -> index catalogue, thumbnails, labelled truth."""

from pathlib import Path

from tagseg.logs import configure
from tagseg.retrieval.stage import run_local_catalogue

configure(snakemake.log[0])
run_local_catalogue(snakemake.params.cfg, str(Path(snakemake.output.catalogue).parent))
