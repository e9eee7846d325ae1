"""Rule `flow_quality`: EPE of the val flows against ground truth (synthcity)."""

from tagseg.flow.quality import write_quality
from tagseg.logs import configure

configure(snakemake.log[0])
write_quality(
    snakemake.output[0],
    snakemake.input.manifest,
    list(snakemake.input.flow),
    split="val",
    provenance=snakemake.params.provenance,
    cfg=dict(snakemake.params.cfg),
)
