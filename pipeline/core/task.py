"""What `task` changes: the model's input and output scale, the baseline a prediction is
compared with, and the metrics that validation, `infer` and `score` report.

descan keeps the leaderboard metric (mean-Y MAE) and reports nothing more here. sr reports
PSNR and SSIM on MATLAB BT.601 Y with `scale` pixels cropped at each border, against MATLAB
bicubic; deblur, denoise and deflare report RGB PSNR and SSIM with no crop, against the
degraded input unchanged ("identity").
"""

from __future__ import annotations

import math

import numpy as np
from omegaconf import DictConfig

from . import metrics as M
from .resize import imresize_uint8

# Extra per-image / per-epoch values the non-descanning tasks report.
TASK_METRICS = ("ssim", "baseline_psnr", "baseline_ssim", "gain")


def is_descan(cfg: DictConfig) -> bool:
    return cfg.task.kind == "descan"


def baseline_name(scale: int) -> str:
    """What a prediction is compared with: the input itself, or its MATLAB-bicubic upscale."""
    return "bicubic" if scale > 1 else "identity"


def baseline(scan: np.ndarray, scale: int) -> np.ndarray:
    """The prediction to beat: the input unchanged, or MATLAB bicubic for super-resolution."""
    return scan if scale == 1 else imresize_uint8(np.ascontiguousarray(scan), scale)


def _psnr_ssim(pred: np.ndarray, truth: np.ndarray, kind: str, scale: int) -> tuple[float, float]:
    if kind == "sr":
        return M.psnr_y(pred, truth, scale), M.ssim_y(pred, truth, scale)
    return M.psnr_rgb(pred, truth), M.ssim(pred, truth)


def task_metrics(
    pred: np.ndarray, truth: np.ndarray, base: np.ndarray, kind: str, scale: int
) -> dict[str, float]:
    """PSNR and SSIM of a prediction and of the baseline, and the PSNR gain (empty for
    descan, whose metric is the leaderboard's)."""
    if kind == "descan":
        return {}
    psnr, ssim = _psnr_ssim(pred, truth, kind, scale)
    b_psnr, b_ssim = _psnr_ssim(base, truth, kind, scale)
    return {
        "psnr": psnr,
        "ssim": ssim,
        "baseline_psnr": b_psnr,
        "baseline_ssim": b_ssim,
        "gain": psnr - b_psnr,
    }


def finite_mean(values: list[float]) -> float:
    """Mean of the finite values (a perfect prediction has infinite PSNR), inf when none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("inf")


def metrics_line(values: dict[str, float], scale: int) -> str:
    """ "psnr P ssim S   <baseline>: psnr P ssim S   gain +G dB" for printed reports."""
    return (
        f"psnr {values['psnr']:.2f} ssim {values['ssim']:.4f}   {baseline_name(scale)}: "
        f"psnr {values['baseline_psnr']:.2f} ssim {values['baseline_ssim']:.4f}   "
        f"gain {values['gain']:+.2f} dB"
    )


def metric_names(kind: str, scale: int) -> str:
    """How the task's PSNR and SSIM are computed, for printed reports."""
    return f"Y PSNR/SSIM, border {scale}" if kind == "sr" else "RGB PSNR/SSIM"
