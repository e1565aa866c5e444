"""The leaderboard metric and the pixel metrics reported beside it.

The leaderboard scores one number per image: the mean of the Y channel that OpenCV's
BGR->YUV conversion gives for the 8-bit image exactly as saved (full-range BT.601, rounded to
uint8 by OpenCV's fixed-point code). OpenCV itself computes it here, so the rounding matches.
"""

from __future__ import annotations

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
