"""Rule `heatmaps_quality`: heatmap arg-max mIoU and B_k precision/recall on the val split."""

from tagseg.heatmaps.quality import write_quality
from tagseg.logs import configure

configure(snakemake.log[0])
write_quality(
    snakemake.input.manifest,
    list(snakemake.input.heatmaps),
    snakemake.output[0],
    split="val",
    threshold=float(snakemake.params.threshold),
    provenance=snakemake.params.provenance,
)
