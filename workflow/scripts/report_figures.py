"""Rule `report_figures`: the figures `snakemake --report` shows (tagseg.report.make_figures)."""

from pathlib import Path

from tagseg.logs import configure
from tagseg.report import make_figures

configure(snakemake.log[0])
i, o = snakemake.input, snakemake.output
make_figures(
    manifest=i.manifest,
    metrics=i.metrics,
    flow_quality=i.flow_quality if hasattr(i, "flow_quality") else None,  # still images: no flow
    heatmaps_quality=i.heatmaps_quality,
    pseudolabels_quality=i.pseudolabels_quality,
    pred_root=Path(i.raw).parent,
    out_dir=Path(o.ablation_table).parent,
    frames_dir=o.frames,
    ablation=i.ablation if hasattr(i, "ablation") else None,
    cfg=snakemake.params.cfg,
    pseudolabels=list(i.pseudolabels) if hasattr(i, "pseudolabels") else None,
)
