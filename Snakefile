"""tagseg: weakly-supervised video semantic segmentation from tags.

    snakemake --cores 2                                   # rule all: the embedded main job
    snakemake --cores 8 results/synthcity/metrics.json    # the same, as a target
    snakemake --profile profiles/slurm results/cityscapes/metrics.json
"""

import os
import sys

from snakemake.utils import min_version

from tagseg.config import ConfigError, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# One line per problem, naming the key (snakemake.utils.validate would print the whole schema);
# fills the schema's defaults into `config`, as snakemake.utils.validate(..., set_default=True)
# does (tagseg.config: the same recipe, with copied defaults and null sections left alone).
try:
    validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"),
             configfiles=workflow.overwrite_configfiles)
except ConfigError as e:
    sys.exit(str(e))


report: "workflow/report/workflow.rst"


# A bare `snakemake --cores 2` runs the embedded main job (synthcity, rendered by the pipeline).
rule all:
    default_target: True
    input:
        "results/synthcity/metrics.json",


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
include: "workflow/rules/voc.smk"


onstart:
    preflight()
