"""Figures for `snakemake --report`: ablation table, per-class IoU, quality ladder, frames.

Nothing else needs them: build them with a target under results/{dataset}/report/ (or
--report-after-run), then `snakemake --report report.html <the same target>`.
"""

from tagseg import plan


rule report_figures:
    input:
        unpack(lambda w: plan.report_inputs(config, w.dataset)),
    output:
        ablation_table=report(
            "results/{dataset}/report/ablation.html",
            caption="../report/ablation.rst",
            category="1. Ablation",
            labels={"dataset": "{dataset}", "figure": "table"},
        ),
        ablation_bars=report(
            "results/{dataset}/report/ablation.png",
            caption="../report/ablation_bars.rst",
            category="1. Ablation",
            labels={"dataset": "{dataset}", "figure": "mIoU per variant"},
        ),
        class_iou=report(
            "results/{dataset}/report/class_iou.png",
            caption="../report/class_iou.rst",
            category="2. Per-class IoU",
            labels={"dataset": "{dataset}", "figure": "per-class IoU"},
        ),
        ladder=report(
            "results/{dataset}/report/quality_ladder.png",
            caption="../report/quality_ladder.rst",
            category="3. Quality per stage",
            labels={"dataset": "{dataset}", "figure": "quality ladder"},
        ),
        frames=report(
            directory("results/{dataset}/report/frames"),
            patterns=["{snippet}.png"],
            caption="../report/frames.rst",
            category="4. Qualitative frames",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "frame": "{snippet}"},
        ),
    params:
        cfg=lambda w: plan.report_cfg(config),
    log:
        "results/{dataset}/logs/report/figures.log",
    benchmark:
        "results/{dataset}/benchmarks/report/figures.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/tagseg.yaml"
    script:
        "../scripts/report_figures.py"
