"""DnCNN: a plain full-resolution conv stack that predicts the degradation to subtract."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register


@register("dncnn")
class DnCNN(nn.Module):
    """DnCNN (Zhang et al. 2017, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for
    Image Denoising"): conv+ReLU, then (conv+BN+ReLU) x (depth-2), then a conv to the image
    channels. The stack predicts the residual (the "noise") and the output is input - residual,
    as in the paper; it is not clamped. No downsampling, so any H, W works without padding.

    The first and last convs have a bias (nothing normalises after them; the last one's bias lets
    the net shift the page's overall brightness); the middle convs have none, as BN follows.

    Args:
        depth: number of conv layers in total, at least 2 (default 17, the paper's).
        channels: width of every hidden layer (default 64).
        in_channels: image channels in and out (default 3).
        attention: "none", "channel", "spatial" or "cbam" attention after each middle layer
            (default "none"; see blocks.attention).
    """

    def __init__(
        self, depth: int = 17, channels: int = 64, in_channels: int = 3, attention: str = "none"
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"dncnn: depth must be at least 2, got {depth}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            if attention != "none":  # no Identity layers: the layer indices stay as they were
                layers.append(blocks.attention(attention, channels, "dncnn"))
        layers.append(nn.Conv2d(channels, in_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)
