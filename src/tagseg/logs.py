"""Logging set-up shared by workflow scripts and the CLI."""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from types import TracebackType

from .errors import TagsegError


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _one_line(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: a :class:`TagsegError` is logged as one line (its message names the
    file or config key and what to do); its traceback goes to log files only. Others as usual."""
    if not isinstance(value, TagsegError):
        sys.__excepthook__(etype, value, tb)
        return
    logging.getLogger("tagseg").error("%s", " ".join(str(value).split("\n")))
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            h.acquire()
            try:
                h.stream.write("".join(traceback.format_exception(etype, value, tb)))
                h.flush()
            finally:
                h.release()


def configure(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log to stderr and, when given, to ``log_file`` (the rule's ``log:``); returns the 'tagseg' logger.

    Also turns SIGTERM (what Snakemake and Slurm send to cancel a job) into ``SystemExit`` so
    that the atomic writers in :mod:`tagseg.h5io` remove their temporary files on the way out,
    and makes an uncaught :class:`tagseg.errors.TagsegError` end the process (exit status 1)
    with one log line and no traceback on stderr (the traceback goes to ``log_file``).
    """
    signal.signal(signal.SIGTERM, _terminate)
    sys.excepthook = _one_line
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
