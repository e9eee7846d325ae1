"""Procedural, tileable texture atlas and its sampling.

Each texture is a (T, T) float32 map with mean 1 (a multiplicative albedo modulation),
made by filtering white noise in the Fourier domain (so it tiles). All textures are stacked
vertically into one atlas with a one-texel wrap-around border, so a single ``cv2.remap``
call samples any mix of textures bilinearly.
"""

from __future__ import annotations

import cv2
import numpy as np

T = 128
"""Texture side, texels."""

# Texture ids.
FINE, BLOTCH, FOLIAGE, GRASS, CLOUD, BARK, GRAIN = range(7)
N_TEX = 7


def _spectral(rng: np.random.Generator, beta: float, aniso: tuple[float, float] = (1.0, 1.0),
              fmin: float = 1.0) -> np.ndarray:
    """(T, T) zero-mean unit-std noise with power ~ 1/f**beta (anisotropic stretch ``aniso``)."""
    fy = np.fft.fftfreq(T)[:, None] * T * aniso[0]
    fx = np.fft.fftfreq(T)[None, :] * T * aniso[1]
    f = np.sqrt(fx**2 + fy**2)
    amp = 1.0 / np.maximum(f, fmin) ** (beta / 2)
    amp[0, 0] = 0.0
    spec = amp * np.fft.fft2(rng.standard_normal((T, T)))
    img = np.real(np.fft.ifft2(spec))
    return (img - img.mean()) / (img.std() + 1e-9)


def make_atlas(seed: int) -> np.ndarray:
    """((T + 2) * N_TEX, T + 2) float32 atlas of all textures for dataset ``seed``."""
    rng = np.random.default_rng([seed, 7001])
    tex = np.empty((N_TEX, T, T), np.float32)
    tex[FINE] = 1 + 0.5 * _spectral(rng, 0.6)
    tex[BLOTCH] = 1 + 0.5 * _spectral(rng, 2.6)
    leaves = _spectral(rng, 1.4) + 0.6 * _spectral(rng, 0.8)
    tex[FOLIAGE] = np.clip(1 + 0.55 * np.tanh(1.3 * leaves), 0.25, 1.8)
    tex[GRASS] = 1 + 0.5 * _spectral(rng, 1.0, aniso=(0.25, 1.0))
    tex[CLOUD] = _spectral(rng, 3.0)
    tex[BARK] = 1 + 0.6 * _spectral(rng, 1.2, aniso=(0.15, 1.0))
    tex[GRAIN] = 1 + 0.5 * _spectral(rng, 0.2)
    atlas = np.empty((N_TEX * (T + 2), T + 2), np.float32)
    for k in range(N_TEX):
        atlas[k * (T + 2) : (k + 1) * (T + 2)] = np.pad(tex[k], 1, mode="wrap")
    return atlas


def sample(atlas: np.ndarray, tex_id: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear sample of textures ``tex_id`` at texel coordinates ``(u, v)`` (wrapping).

    All arguments are (N,) arrays; returns (N,) float32.
    """
    n = u.size
    if n == 0:
        return np.empty(0, np.float32)
    mx = (np.mod(u, T) + 1).astype(np.float32)
    my = (np.mod(v, T) + 1 + tex_id * (T + 2)).astype(np.float32)
    # cv2.remap maps are limited to 32767 columns: lay the samples out in rows of _ROW
    cols = min(n, _ROW)
    rows = -(-n // cols)
    pad = rows * cols - n
    mx, my = np.pad(mx, (0, pad), mode="edge"), np.pad(my, (0, pad), mode="edge")
    out = cv2.remap(atlas, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.ravel()[:n]


_ROW = 4096
