"""Rule `evaluate`: the default variant's scores as results/{dataset}/metrics.json."""

import json
from pathlib import Path

from tagseg.h5io import write_json
from tagseg.logs import configure

log = configure(snakemake.log[0])
m = json.loads(Path(snakemake.input[0]).read_text())
m["default_variant"] = snakemake.params.variant
write_json(snakemake.output[0], m)
log.info("%s -> %s (variant %s)", snakemake.input[0], snakemake.output[0], snakemake.params.variant)
