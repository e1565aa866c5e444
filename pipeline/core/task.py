"""What `task` changes: the model's input and output scale, the baseline a prediction is
compared with, and the metrics that validation, `infer` and `score` report.

descan keeps the leaderboard metric (mean-Y MAE) and reports nothing more here. sr reports
PSNR and SSIM on MATLAB BT.601 Y with `scale` pixels cropped at each border, against MATLAB
bicubic; deblur, denoise and deflare report RGB PSNR and SSIM with no crop, against the
degraded input unchanged ("identity").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from . import metrics as M
from .errors import UserError
from .models import build_model, model_arguments, needs_bicubic_input
from .resize import imresize, imresize_uint8

# Extra per-image / per-epoch values the non-descanning tasks report.
TASK_METRICS = ("ssim", "baseline_psnr", "baseline_ssim", "gain")


def is_descan(cfg: DictConfig) -> bool:
    return cfg.task.kind == "descan"


def baseline_name(scale: int) -> str:
    """What a prediction is compared with: the input itself, or its MATLAB-bicubic upscale."""
    return "bicubic" if scale > 1 else "identity"


class BicubicInput(nn.Module):
    """A model that works at the output resolution (SRCNN, ARCNN), fed the low-resolution
    input upsampled by MATLAB bicubic (pipeline.core.resize.imresize), so it maps (B,3,h,w) to
    (B,3,h*scale,w*scale) like the upscaling models, for training, validation and tiling."""

    def __init__(self, model: nn.Module, scale: int) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(imresize(x, self.scale))


class BicubicSkip(nn.Module):
    """An upscaling model plus the MATLAB-bicubic upscale of its input (model.bicubic_skip):
    the model predicts only the residual over the baseline, so training starts near bicubic
    instead of from a blank image. A model that adds a mean colour back to its output (EDSR's
    `mean` buffer) has it taken off again: a residual has no mean colour."""

    def __init__(self, model: nn.Module, scale: int) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x) + imresize(x, self.scale)
        mean = getattr(self.model, "mean", None)
        return out if not isinstance(mean, torch.Tensor) else out - mean


def restorer_args(name: str, args: dict[str, Any], scale: int) -> dict[str, Any]:
    """`args` with `scale` set to task.scale for models that take one; a model that can neither
    upscale nor take a bicubic input cannot do super-resolution."""
    args = dict(args)
    if "scale" in model_arguments(name):
        if "scale" in args and args["scale"] != scale:
            raise UserError(
                f"model.args.scale: {args['scale']} differs from task.scale={scale}; "
                "set task.scale instead"
            )
        args["scale"] = scale
    elif scale > 1 and not needs_bicubic_input(name):
        raise UserError(
            f"model.name: {name} does not upscale (no scale argument, no bicubic input), "
            f"so it cannot train task.scale={scale}"
        )
    return args


def build_restorer(
    name: str, args: dict[str, Any], scale: int = 1, bicubic_skip: bool = False
) -> nn.Module:
    """The model as the trainer and `infer` run it: LR in, HR out for scale > 1."""
    model = build_model(name, **args)
    if scale > 1 and needs_bicubic_input(name):
        model = BicubicInput(model, scale)
    if scale > 1 and bicubic_skip:
        model = BicubicSkip(model, scale)
    return model


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
