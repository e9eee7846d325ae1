"""Pinhole camera: world frame X right, Y up, Z forward (along the street), metres.

Camera coordinates follow OpenCV: x right, y down, z forward. Pixel coordinates put
integer values at pixel centres (column ``u`` = x index, row ``v`` = y index), the same
convention as ``cv2.remap``, so a flow ``(du, dv)`` at pixel ``(u, v)`` points at the
continuous position ``(u + du, v + dv)`` of the next frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

NEAR = 0.05
"""Near clipping distance, metres (camera z)."""


@dataclass
class Camera:
    """One camera pose and its intrinsics.

    ``R``: (3, 3) world -> camera matrix (rows: right, down, forward in world coordinates);
    ``C``: (3,) camera centre in world coordinates, metres; ``f``: focal length in pixels;
    ``cx, cy``: principal point, pixels; ``width, height``: image size, pixels.
    """

    R: np.ndarray
    C: np.ndarray
    f: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def K(self) -> np.ndarray:
        """(3, 3) intrinsic matrix."""
        return np.array([[self.f, 0, self.cx], [0, self.f, self.cy], [0, 0, 1]], dtype=np.float64)

    def ray_dirs(self) -> np.ndarray:
        """(3, H*W) float64 world ray directions of all pixel centres, row-major.

        Directions are scaled so that their camera-z component is 1: the ray parameter
        ``t`` of a hit is its camera depth in metres.
        """
        return self.R.T @ _cam_rays(self.width, self.height, self.f, self.cx, self.cy)[0]

    def ray_lengths(self) -> np.ndarray:
        """(H*W,) float32 lengths of :meth:`ray_dirs` (metres of ray per metre of depth)."""
        return _cam_rays(self.width, self.height, self.f, self.cx, self.cy)[1]

    def to_cam(self, P: np.ndarray) -> np.ndarray:
        """(3, N) world points -> (3, N) camera coordinates."""
        return self.R @ (P - self.C[:, None])

    def project(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(3, N) world points -> pixel ``u``, ``v`` and camera depth ``z`` (each (N,))."""
        X = self.to_cam(P)
        z = X[2]
        zs = np.where(np.abs(z) < 1e-9, 1e-9, z)
        return self.f * X[0] / zs + self.cx, self.f * X[1] / zs + self.cy, z

    def project_dirs(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project (3, N) world directions (points at infinity): rotation only."""
        X = self.R @ D
        z = X[2]
        zs = np.where(np.abs(z) < 1e-9, 1e-9, z)
        return self.f * X[0] / zs + self.cx, self.f * X[1] / zs + self.cy, z


def orientation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """World -> camera matrix for a camera looking along +Z turned by ``yaw`` (to the right,
    radians), ``pitch`` (up) and ``roll`` (clockwise in the image)."""
    fwd = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    return look_dir(fwd, roll)


def look_dir(fwd: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """World -> camera matrix for viewing direction ``fwd`` with world up (+Y) kept up."""
    f = np.asarray(fwd, dtype=np.float64)
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 1.0, 0.0])
    r = np.cross(up, f)
    if np.linalg.norm(r) < 1e-6:  # looking straight up or down
        r = np.array([1.0, 0.0, 0.0])
    r = r / np.linalg.norm(r)
    u = np.cross(f, r)
    if roll:
        c, s = np.cos(roll), np.sin(roll)
        r, u = c * r - s * u, s * r + c * u
    return np.stack([r, -u, f])


def intrinsics(width: int, height: int, focal: float) -> tuple[float, float, float]:
    """Focal length (pixels) and principal point for ``focal`` = f / width."""
    return focal * width, (width - 1) / 2.0, (height - 1) / 2.0


@lru_cache(maxsize=8)
def _cam_rays(width: int, height: int, f: float, cx: float, cy: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame pixel rays (3, H*W) with z = 1 and their lengths (H*W,); read-only."""
    v, u = np.mgrid[0:height, 0:width]
    dc = np.stack([(u.ravel() - cx) / f, (v.ravel() - cy) / f, np.ones(u.size)])
    dn = np.sqrt((dc * dc).sum(0)).astype(np.float32)
    dc.flags.writeable = False
    dn.flags.writeable = False
    return dc, dn
