"""The task a run restores for: descan, deblur, denoise, deflare or sr.

A `Task` knows everything that differs between them: the metrics it reports and which way
each is better, the baseline a prediction is compared with (the input unchanged, or MATLAB
bicubic for super-resolution), the monitor that picks the best epoch by default, the columns
it writes, whether it has a submission CSV, how the leaderboard ranks it, the data layouts it
reads and how its demo degrades a page. Nothing outside this module compares `task.kind` with
a string.

descan is the course competition: the leaderboard metric (mean-Y MAE) and the submission CSV.
sr reports PSNR and SSIM on MATLAB BT.601 Y with `scale` pixels cropped at each border,
against MATLAB bicubic; deblur, denoise and deflare RGB PSNR and SSIM with no crop, against
the degraded input unchanged ("identity").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from ..util.errors import UserError
from ..util.resize import imresize_uint8
from . import degrade
from . import metrics as M

KINDS = ("descan", "deblur", "denoise", "deflare", "sr")
# What a config, a cv.json or a leaderboard row that names no task means: the competition.
DEFAULT_KIND = KINDS[0]

# What every task reports per image and over images: the leaderboard error and pixel metrics.
COMMON_METRICS = ("abs_err", "identity_err", "mean_y_pred", "mean_y_true", "y_mae", "psnr")
# Beside them, for the tasks other than descan: SSIM, the baseline's PSNR and SSIM, and the
# PSNR gain over the baseline.
PSNR_SSIM_METRICS = ("ssim", "baseline_psnr", "baseline_ssim", "gain")
# What `train.monitor` may name (a summary key), and whether lower is better.
MONITORS = {"score": True, "y_mae": True, "psnr": False, "ssim": False}


def finite_mean(values: list[float]) -> float:
    """Mean of the finite values (a perfect prediction has infinite PSNR), inf when none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("inf")


