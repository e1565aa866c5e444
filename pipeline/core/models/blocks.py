"""Blocks several architectures share: CBAM attention, sub-pixel upsampling, deconv-or-conv."""

from __future__ import annotations

import torch
from torch import nn

from .deconv import Deconv2d

ATTENTION = ("none", "channel", "spatial", "cbam")


class ChannelAttention(nn.Module):
    """CBAM's channel attention (Woo et al. 2018, "CBAM: Convolutional Block Attention Module"):
    a shared MLP (1x1 convs, C -> C/reduction -> C, ReLU between) applied to the global average
    and the global max of each channel; their sum through a sigmoid scales the channels."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        peak = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """CBAM's spatial attention: the mean and the max over channels, stacked, a 7x7 conv and a
    sigmoid give one weight per pixel."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


def attention(kind: str, channels: int, model: str) -> nn.Module:
    """The attention a model's `attention` argument names, for `channels` feature maps:
    "none" (identity, no parameters), "channel", "spatial", or "cbam" (channel then spatial,
    as in the CBAM paper). `model` names the model in the error for any other value."""
    if kind == "none":
        return nn.Identity()
    if kind == "channel":
        return ChannelAttention(channels)
    if kind == "spatial":
        return SpatialAttention()
    if kind == "cbam":
        return nn.Sequential(ChannelAttention(channels), SpatialAttention())
    raise ValueError(f"{model}: attention must be one of {', '.join(ATTENTION)}, got '{kind}'")


def check_scale(model: str, scale: int) -> None:
    """Scales the sub-pixel upsamplers build: 1 (none), 3, or a power of two."""
    if not isinstance(scale, int) or scale < 1 or (scale != 3 and scale & (scale - 1)):
        raise ValueError(f"{model}: scale must be 1, 3 or a power of two, got {scale}")


def pixel_shuffle_upsampler(
    channels: int, scale: int, activation: type[nn.Module] | None = None
) -> nn.Sequential:
    """Sub-pixel upsampling (Shi et al. 2016, ESPCN): a 3x3 conv to channels * r^2 and
    PixelShuffle(r), once with r = 3 for x3 or log2(scale) times with r = 2 (as EDSR and
    SRResNet), each stage optionally followed by `activation(channels)` (SRResNet's PReLU).
    Empty for scale 1."""
    stages = [3] if scale == 3 else [2] * (scale.bit_length() - 1)
    layers: list[nn.Module] = []
    for r in stages:
        layers += [nn.Conv2d(channels, channels * r * r, 3, padding=1), nn.PixelShuffle(r)]
        if activation is not None:
            layers.append(activation(channels))
    return nn.Sequential(*layers)


def conv_or_deconv(c_in: int, c_out: int, kernel_size: int, deconv: bool, block: int) -> nn.Conv2d:
    """A 'same'-padded conv, or the Network Deconvolution layer in its place."""
    if deconv:
        return Deconv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, block=block)
    return nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2)
