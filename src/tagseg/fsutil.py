"""File modes and writability: artifacts get the user's umask; unwritable folders fail early.

``tempfile.mkstemp`` / ``mkdtemp`` create 0600 files and 0700 folders whatever the umask, and
the atomic writers rename those into place, so without :func:`apply_umask` every artifact
would be private. The umask is read from ``/proc/self/status`` (Linux ≥ 4.7): that read
changes nothing, so it cannot race with other threads creating files, unlike the usual
``os.umask(0)`` + restore, which leaves the process with umask 0 for a moment. Without
``/proc`` (macOS) the umask is read that way once, on first use, and cached; the moment in
between uses 022, so a file another thread creates then gets the common default at worst.

Torch-free: imported when the Snakefile is parsed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path


@functools.lru_cache(maxsize=1)
def _umask_by_syscall() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def umask() -> int:
    """The process's current umask (read without changing it where ``/proc`` allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_by_syscall()


def apply_umask(path: str | os.PathLike, folder: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would have: 0666 (folders 0777) less
    the umask. For the files and folders ``tempfile`` creates private (0600 / 0700)."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def unwritable_folders(paths: Iterable[str | os.PathLike]) -> dict[Path, Path]:
    """Folders that must be written to create or replace ``paths`` but cannot be: for each path,
    the nearest existing folder above it (its parent, or where ``mkdir -p`` would start). Returns
    {folder: first path that needs it}, in the order met."""
    bad: dict[Path, Path] = {}
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        folder = _nearest_existing(p.parent if str(p.parent) else Path("."))
        if folder in seen:
            continue
        seen.add(folder)
        if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            bad[folder] = p
    return bad


def writable_problem(paths: Iterable[str | os.PathLike]) -> str | None:
    """One line naming the first folder :func:`unwritable_folders` finds, or None."""
    bad = unwritable_folders(paths)
    if not bad:
        return None
    folder, path = next(iter(bad.items()))
    what = "not a folder" if folder.exists() and not folder.is_dir() else "not writable"
    more = f" (and {len(bad) - 1} more folders)" if len(bad) > 1 else ""
    return (f"tagseg: cannot write {path}: folder {folder} is {what}{more}; "
            f"make it writable (chmod u+w {folder}) or choose another working directory")
