"""The leaderboard metric and the pixel metrics reported beside it.

The leaderboard scores one number per image: the mean of the Y channel that OpenCV's
BGR->YUV conversion gives for the 8-bit image exactly as saved (full-range BT.601, rounded to
uint8 by OpenCV's fixed-point code). OpenCV itself computes it here, so the rounding matches.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np


def y_channel(rgb: np.ndarray) -> np.ndarray:
    """The uint8 Y plane of an HxWx3 uint8 RGB image, as the leaderboard computes it."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 0]


def mean_y(rgb: np.ndarray) -> float:
    """The per-image value the submission carries: mean of the uint8 Y plane."""
    return float(y_channel(rgb).mean(dtype=np.float64))


def abs_error_of_means(pred: np.ndarray, truth: np.ndarray) -> float:
    """One image's contribution to the leaderboard MAE."""
    return abs(mean_y(pred) - mean_y(truth))


def y_mae(pred: np.ndarray, truth: np.ndarray) -> float:
    """Per-pixel mean absolute error of the uint8 Y planes (a local, not a global, error)."""
    return float(
        np.abs(y_channel(pred).astype(np.int16) - y_channel(truth).astype(np.int16)).mean()
    )


def psnr(pred: np.ndarray, truth: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB over all channels; infinite for identical images."""
    mse = float(np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def image_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Everything reported per image: the leaderboard error and the pixel metrics."""
    py, ty = mean_y(pred), mean_y(truth)
    return {
        "mean_y_pred": py,
        "mean_y_true": ty,
        "abs_err": abs(py - ty),
        "y_mae": y_mae(pred, truth),
        "psnr": psnr(pred, truth),
    }


# Super-resolution, deblurring and denoising conventions (BasicSR's calculate_psnr/ssim):
# PSNR and SSIM on the MATLAB BT.601 Y of super-resolution papers, with `scale` pixels cropped
# at each border, or on RGB with no crop. Images are HxWx3 uint8 RGB, values on the 0..255 scale.


def y_bt601(rgb: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr's Y of an HxWx3 uint8 RGB image: 16 + 65.481 R + 128.553 G + 24.966 B
    with RGB in [0, 1], so studio range 16..235, in float64 and not rounded (as BasicSR's
    test_y_channel; rounding to uint8 as MATLAB does for uint8 input lowers Set5 x2 bicubic
    PSNR by 0.03 dB)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB, got {rgb.shape}")
    x = rgb.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """`img` without `border` pixels on each side (the SR convention: border = scale)."""
    if border < 0:
        raise ValueError(f"crop border must be >= 0, got {border}")
    if border == 0:
        return img
    if min(img.shape[:2]) <= 2 * border:
        raise ValueError(
            f"image of {img.shape[1]}x{img.shape[0]} has nothing left after a "
            f"crop border of {border}"
        )
    return img[border:-border, border:-border]


def _ssim_plane(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two float64 planes on the 0..255 scale (Wang et al. 2004, as their MATLAB
    ssim_index): 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, statistics only
    where the window fits inside the image ('valid')."""
    if min(a.shape) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels, got {a.shape[1]}x{a.shape[0]}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    window = g @ g.T

    def local_mean(x: np.ndarray) -> np.ndarray:
        return cv2.filter2D(x, -1, window)[5:-5, 5:-5]

    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a = local_mean(a * a) - mu_a**2
    var_b = local_mean(b * b) - mu_b**2
    cov = local_mean(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def psnr_y(pred: np.ndarray, truth: np.ndarray, crop_border: int = 0) -> float:
    """PSNR in dB of the MATLAB BT.601 Y planes, peak 255, `crop_border` pixels cropped."""
    return psnr(shave(y_bt601(pred), crop_border), shave(y_bt601(truth), crop_border))


def ssim_y(pred: np.ndarray, truth: np.ndarray, crop_border: int = 0) -> float:
    """SSIM of the MATLAB BT.601 Y planes, `crop_border` pixels cropped."""
    return _ssim_plane(shave(y_bt601(pred), crop_border), shave(y_bt601(truth), crop_border))


def ssim(pred: np.ndarray, truth: np.ndarray, crop_border: int = 0) -> float:
    """SSIM of RGB images: the mean of the three channels' SSIM, `crop_border` pixels cropped."""
    a = shave(pred, crop_border).astype(np.float64)
    b = shave(truth, crop_border).astype(np.float64)
    return float(np.mean([_ssim_plane(a[..., c], b[..., c]) for c in range(3)]))


def psnr_rgb(pred: np.ndarray, truth: np.ndarray, crop_border: int = 0) -> float:
    """PSNR in dB over the RGB channels, `crop_border` pixels cropped (0 for deblurring)."""
    return psnr(shave(pred, crop_border), shave(truth, crop_border))


def y_mae_cropped(pred: np.ndarray, truth: np.ndarray, crop_border: int = 0) -> float:
    """y_mae (the leaderboard's OpenCV full-range Y, per pixel), `crop_border` pixels cropped."""
    return y_mae(shave(pred, crop_border), shave(truth, crop_border))


# The metrics `pipeline.evaluate` takes by name: fn(pred, truth, crop_border) on uint8 RGB.
PAIR_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, int], float]] = {
    "psnr_y": psnr_y,
    "ssim_y": ssim_y,
    "psnr": psnr_rgb,
    "ssim": ssim,
    "y_mae": y_mae_cropped,
}
