"""ARCNN: the four-layer artifact-reduction CNN (9-7-1-5) with PReLU."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register


@register("arcnn")
class ARCNN(nn.Module):
    """ARCNN (Dong et al. 2015, "Compression Artifacts Reduction by a Deep Convolutional
    Network"): feature extraction (9x9 conv, 64 maps), feature enhancement (7x7, 32), mapping
    (1x1, 16), reconstruction (5x5, to 3 channels), each hidden layer followed by a PReLU with
    one slope per channel (He et al. 2015) in place of the paper's ReLU. It predicts the image
    itself (no residual, no clamp); convs are zero-padded, so any H, W works.

    Like SRCNN it works at the output resolution (class attribute `bicubic_input`): for
    super-resolution it takes the bicubic-upsampled low-resolution image.

    Args:
        channels: feature maps of the three hidden layers (default (64, 32, 16)).
        kernels: kernel sizes of the four layers, odd (default (9, 7, 1, 5)).
        attention: "none", "channel", "spatial" or "cbam" attention after each hidden layer
            (default "none"; see blocks.attention).
    """

    bicubic_input = True

    def __init__(
        self,
        channels: tuple[int, int, int] = (64, 32, 16),
        kernels: tuple[int, int, int, int] = (9, 7, 1, 5),
        attention: str = "none",
    ) -> None:
        super().__init__()
        if len(channels) != 3 or len(kernels) != 4:
            raise ValueError(
                f"arcnn: expected 3 channel counts and 4 kernel sizes, got {list(channels)} "
                f"and {list(kernels)}"
            )
        if any(k % 2 == 0 for k in kernels):
            raise ValueError(f"arcnn: kernel sizes must be odd, got {list(kernels)}")
        layers: list[nn.Module] = []
        c_in = 3
        for c, k in zip(channels, kernels[:3], strict=True):
            layers += [
                nn.Conv2d(c_in, c, k, padding=k // 2),
                nn.PReLU(c),
                blocks.attention(attention, c, "arcnn"),
            ]
            c_in = c
        layers.append(nn.Conv2d(c_in, 3, kernels[3], padding=kernels[3] // 2))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
