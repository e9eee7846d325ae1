"""Rule `retrieval_webvideos`: render synthetic web videos + catalogue + truth under {root}/web/."""

from pathlib import Path

from synthcity.web import render_config
from tagseg.logs import configure

configure(snakemake.log[0])
render_config(snakemake.params.cfg, str(Path(snakemake.output.truth).parent.parent))
