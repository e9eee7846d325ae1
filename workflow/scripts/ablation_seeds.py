"""Rule `ablation_seeds`: every ablation variant x training seed (JSON + Markdown)."""

from tagseg.ablation import write_seeds
from tagseg.logs import configure

configure(snakemake.log[0])
write_seeds([(v, k, path) for (v, k), path in zip(snakemake.params.runs, snakemake.input)],
            snakemake.output.json, snakemake.output.md, default=snakemake.params.default)
