"""The base class of errors that are the user's to fix (a bad input, config key or artifact).

A :class:`TagsegError`'s message is one line that names the file or config key and says what
to do. Workflow scripts (through :func:`tagseg.logs.configure`) print it as that one line,
without a Python traceback (the rule's log file keeps the traceback for debugging).
"""

from __future__ import annotations


class TagsegError(Exception):
    """An error in the user's inputs, config or artifacts; the message says what to do."""
