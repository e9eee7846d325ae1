"""The base class of errors a user can fix: printed as one line, without a traceback.

A workflow script (``tagseg.logs.configure``) and the ``tagseg`` CLI print such an error as one
line naming the file or config key and what to do; any other exception is a bug and keeps its
traceback. Subclass it (alongside ``ValueError`` & co.) for errors about inputs, config and
artifacts.
"""

from __future__ import annotations


class TagsegError(Exception):
    """A bad input, config value or artifact; its message is one line that says what to do."""
