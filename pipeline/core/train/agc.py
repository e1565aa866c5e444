"""Adaptive gradient clipping: each unit's gradient held to a fraction of its weights' norm."""

from __future__ import annotations

import torch
from torch import nn

# Transposed convs store their weight as (in, out, kh, kw): the output unit is axis 1.
_OUTPUT_AXIS_1 = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def last_layer(model: nn.Module) -> nn.Module:
    """The model's output layer, taken as the last module, in registration order, that holds
    parameters of its own. Every architecture in the registry registers its output layer last
    (tests/test_agc.py checks this against the order in which layers run)."""
    found = None
    for module in model.modules():
        if next(module.parameters(recurse=False), None) is not None:
            found = module
    if found is None:
        raise ValueError("the model has no parameters")
    return found


def _unit_norms(t: torch.Tensor, output_axis: int) -> torch.Tensor:
    """L2 norm per output unit, shaped to broadcast against t; one norm for a vector."""
    if t.ndim <= 1:
        return t.norm()
    dims = tuple(d for d in range(t.ndim) if d != output_axis)
    return torch.linalg.vector_norm(t, dim=dims, keepdim=True)


@torch.no_grad()
def adaptive_clip_grad_(
    model: nn.Module, clip: float = 0.01, eps: float = 1e-3, skip_last: bool = True
) -> int:
    """Adaptive gradient clipping (Brock et al. 2021, "High-Performance Large-Scale Image
    Recognition Without Normalization", NFNets), unit-wise and in place: wherever a unit's
    gradient norm exceeds clip * max(its weight norm, eps), the gradient is scaled down to that
    norm. A unit is one output unit of a weight (a row of a linear layer, one output channel's
    filter of a conv, transposed convs included) or a whole vector (bias, norm scale, PReLU
    slope). The output layer is left alone by default, as in the paper. Call it after
    backward() (after scaler.unscale_(optimizer) under mixed precision) and before
    optimizer.step().

    Args:
        model: the model whose parameters' .grad are clipped.
        clip: the clipping factor lambda (default 0.01, the paper's for large batches).
        eps: floor on the weight norm, so zero-initialised units can still move (default 1e-3).
        skip_last: leave the output layer (last_layer(model)) unclipped (default True).

    Returns the number of units whose gradient was clipped.
    """
    skipped = last_layer(model) if skip_last else None
    clipped = []
    for module in model.modules():
        if module is skipped:
            continue
        for name, p in module.named_parameters(recurse=False):
            if p.grad is None:
                continue
            axis = 1 if isinstance(module, _OUTPUT_AXIS_1) and name == "weight" else 0
            max_norm = _unit_norms(p.detach().float(), axis).clamp(min=eps) * clip
            grad_norm = _unit_norms(p.grad.float(), axis)
            over = grad_norm > max_norm
            scale = torch.where(over, max_norm / grad_norm.clamp(min=1e-12), 1.0)
            p.grad.mul_(scale.to(p.grad.dtype))
            clipped.append(over.sum())
    # Counted on the device and read once: one synchronisation per call, not per parameter.
    return int(torch.stack(clipped).sum()) if clipped else 0
