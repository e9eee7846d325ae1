"""Rule `retrieval_download`: yt-dlp downloads the videos whose thumbnails were kept."""

from tagseg.logs import configure
from tagseg.retrieval.stage import run_download

configure(snakemake.log[0])
run_download(snakemake.params.cfg, snakemake.input.thumbnails, snakemake.output[0],
             snakemake.params.video_dir)
