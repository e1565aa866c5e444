"""MATLAB-style bicubic resizing, the baseline and the input upsampler of super-resolution.

Super-resolution benchmarks make their low-resolution images with MATLAB's
`imresize(img, 1/s, 'bicubic')` and report the bicubic baseline with `imresize(lr, s)`. OpenCV's
and PyTorch's bicubic use the same cubic but neither widens the kernel when shrinking
(MATLAB's antialiasing) nor handles the border the same way, and give Set5 PSNRs about 0.3 dB
off the published table. This module follows MATLAB's imresize.m: the cubic convolution kernel
with a = -0.5 (Keys 1981), stretched by 1/scale when downscaling, pixel centres mapped by
u = x / scale + (1 - 1 / scale) / 2, taps past the border mirrored (symmetric), weights
normalised to sum to 1, rows resized before columns. For uint8 images MATLAB rounds after
each pass, and so does imresize_uint8: it reproduces Set5's LR_bicubic files bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as in MATLAB."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def output_length(length: int, scale: float) -> int:
    """MATLAB's output size, ceil(length * scale), robust to 1/3 * 255 = 84.99999999999999."""
    return math.ceil(round(length * scale, 9))


def contributions(
    in_length: int, out_length: int, scale: float, antialias: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel along one axis: the input indices it reads (0-based, mirrored at the
    borders) and their weights, both (out_length, taps). A port of imresize.m's contributions()."""
    if scale < 1 and antialias:
        width = 4.0 / scale

        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)

    else:
        width = 4.0
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)  # 1-based, as in MATLAB
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    # Mirror out-of-range taps: the sequence 1..n, n..1 repeated.
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    return indices, weights


def _resize_axis(x: torch.Tensor, dim: int, out_length: int, scale: float) -> torch.Tensor:
    indices, weights = contributions(x.shape[dim], out_length, scale)
    idx = torch.from_numpy(indices).to(x.device)
    w = torch.from_numpy(weights).to(device=x.device, dtype=x.dtype)
    x = x.movedim(dim, -1)
    gathered = x[..., idx]  # (..., out_length, taps)
    return (gathered * w).sum(-1).movedim(-1, dim)


def _resize(x: torch.Tensor, scale: float, to_uint8: bool) -> torch.Tensor:
    if scale <= 0:
        raise ValueError(f"imresize: scale must be positive, got {scale}")
    for dim in (x.ndim - 2, x.ndim - 1):  # rows first, as MATLAB does for equal scales
        x = _resize_axis(x, dim, output_length(x.shape[dim], scale), scale)
        if to_uint8:
            # Saturate, then round half away from zero as MATLAB does (torch.round rounds half
            # to even); for values >= 0 that is floor(x + 0.5).
            x = torch.floor(x.clamp(0, 255) + 0.5)
    return x


def imresize(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Resize the last two axes of a float tensor (..., H, W) by `scale` with MATLAB's bicubic,
    to (..., ceil(H * scale), ceil(W * scale)). Differentiable; runs on x's device and dtype.
    Neither rounded nor clamped (bicubic overshoots at edges)."""
    if not x.is_floating_point():
        raise ValueError(f"imresize: expected a float tensor, got {x.dtype}")
    return _resize(x, scale, to_uint8=False)


def imresize_uint8(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Resize an HxWxC uint8 image by `scale` exactly as MATLAB's imresize(rgb, scale) does:
    computed in float64, each of the two passes rounded and saturated to uint8."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise ValueError(f"expected HxWxC uint8, got {rgb.shape} {rgb.dtype}")
    x = torch.from_numpy(rgb.astype(np.float64)).permute(2, 0, 1)
    return _resize(x, scale, to_uint8=True).permute(1, 2, 0).numpy().astype(np.uint8)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop an HxW(xC) image at the bottom and right to sides that are multiples of `scale`, as
    SR benchmarks do before making (and scoring against) a low-resolution version: Set5's
    512x512 baby has a 170x170 x3 LR image and is scored as 510x510."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]
