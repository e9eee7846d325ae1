"""TV-L1 optical flow in PyTorch, batched over frame pairs, on CUDA or CPU.

The algorithm is OpenCV's ``DualTVL1OpticalFlow`` (itself Sánchez, Meinhardt-Llopis and
Facciolo, "TV-L1 Optical Flow Estimation", IPOL 2013, after Zach, Pock and Bischof 2007),
step by step: a pyramid of bilinear down-scalings by ``scale_step`` (coarsest level >= 16 px),
zero flow at the coarsest level; per level, ``warps`` warpings of frame 1 and its centred
gradient with bicubic interpolation (``grid_sample``, zero outside the image as OpenCV's
``remap``); per warping, up to ``outer_iterations`` x ``inner_iterations`` steps of the
thresholding (v), primal (u) and Chambolle dual (p) updates, a median filter on u before each
outer iteration, stopping when the mean squared update of u falls under ``epsilon**2``.
Each pair of the batch stops on its own (converged pairs are frozen, as OpenCV would stop).
No OpenCV is needed; no pip wheel of OpenCV has CUDA, this module is the GPU path.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .params import TVL1Params

_FLT_EPS = float(np.finfo(np.float32).eps)


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 255] -> (B, H, W) gray, OpenCV's weights (0.299, 0.587, 0.114)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float32, device=rgb.device)
    return torch.einsum("bchw,c->bhw", rgb.float(), w)


def centered_gradient(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, H, W) -> d/dx, d/dy by central differences; half one-sided differences at borders."""
    p = F.pad(img, (1, 1, 1, 1), mode="replicate")
    dx = 0.5 * (p[..., 1:-1, 2:] - p[..., 1:-1, :-2])
    dy = 0.5 * (p[..., 2:, 1:-1] - p[..., :-2, 1:-1])
    return dx, dy


