"""Dataset layouts the synthetic world can be written in (``tagseg synth --layout NAME``).

:data:`LAYOUTS` maps a layout name to ``(module, function)``: the function renders a tree of
that layout into a root folder, with keyword parameters of its own (each module's docstring).
``cityscapes`` is :func:`synthcity.render` (video snippets, label ids, exact flow, iconic
images); other layouts add one module here and one entry below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

LAYOUTS: dict[str, tuple[str, str]] = {
    "cityscapes": ("synthcity.dataset", "render"),
    "voc": ("synthcity.layouts.voc", "render"),
}
"""Layout name -> (module, render function); imported on first use."""


def renderer(layout: str) -> Callable[..., dict[str, Any]]:
    """The render function of ``layout``; an unknown name raises ``ValueError`` listing them."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown synthcity layout {layout!r}; known: {', '.join(LAYOUTS)}")
    module, fn = LAYOUTS[layout]
    return getattr(importlib.import_module(module), fn)
