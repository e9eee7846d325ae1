"""Which frames of a snippet each stage uses (torch-free: imported when the Snakefile is parsed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_FLOW_L = 10


def flow_window(L: int, center: int = 0) -> list[int]:
    """Frame offsets (pair starts) of the flow stack centred on ``center``: (c − ⌊L/2⌋, c + ⌊L/2⌋]."""
    return list(range(center - L // 2 + 1, center + L // 2 + 1))


def needed_offsets(config: Mapping[str, Any]) -> list[int]:
    """Offsets later stages need: ``frames.train_offsets`` ∪ the flow window of the annotated frame.

    With L = ``flow.L`` (default 10) that is −4..5 (Saleh et al.: frames 16..25 of 30), sorted.
    """
    L = int((config.get("flow") or {}).get("L", DEFAULT_FLOW_L))
    return sorted(set(int(o) for o in config["frames"]["train_offsets"]) | set(flow_window(L)))
