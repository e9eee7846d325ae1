"""Logging set-up shared by workflow scripts and the CLI."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import TracebackType

from .errors import TagsegError


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def configure(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log to stderr and, when given, to ``log_file`` (the rule's ``log:``); returns the 'tagseg' logger.

    Also turns SIGTERM (what Snakemake and Slurm send to cancel a job) into ``SystemExit`` so
    that the atomic writers in :mod:`tagseg.h5io` remove their temporary files on the way out,
    and makes an uncaught :class:`tagseg.errors.TagsegError` end the script with its message as
    one ERROR line (stderr and ``log_file``, no traceback) and exit status 1.
    """
    signal.signal(signal.SIGTERM, _terminate)
    sys.excepthook = _one_line_errors
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return logging.getLogger("tagseg")


def _one_line_errors(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: a :class:`TagsegError` is logged as one line; anything else as usual."""
    if issubclass(kind, TagsegError):
        logging.getLogger("tagseg").error("%s", " ".join(str(exc).split("\n")))
    else:
        sys.__excepthook__(kind, exc, tb)
