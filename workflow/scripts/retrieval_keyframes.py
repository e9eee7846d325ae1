"""Rule `retrieval_keyframes`: score and filter (see tagseg.retrieval.keyframes)."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_keyframes

configure(snakemake.log[0])
run_keyframes(snakemake.params.cfg, snakemake.wildcards.cls, snakemake.input.download, snakemake.input.manifest,
        snakemake.output[0], checkpoint=snakemake.input.get("checkpoint"),
        device=snakemake.params.device, heatmaps_cfg=snakemake.params.heatmaps)
