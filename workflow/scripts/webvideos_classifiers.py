"""Rule `webvideos_classifiers`: a webvideos dataset uses its source dataset's classifier."""

from tagseg.datasets.webvideos import share_classifier
from tagseg.logs import configure

configure(snakemake.log[0])
share_classifier(snakemake.input.model, snakemake.input.accuracy, snakemake.output.model,
                 snakemake.output.accuracy)
