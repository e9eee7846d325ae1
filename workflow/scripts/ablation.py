"""Rule `ablation`: every variant side by side (JSON + Markdown)."""

from tagseg.ablation import write
from tagseg.logs import configure

configure(snakemake.log[0])
write(dict(zip(snakemake.params.variants, snakemake.input)), snakemake.output.json,
      snakemake.output.md, default=snakemake.params.default)
