"""Rule `synthesize`: render the embedded synthcity dataset into {root}, in its layout."""

from pathlib import Path

from synthcity.layouts import render
from tagseg.logs import configure

if __name__ == "__main__":  # the renderer's worker processes re-import this file
    configure(snakemake.log[0])
    root = Path(snakemake.wildcards.root)
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()  # Snakemake pre-creates the output's folder; the renderer renames into place
    render(root, **snakemake.params.synth)  # `layout` (default cityscapes): synthcity.layouts
