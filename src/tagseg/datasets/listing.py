"""The file list of a Cityscapes-layout tree: the input that lets Snakemake see a dataset change.

The `manifest` rule of a dataset the user unpacks (kind ``cityscapes``) reads a tree that no rule
writes, so it had no input files and its manifest went stale: a snippet added to the tree was
never seen, a frame restored after an error kept failing. Its input is now
``results/{dataset}/tree/files.txt``, written by :func:`update` while Snakemake builds the
DAG (an input function, so on every run, dry runs included): the sorted list of the files the
manifest is made from, rewritten only when it differs from the one on disk. Its mtime thus
changes exactly when a frame, a ground-truth file or a flowGt file is added, removed or
renamed, or a ground-truth / annotated frame / flowGt file is replaced (size or mtime), and
Snakemake then reruns the manifest and exactly what depends on it; an unchanged tree reruns
nothing.

Listed (for the splits in ``shards``), as a digest per city folder:
``leftImg8bit_sequence/{split}/{city}/*_leftImg8bit.png``, ``gtFine/{split}/{city}/*_gtFine_labelIds.png``
and ``flowGt/{split}/{city}/*.h5``, names matched ignoring case (so a mis-cased file is seen,
and named by the manifest's error). Files the manifest reads (ground truth, annotated frames,
flowGt) count with their size and mtime; the other frames with their name only (no stat call
for the ~100 000 Cityscapes sequence frames).

Torch-free: imported when the Snakefile is parsed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import TagsegError
from ..h5io import atomic_path
from ..plan import results_dir

FORMAT = "# tagseg dataset file list v1"
FRAME_SUFFIX = "_leftimg8bit.png"
GT_SUFFIX = "_gtfine_labelids.png"


def listing_path(dataset: str) -> str:
    """Where the file list of ``dataset`` lives (relative to the Snakemake working directory).

    In a folder of its own: Snakemake lists the folders of its targets once, before the input
    function writes the file, and would otherwise take a new file list for a missing one."""
    return f"{results_dir(dataset)}/tree/files.txt"


def _names(d: Path, lines: list[str]) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []
    except OSError as e:  # unreadable: recorded, so that fixing it changes the list
        lines.append(f"# unreadable {d}: {e.strerror}")
        return []


def _stat(p: Path) -> str:
    try:
        st = p.stat()
    except OSError as e:
        return f"\t{e.strerror}"
    return f"\t{st.st_size}\t{st.st_mtime_ns}"


def scan(root: str | os.PathLike, splits: Iterable[str]) -> str:
    """The file list of the tree at ``root`` for ``splits``, as text (see the module docstring).

    One line per city folder: ``{sub}/{split}/{city}``, the number of files listed and a sha256
    of their names (with size and mtime where they are read), so that the list stays small
    (~300 lines for Cityscapes): Snakemake keeps checksums of inputs under 1 MB, and a tree
    changed back to what the manifest was made from then reruns nothing.
    """
    root = Path(root)
    lines = [f"{FORMAT} root={root}"]
    if not root.is_dir():
        lines.append("# root missing")
        return "\n".join(lines) + "\n"
    for split in splits:
        gt_stems: set[str] = set()
        for sub, suffix in (("gtFine", GT_SUFFIX), ("leftImg8bit_sequence", FRAME_SUFFIX),
                            ("flowGt", ".h5")):
            base = root / sub / split
            for city in _names(base, lines):
                digest, n = hashlib.sha256(), 0
                for name in _names(base / city, lines):
                    low = name.lower()
                    if not low.endswith(suffix):
                        continue
                    stem = low[: -len(suffix)]
                    if sub == "gtFine":
                        gt_stems.add(stem)
                    entry = name
                    if sub != "leftImg8bit_sequence" or stem in gt_stems:
                        entry += _stat(base / city / name)
                    digest.update(entry.encode() + b"\n")
                    n += 1
                lines.append(f"{sub}/{split}/{city}\t{n}\t{digest.hexdigest()[:32]}")
    return "\n".join(lines) + "\n"


def update(root: str | os.PathLike, splits: Iterable[str], out: str | os.PathLike) -> bool:
    """Write the file list of ``root`` to ``out`` if it differs from what ``out`` holds.

    Returns whether it was written, atomically with the user's umask (:func:`tagseg.h5io.atomic_path`).
    """
    out = Path(out)
    text = scan(root, splits)
    try:
        if out.read_text() == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    try:
        with atomic_path(out, suffix=".tmp") as tmp:
            tmp.write_text(text)
    except OSError as e:
        raise TagsegError(f"cannot write the dataset's file list {out}: {e.strerror}; make "
                          f"{out.parent} writable (chmod u+w) or run in another working "
                          f"directory") from None
    return True