def forward_gradient(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> forward differences in x and y, zero on the last column / row."""
    ux = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1, 0, 0))
    uy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return ux, uy


def divergence(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Backward-difference divergence (the negative adjoint of :func:`forward_gradient`)."""
    div = px + py
    div[..., :, 1:] -= px[..., :, :-1]
    div[..., 1:, :] -= py[..., :-1, :]
    return div


def median_filter(u: torch.Tensor, k: int, max_elems: int = 1 << 26, use_opencv: bool | None = None) -> torch.Tensor:
    """k x k median of each channel of (B, C, H, W), replicated borders (as cv2.medianBlur).

    On CPU tensors with k in (3, 5) OpenCV's SIMD ``medianBlur`` is used (about 20x faster
    than a sort per pixel; ``use_opencv=False`` forces the torch path); elsewhere a torch
    median over unfolded k x k windows, ``max_elems`` window elements at a time.
    """
    if use_opencv is None:
        use_opencv = u.device.type == "cpu" and k in (3, 5)
    if use_opencv:
        import cv2

        arr = u.detach().float().contiguous().numpy()
        out_np = np.empty_like(arr)
        for i in range(arr.shape[0]):
            for c in range(arr.shape[1]):
                out_np[i, c] = cv2.medianBlur(arr[i, c], k)
        return torch.from_numpy(out_np)
    r = k // 2
    b, c, h, w = u.shape
    step = max(1, max_elems // max(1, c * h * w * k * k))
    out = []
    for i in range(0, b, step):
        x = F.pad(u[i : i + step], (r, r, r, r), mode="replicate")
        patches = x.unfold(2, k, 1).unfold(3, k, 1).reshape(x.shape[0], c, h, w, k * k)
        out.append(patches.median(dim=-1).values)
    return torch.cat(out) if len(out) > 1 else out[0]


def _pyramid_sizes(h: int, w: int, p: TVL1Params) -> list[tuple[int, int]]:
    sizes = [(h, w)]
    for _ in range(1, p.nscales):
        ph, pw = sizes[-1]
        nh, nw = int(round(ph * p.scale_step)), int(round(pw * p.scale_step))
        if nh < 16 or nw < 16:
            break
        sizes.append((nh, nw))
    return sizes


def _warp(stack: torch.Tensor, u: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Sample (B, K, h, w) ``stack`` at x + u (pixels), bicubic, zero outside the image."""
    h, w = stack.shape[-2:]
    gx = (base[0] + u[:, 0]) * (2.0 / (w - 1)) - 1.0
    gy = (base[1] + u[:, 1]) * (2.0 / (h - 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(stack, grid, mode="bicubic", padding_mode="zeros", align_corners=True)


def _one_scale(I0: torch.Tensor, I1: torch.Tensor, u: torch.Tensor, p: TVL1Params) -> torch.Tensor:
    """TV-L1 at one pyramid level. I0, I1: (B, 1, h, w); u: (B, C, h, w), C = 2 (+1 with gamma)."""
    b, c, h, w = u.shape
    dev = u.device
    use_gamma = c == 3
    scaled_eps = p.epsilon**2 * h * w
    l_t = p.lambda_ * p.theta
    taut = p.tau / p.theta
    I1x, I1y = centered_gradient(I1)
    stack = torch.cat((I1, I1x, I1y), dim=1)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=dev),
        torch.arange(w, dtype=torch.float32, device=dev),
        indexing="ij",
    )
    base = torch.stack((xs, ys))
    px = torch.zeros_like(u)
    py = torch.zeros_like(u)
    for _ in range(p.warps):
        warped = _warp(stack, u, base)
        I1w, I1wx, I1wy = warped[:, 0:1], warped[:, 1:2], warped[:, 2:3]
        grad = I1wx * I1wx + I1wy * I1wy
        rho_c = I1w - I1wx * u[:, 0:1] - I1wy * u[:, 1:2] - I0
        if use_gamma:
            Ig = torch.cat((I1wx, I1wy, torch.full_like(I1wx, p.gamma)), dim=1)
        else:
            Ig = torch.cat((I1wx, I1wy), dim=1)
        has_grad = grad > _FLT_EPS
        inv_grad = torch.where(has_grad, 1.0 / torch.where(has_grad, grad, torch.ones_like(grad)), torch.zeros_like(grad))
        active = torch.ones(b, dtype=torch.bool, device=dev)
        all_active = True
        for _outer in range(p.outer_iterations):
            if p.median_filtering > 1:
                filtered = median_filter(u[:, :2], p.median_filtering)
                if not all_active:
                    filtered = torch.where(active.view(b, 1, 1, 1), filtered, u[:, :2])
                u = torch.cat((filtered, u[:, 2:]), dim=1) if use_gamma else filtered
            for _inner in range(p.inner_iterations):
                rho = rho_c + (Ig * u).sum(dim=1, keepdim=True)
                # thresholding step (v): the L1 data term, pointwise (OpenCV's estimateV)
                fi = torch.where(has_grad, (-rho * inv_grad).clamp_(-l_t, l_t), torch.sign(rho).mul_(-l_t))
                # primal step (u): v + theta * div p
                u_new = u + fi * Ig
                u_new += p.theta * divergence(px, py)
                err = (u_new - u).square_().sum(dim=(1, 2, 3))
                if all_active:
                    u = u_new
                else:
                    u = torch.where(active.view(b, 1, 1, 1), u_new, u)
                # dual step (p): Chambolle's projection
                ux, uy = forward_gradient(u)
                ng = torch.sqrt(ux * ux + uy * uy).mul_(taut).add_(1.0)
                npx = (px + taut * ux).div_(ng)
                npy = (py + taut * uy).div_(ng)
                if all_active:
                    px, py = npx, npy
                else:
                    a4 = active.view(b, 1, 1, 1)
                    px, py = torch.where(a4, npx, px), torch.where(a4, npy, py)
                active = active & (err > scaled_eps)
                n_active = int(active.sum())
                all_active = n_active == b
                if n_active == 0:
                    break
            if not all_active and not bool(active.any()):
                break
    return u


@torch.no_grad()
def tvl1_flow(gray0: torch.Tensor, gray1: torch.Tensor, params: TVL1Params) -> torch.Tensor:
    """Forward TV-L1 flow of B gray pairs.

    gray0, gray1: (B, H, W), intensities in [0, 255] (uint8 or float), on any device.
    Returns (B, 2, H, W) float32 pixels (x, y) on the same device:
    ``gray0[y, x] ~ gray1[y + flow_y, x + flow_x]``.
    """
    if gray0.shape != gray1.shape or gray0.ndim != 3:
        raise ValueError(f"tvl1_flow: need two (B, H, W) tensors of one shape, got {tuple(gray0.shape)} and {tuple(gray1.shape)}")
    b, h, w = gray0.shape
    I0 = gray0.float()[:, None]
    I1 = gray1.float()[:, None]
    sizes = _pyramid_sizes(h, w, params)
    pyr0, pyr1 = [I0], [I1]
    for sz in sizes[1:]:
        pyr0.append(F.interpolate(pyr0[-1], size=sz, mode="bilinear", align_corners=False))
        pyr1.append(F.interpolate(pyr1[-1], size=sz, mode="bilinear", align_corners=False))
    c = 3 if params.gamma != 0 else 2
    u = torch.zeros((b, c) + sizes[-1], dtype=torch.float32, device=I0.device)
    for s in range(len(sizes) - 1, -1, -1):
        u = _one_scale(pyr0[s], pyr1[s], u, params)
        if s == 0:
            break
        (fh, fw), (ch, cw) = sizes[s - 1], sizes[s]
        u = F.interpolate(u, size=(fh, fw), mode="bilinear", align_corners=False)
        # flow is in pixels of the level: rescale x and y by the size ratio (not u3)
        scale = torch.tensor([fw / cw, fh / ch] + [1.0] * (c - 2), device=u.device).view(1, c, 1, 1)
        u = u * scale
    return u[:, :2].contiguous()


class TorchTVL1:
    """Batched TV-L1 flow of gray frame pairs, in PyTorch.

    ``__call__(gray0, gray1)``: (B, H, W) uint8 arrays -> (B, 2, H, W) float32 numpy, pixels;
    processed ``batch_size`` pairs at a time on ``device`` (a torch.device).
    """

    name = "torch"

    def __init__(
        self, params: TVL1Params, device: torch.device | str = "cpu", batch_size: int = 8
    ) -> None:
        self.params = params
        self.device = torch.device(device)
        self.batch_size = max(1, int(batch_size))

    def __call__(self, gray0: np.ndarray, gray1: np.ndarray) -> np.ndarray:
        gray0, gray1 = np.asarray(gray0), np.asarray(gray1)
        if gray0.ndim == 2:
            return self(gray0[None], gray1[None])[0]
        out = []
        # the dual updates drive many values into float32 denormals, which make CPU arithmetic
        # ~20x slower; flush them to zero while we run (restored to torch's default after)
        flush = self.device.type == "cpu" and torch.set_flush_denormal(True)
        try:
            for i in range(0, gray0.shape[0], self.batch_size):
                g0 = torch.from_numpy(np.ascontiguousarray(gray0[i : i + self.batch_size])).to(self.device)
                g1 = torch.from_numpy(np.ascontiguousarray(gray1[i : i + self.batch_size])).to(self.device)
                out.append(tvl1_flow(g0, g1, self.params).cpu().numpy())
        finally:
            if flush:
                torch.set_flush_denormal(False)
        return np.concatenate(out).astype(np.float32, copy=False)
