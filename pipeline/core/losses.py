"""Training losses by name. Each maps (prediction, target) in [0, 1] to a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier loss (a smooth L1), as in LapSRN and MPRNet."""
    return torch.sqrt((pred - target) ** 2 + eps**2).mean()


LOSSES: dict[str, LossFn] = {"l1": F.l1_loss, "mse": F.mse_loss, "charbonnier": charbonnier}


def build_loss(name: str) -> LossFn:
    if name not in LOSSES:
        raise UserError(f"train.loss: unknown loss '{name}' (known: {', '.join(sorted(LOSSES))})")
    return LOSSES[name]