@dataclass(frozen=True)
class Task:
    kind: str = DEFAULT_KIND
    scale: int = 1

    @classmethod
    def of(cls, cfg: DictConfig) -> Task:
        return cls(cfg.task.kind, cfg.task.scale)

    @classmethod
    def named(cls, kind: str | None, scale: int = 1) -> Task:
        """The task a record names (a cv.json's or a leaderboard row's `task`); none named:
        the competition's, as records written before tasks had names."""
        return cls(kind or DEFAULT_KIND, scale)

    @classmethod
    def for_scale(cls, scale: int) -> Task:
        """Super-resolution for an upscaling model, the competition's task otherwise."""
        return cls("sr", scale) if scale > 1 else cls(DEFAULT_KIND, 1)

    # -- what it reports -------------------------------------------------------------------
    @property
    def is_competition(self) -> bool:
        """The descanning competition: its leaderboard metric is the task's metric."""
        return self.kind == "descan"

    @property
    def reports_psnr_ssim(self) -> bool:
        return not self.is_competition

    @property
    def has_submission(self) -> bool:
        """Whether `export` writes a submission CSV (the mean-Y CSV is the competition's)."""
        return self.is_competition

    @property
    def image_metrics(self) -> tuple[str, ...]:
        """The per-image columns of oof_scores.csv and of validation, in order."""
        return COMMON_METRICS + (PSNR_SSIM_METRICS if self.reports_psnr_ssim else ())

    @property
    def monitors(self) -> dict[str, bool]:
        """What train.monitor may name for this task, and whether lower is better."""
        names = ("score", "y_mae", "psnr") + (("ssim",) if self.reports_psnr_ssim else ())
        return {k: MONITORS[k] for k in names}

    @property
    def default_monitor(self) -> str:
        return self.metric

    def monitor(self, name: str) -> str:
        """train.monitor resolved (empty: the task's default) and checked against the task."""
        name = name or self.default_monitor
        if name not in self.monitors:
            raise UserError(
                f"train.monitor: task.kind={self.kind} does not compute '{name}' "
                f"(it offers {', '.join(self.monitors)})"
            )
        return name

    @property
    def metric(self) -> str:
        """The summary key the CV and the leaderboard rank by: the leaderboard's mean-Y error
        for descanning, the task's PSNR for the others."""
        return "score" if self.is_competition else "psnr"

    @property
    def lower_is_better(self) -> bool:
        return MONITORS[self.metric]

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is a better value of the task's metric than `b`."""
        return a < b if self.lower_is_better else a > b

    @property
    def metric_names(self) -> str:
        """How the task's metrics are computed, for printed reports."""
        if self.is_competition:
            return "leaderboard metric: mean-Y MAE"
        return f"Y PSNR/SSIM, border {self.scale}" if self.super_resolves else "RGB PSNR/SSIM"

    def metrics_line(self, values: dict[str, float]) -> str:
        """ "psnr P ssim S   <baseline>: psnr P ssim S   gain +G dB" for printed reports."""
        return (
            f"psnr {values['psnr']:.2f} ssim {values['ssim']:.4f}   {self.baseline_name}: "
            f"psnr {values['baseline_psnr']:.2f} ssim {values['baseline_ssim']:.4f}   "
            f"gain {values['gain']:+.2f} dB"
        )

    # -- the baseline ----------------------------------------------------------------------
    @property
    def baseline_name(self) -> str:
        """What a prediction is compared with: the input itself, or its bicubic upscale."""
        return "bicubic" if self.scale > 1 else "identity"

    def baseline(self, scan: np.ndarray) -> np.ndarray:
        """The prediction to beat: the input unchanged, or MATLAB bicubic for super-resolution."""
        return scan if self.scale == 1 else imresize_uint8(np.ascontiguousarray(scan), self.scale)

    # -- per image ---------------------------------------------------------------------------
    def _psnr_ssim(self, pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
        if self.super_resolves:
            return M.psnr_y(pred, truth, self.scale), M.ssim_y(pred, truth, self.scale)
        return M.psnr_rgb(pred, truth), M.ssim(pred, truth)

    def score(self, pred: np.ndarray, truth: np.ndarray, base: np.ndarray) -> dict[str, float]:
        """One image's row: the leaderboard error of the prediction and of the baseline, the
        pixel metrics, and for the tasks other than descan PSNR and SSIM of both."""
        row = M.image_metrics(pred, truth)
        row["identity_err"] = M.abs_error_of_means(base, truth)
        if self.reports_psnr_ssim:
            psnr, ssim = self._psnr_ssim(pred, truth)
            b_psnr, b_ssim = self._psnr_ssim(base, truth)
            row |= {
                "psnr": psnr,
                "ssim": ssim,
                "baseline_psnr": b_psnr,
                "baseline_ssim": b_ssim,
                "gain": psnr - b_psnr,
            }
        return {k: row[k] for k in self.image_metrics}

    # -- data --------------------------------------------------------------------------------
    @property
    def super_resolves(self) -> bool:
        """Inputs are low resolution, targets `scale` times larger."""
        return self.kind == "sr"

    @property
    def reads_gopro(self) -> bool:
        """Whether data.layout=auto may find the GoPro deblurring layout."""
        return self.kind == "deblur"

    @property
    def demo_degradation(self) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
        """How the task's demo degrades a clean page; None for descanning, whose demo prints
        and scans whole titles with the print-scan simulator."""
        if self.is_competition:
            return None
        scale = self.scale
        return {
            "deblur": degrade.blur,
            "denoise": degrade.noise,
            "deflare": degrade.glare,
            "sr": lambda page, _rng: degrade.downscale(page, scale),
        }[self.kind]


def check_task(cfg: DictConfig) -> Task:
    """task.*, and the settings that must agree with it; returns the Task."""
    kind, scale = cfg.task.kind, cfg.task.scale
    if kind not in KINDS:
        raise UserError(f"task.kind: expected one of {', '.join(KINDS)}, got '{kind}'")
    if scale < 1:
        raise UserError(f"task.scale: must be at least 1, got {scale}")
    task = Task(kind, scale)
    if kind == "sr" and scale < 2:
        raise UserError("task.scale: task.kind=sr needs task.scale of 2 or more")
    if kind != "sr" and scale != 1:
        raise UserError(
            f"task.scale: {scale} asks for super-resolution; set task.kind=sr (got '{kind}')"
        )
    if cfg.demo.task not in ("", *KINDS):
        raise UserError(
            f"demo.task: expected empty (task.kind) or one of {', '.join(KINDS)}, "
            f"got '{cfg.demo.task}'"
        )
    if cfg.data.layout == "gopro" and not task.reads_gopro:
        raise UserError(f"data.layout: the gopro layout is for task.kind=deblur, got '{kind}'")
    if scale == 1 and cfg.model.bicubic_skip:
        raise UserError(
            "model.bicubic_skip: adds a bicubic upscale of the input, which needs task.scale > 1"
        )
    if scale > 1 and cfg.augment.synthetic_p != 0:
        raise UserError(
            "augment.synthetic_p: synthetic scans are same-size descanning inputs; "
            "set it to 0 for task.scale > 1"
        )
    task.monitor(cfg.train.monitor)
    return task
