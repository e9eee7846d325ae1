"""The dataset layouts the renderer writes, by name (``tagseg synth --layout NAME``, and the
``layout`` key the rule ``synthesize`` adds for a rendered dataset of another kind).

Each entry is ``render(root, **params) -> summary dict``; it writes the layout of a real
release, exactly (file names, formats, label encodings), atomically into ``root``, with the
:data:`synthcity.MARKER` file and ``synthcity.json`` written last. Add a layout with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dataset import render as _cityscapes
from .camvid import render as _camvid
from .voc import render as _voc
from .youtube_objects import render as _youtube_objects

LAYOUTS: dict[str, Callable[..., dict[str, Any]]] = {
    "cityscapes": _cityscapes,
    "youtube_objects": _youtube_objects,
    "camvid": _camvid,
    "voc": _voc,
}
"""Layout name -> its renderer."""


def renderer(layout: str) -> Callable[..., dict[str, Any]]:
    """The renderer of ``layout``; an unknown layout raises ``ValueError`` naming the known ones."""
    if layout not in LAYOUTS:
        raise ValueError(f"synthcity: unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


def render(root: Any, layout: str = "cityscapes", **params: Any) -> dict[str, Any]:
    """Render ``layout`` into ``root``; an unknown layout raises ``ValueError`` naming the known ones."""
    return renderer(layout)(root, **params)
