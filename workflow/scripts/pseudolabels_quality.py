"""Rule `pseudolabels_quality`: pseudo-label mIoU on val vs heatmap argmax and unary ablations."""

from tagseg.logs import configure
from tagseg.pseudolabels.quality import write_quality

configure(snakemake.log[0])
write_quality(
    snakemake.output[0],
    snakemake.input.manifest,
    list(snakemake.input.pseudolabels),
    list(snakemake.input.heatmaps),
    split="val",
    provenance=snakemake.params.provenance,
)
