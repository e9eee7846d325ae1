"""OpenCV backend: ``cv2.optflow.DualTVL1OpticalFlow`` (opencv-contrib), one pair at a time."""

from __future__ import annotations

import cv2
import numpy as np

from .params import TVL1Params


def create(params: TVL1Params) -> "cv2.optflow.DualTVL1OpticalFlow":
    """An OpenCV DualTVL1 object with ``params``."""
    return cv2.optflow.DualTVL1OpticalFlow_create(
        tau=params.tau,
        lambda_=params.lambda_,
        theta=params.theta,
        nscales=params.nscales,
        warps=params.warps,
        epsilon=params.epsilon,
        innnerIterations=params.inner_iterations,
        outerIterations=params.outer_iterations,
        scaleStep=params.scale_step,
        gamma=params.gamma,
        medianFiltering=params.median_filtering,
        useInitialFlow=False,
    )


class OpenCVTVL1:
    """Forward flow of gray frame pairs with OpenCV's TV-L1 (CPU).

    ``__call__(gray0, gray1)``: (B, H, W) uint8 each -> (B, 2, H, W) float32 pixels (x, y),
    flow from frame 0 to frame 1 (``gray0[y, x] ~ gray1[y + fy, x + fx]``).
    """

    name = "opencv"

    def __init__(self, params: TVL1Params, threads: int | None = None) -> None:
        self.params = params
        if threads:
            cv2.setNumThreads(int(threads))
        self._tvl1 = create(params)

    def __call__(self, gray0: np.ndarray, gray1: np.ndarray) -> np.ndarray:
        gray0, gray1 = np.asarray(gray0), np.asarray(gray1)
        if gray0.ndim == 2:
            return self(gray0[None], gray1[None])[0]
        out = np.empty((gray0.shape[0], 2) + gray0.shape[1:], np.float32)
        for i in range(gray0.shape[0]):
            flow = self._tvl1.calc(np.ascontiguousarray(gray0[i]), np.ascontiguousarray(gray1[i]), None)
            out[i] = flow.transpose(2, 0, 1)
        return out
