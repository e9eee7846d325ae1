"""Rule `retrieval_webvideos`: render synthetic web videos + catalogue + truth under {root}/web/."""

from pathlib import Path

from tagseg.logs import configure
from tagseg.retrieval.stage import run_webvideos

configure(snakemake.log[0])
run_webvideos(snakemake.params.cfg, str(Path(snakemake.output.truth).parent.parent))
