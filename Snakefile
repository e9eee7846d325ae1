"""tagseg: weakly-supervised video semantic segmentation from tags.

    snakemake --cores 8 results/synthcity/metrics.json
    snakemake --profile profiles/slurm results/cityscapes/metrics.json
"""

import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, "config/schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/flow.smk"
include: "workflow/rules/heatmaps.smk"
include: "workflow/rules/pseudolabels.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/retrieval.smk"
include: "workflow/rules/report.smk"
