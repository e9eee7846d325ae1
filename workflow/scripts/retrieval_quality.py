"""Rule `retrieval_quality`: precision / recall of each retrieval filter against rendered truth."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_quality

configure(snakemake.log[0])
run_quality(snakemake.input.truth, snakemake.params.cfg["classes"], snakemake.params.results,
            snakemake.output[0])
