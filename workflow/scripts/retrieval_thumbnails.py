"""Rule `retrieval_thumbnails`: score and filter (see tagseg.retrieval.thumbnails)."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_thumbnails

configure(snakemake.log[0])
run_thumbnails(snakemake.params.cfg, snakemake.wildcards.cls, snakemake.input.search, snakemake.input.manifest,
        snakemake.output[0], checkpoint=snakemake.input.get("checkpoint"),
        device=snakemake.params.device, heatmaps_cfg=snakemake.params.heatmaps)
