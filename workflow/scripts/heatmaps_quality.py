"""Rule `heatmaps_quality`: heatmap arg-max mIoU and B_k precision/recall on the val split."""

from tagseg.heatmaps.quality import write_quality
from tagseg.logs import configure

configure(snakemake.log[0])
write_quality(
    snakemake.output[0],
    snakemake.input.manifest,
    list(snakemake.input.heatmaps),
    split="val",
    provenance=snakemake.params.provenance,
    threshold=float(snakemake.params.threshold),
)
