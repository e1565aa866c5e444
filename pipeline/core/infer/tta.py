"""The 8 dihedral views of an image (4 rotations x optional mirror) for test-time augmentation."""

from __future__ import annotations

import torch


def view(x: torch.Tensor, k: int) -> torch.Tensor:
    """View k of a (..., H, W) tensor: mirrored left-right if k >= 4, then k % 4 quarter turns."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def unview(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of `view`: unview(view(x, k), k) == x."""
    x = torch.rot90(x, -(k % 4), dims=(-2, -1))
    if k >= 4:
        x = x.flip(-1)
    return x
