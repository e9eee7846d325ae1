"""Dataset layouts the renderer writes: ``tagseg synth --layout NAME`` / ``synth.layout``.

:data:`LAYOUTS` maps a layout name to the module whose ``render(root, **params)`` writes it
(the same parameters as :func:`synthcity.dataset.render`, which writes the Cityscapes layout)
and returns the summary it writes last to ``root/synthcity.json``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

LAYOUTS: dict[str, str] = {
    "cityscapes": "synthcity.dataset",
    "camvid": "synthcity.layouts.camvid",
}
"""Layout name -> module with its ``render`` (imported on first use)."""


def render(root: str | os.PathLike, layout: str = "cityscapes", **params: Any) -> dict[str, Any]:
    """Render the street world into ``root`` in ``layout``; an unknown layout raises
    ``ValueError`` naming the known ones."""
    if layout not in LAYOUTS:
        raise ValueError(f"synthcity: unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return importlib.import_module(LAYOUTS[layout]).render(root, **params)
