"""Rule `retrieval_search`: keyword search (youtube or index backend) -> candidates JSON."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_search

configure(snakemake.log[0])
run_search(snakemake.params.cfg, snakemake.params.index, snakemake.wildcards.cls, snakemake.output[0])
