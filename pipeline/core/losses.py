"""Training losses by name. Each maps (prediction, target) in [0, 1] to a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Full-range BT.601 luma weights, as in the leaderboard's BGR->YUV conversion.
_LUMA = (0.299, 0.587, 0.114)


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier loss (a smooth L1), as in LapSRN and MPRNet."""
    return torch.sqrt((pred - target) ** 2 + eps**2).mean()


def mean_y_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Absolute difference of each (B,3,H,W) sample's mean luma, averaged over the batch: the
    leaderboard metric of a patch, in [0, 1] units."""
    luma = pred.new_tensor(_LUMA).view(1, 3, 1, 1)
    return ((pred - target) * luma).sum(1).mean(dim=(-2, -1)).abs().mean()


def l1_mean_y(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 plus the patch's mean-luma error. L1 alone pulls each pixel to the median of what it
    could be, which is biased wherever the clean value is uncertain (text edges, halftone dots);
    the second term holds the mean, which is all the leaderboard scores, unbiased."""
    return F.l1_loss(pred, target) + mean_y_error(pred, target)


LOSSES: dict[str, LossFn] = {
    "l1": F.l1_loss,
    "mse": F.mse_loss,
    "charbonnier": charbonnier,
    "l1_mean_y": l1_mean_y,
}


def build_loss(name: str) -> LossFn:
    if name not in LOSSES:
        raise UserError(f"train.loss: unknown loss '{name}' (known: {', '.join(sorted(LOSSES))})")
    return LOSSES[name]
