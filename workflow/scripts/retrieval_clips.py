"""Rule `retrieval_clips`: ±2 s windows around kept key frames -> relevant runs in HDF5."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_clips

configure(snakemake.log[0])
run_clips(snakemake.params.cfg, snakemake.wildcards.cls, snakemake.input.keyframes,
          snakemake.input.manifest, snakemake.output.h5, snakemake.output.json,
          checkpoint=snakemake.input.get("checkpoint"), device=snakemake.params.device,
          heatmaps_cfg=snakemake.params.heatmaps)
