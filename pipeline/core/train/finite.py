"""The checks that stop a fold at the first value that is not a number: in the loss or the
model's output before the step, in the weights after it. Each raises NonFiniteError; the
trainer turns it into one clear line and keeps the files on disk as they were."""

from __future__ import annotations

import torch
from torch import nn

from ..util import distributed
from ..util.errors import NonFiniteError


def check_finite(loss: torch.Tensor, output: torch.Tensor | None = None) -> None:
    """Stop with a NonFiniteError when the loss or the model's output holds a value that is
    not a number, on any process (every rank stops at the same step)."""
    bad = [] if torch.isfinite(loss).all() else [f"the training loss is {loss.item()}"]
    if output is not None and not torch.isfinite(output.detach()).all():
        bad.append("the model's output holds non-finite values")
    if distributed.any_rank(bool(bad)):
        raise NonFiniteError(" and ".join(bad) or "another process met a non-finite value")


def check_weights(modules: list[nn.Module]) -> None:
    """After a step: the modules' weights are all numbers (the same on every rank under DDP)."""
    for module in modules:
        params = [p.detach() for p in module.parameters()]
        if not params:
            continue
        # One fused norm per step (a tenth of the cost of isfinite on each tensor); only a
        # norm that is not finite (a NaN or inf, or huge weights) is looked at closely.
        norms = torch.stack(torch._foreach_norm(params))
        if bool(torch.isfinite(norms).all()):
            continue
        if not all(bool(torch.isfinite(p).all()) for p in params):
            raise NonFiniteError(
                f"the weights of {type(module).__name__} hold non-finite values after the step"
            )


def weights_finite(models: list[nn.Module]) -> bool:
    """Every weight of `models` a number: checked before a checkpoint is written."""
    return all(torch.isfinite(p).all() for m in models for p in m.parameters())
