"""TV-L1 parameters shared by both backends (same names and meanings as OpenCV's DualTVL1)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class TVL1Params:
    """Zach-Pock-Bischof TV-L1 parameters (Sánchez et al., IPOL 2013; OpenCV ``DualTVL1``).

    tau: dual time step; lambda_: data-term weight (config key ``lambda``); theta: coupling
    of u and v; nscales: pyramid levels (coarsest level kept >= 16 px); warps: warpings per
    level; epsilon: stopping threshold (mean squared update, pixels); inner_iterations /
    outer_iterations: iterations per warp (median filter between outer ones); scale_step:
    pyramid down-scaling factor; gamma: weight of the illumination term (0 = off);
    median_filtering: median kernel size on the flow (<= 1 = off).
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.5
    gamma: float = 0.0
    median_filtering: int = 5

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "TVL1Params":
        """From a ``flow.tvl1`` config mapping (``lambda`` spelled as in config)."""
        known = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for key, value in cfg.items():
            name = "lambda_" if key == "lambda" else key
            if name not in known:
                raise ValueError(f"config key 'flow.tvl1.{key}' is not a TV-L1 parameter")
            kw[name] = value
        p = cls(**kw)
        if not 0 < p.scale_step < 1:
            raise ValueError(f"config key 'flow.tvl1.scale_step' must be in (0, 1), got {p.scale_step}")
        if p.median_filtering > 1 and p.median_filtering % 2 == 0:
            raise ValueError("config key 'flow.tvl1.median_filtering' must be odd (or <= 1 for off)")
        return p

    def to_config(self) -> dict[str, Any]:
        d = asdict(self)
        d["lambda"] = d.pop("lambda_")
        return d
