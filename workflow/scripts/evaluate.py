"""Rule `evaluate_variant`: score one variant's raw and CRF predictions."""

from pathlib import Path

from tagseg.datasets.manifest import load
from tagseg.logs import configure
from tagseg.predict import evaluate_variant

log = configure(snakemake.log[0])
m = load(snakemake.input.manifest)
r = evaluate_variant(m, snakemake.params.split, Path(snakemake.input.raw).parent,
                     snakemake.wildcards.variant, snakemake.output[0])
log.info("%s: mIoU raw %.4f, crf %.4f on %d images", snakemake.wildcards.variant,
         r["raw"]["miou"] or 0.0, r["crf"]["miou"] or 0.0, r["n_images"])
