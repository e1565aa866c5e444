"""Light RDN: residual dense blocks, global feature fusion, sub-pixel or transposed upsampling."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register

UPSAMPLERS = ("pixelshuffle", "transposed")


class ResidualDenseBlock(nn.Module):
    """RDN's residual dense block: `layers` conv3x3+ReLU, each seeing the block's input and
    every earlier layer's output (dense connections, `growth` new maps each), a 1x1 conv fusing
    them all back to `channels` (local feature fusion), optional attention, plus the block's
    input (local residual learning)."""

    def __init__(self, channels: int, growth: int, layers: int, attention: str) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + i * growth, growth, 3, padding=1), nn.ReLU(True))
            for i in range(layers)
        )
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)
        self.attention = blocks.attention(attention, channels, "rdn")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.convs:
            features.append(conv(torch.cat(features, dim=1)))
        return x + self.attention(self.fuse(torch.cat(features, dim=1)))


def _transposed_upsampler(channels: int, scale: int) -> nn.Module:
    """One transposed conv from h to h * scale: kernel scale + 2p, stride scale, padding p =
    scale // 2, so neighbouring outputs overlap (no blocky kernel-sized tiles)."""
    if scale == 1:
        return nn.Identity()
    pad = scale // 2
    return nn.ConvTranspose2d(channels, channels, scale + 2 * pad, stride=scale, padding=pad)


@register("rdn")
class RDN(nn.Module):
    """A light Residual Dense Network (Zhang et al. 2018, "Residual Dense Network for Image
    Super-Resolution"): two 3x3 convs of shallow features, n_blocks residual dense blocks (each
    n_layers densely connected conv+ReLU of `growth` maps, 1x1 local fusion, local residual),
    global feature fusion (1x1 conv over all blocks' outputs, then 3x3), plus the first conv's
    features (global residual learning), upsampling, and a 3x3 conv to RGB; no clamp. The
    paper's RDN has 20 blocks of 8 layers (22M parameters); this light one defaults to 5 blocks
    of 4 layers. Maps (B,3,h,w) to (B,3,h*scale,w*scale), any h, w; scale 1 restores at the
    same size (light scatter, camera quality).

    Args:
        scale: upscaling factor; 1, 2, 3, 4 or 8 with "pixelshuffle", any positive integer with
            "transposed" (default 2).
        channels: feature maps between blocks, the paper's G0 (default 64).
        growth: maps each dense layer adds, the paper's G (default 32).
        n_blocks: residual dense blocks, the paper's D (default 5).
        n_layers: conv layers per block, the paper's C (default 4).
        upsampler: "pixelshuffle" (conv + PixelShuffle stages, as the paper) or "transposed"
            (one transposed conv) (default "pixelshuffle").
        attention: "none", "channel", "spatial" or "cbam" attention in each block, before its
            local residual (default "none"; see blocks.attention).
    """

    def __init__(
        self,
        scale: int = 2,
        channels: int = 64,
        growth: int = 32,
        n_blocks: int = 5,
        n_layers: int = 4,
        upsampler: str = "pixelshuffle",
        attention: str = "none",
    ) -> None:
        super().__init__()
        if upsampler not in UPSAMPLERS:
            raise ValueError(
                f"rdn: upsampler must be one of {', '.join(UPSAMPLERS)}, got '{upsampler}'"
            )
        if upsampler == "pixelshuffle":
            blocks.check_scale("rdn", scale)
            self.upsample = blocks.pixel_shuffle_upsampler(channels, scale)
        else:
            if not isinstance(scale, int) or scale < 1:
                raise ValueError(f"rdn: scale must be a positive integer, got {scale}")
            self.upsample = _transposed_upsampler(channels, scale)
        self.sfe1 = nn.Conv2d(3, channels, 3, padding=1)
        self.sfe2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.blocks = nn.ModuleList(
            ResidualDenseBlock(channels, growth, n_layers, attention) for _ in range(n_blocks)
        )
        self.gff = nn.Sequential(
            nn.Conv2d(n_blocks * channels, channels, 1),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.sfe1(x)
        y = self.sfe2(shallow)
        outputs = []
        for block in self.blocks:
            y = block(y)
            outputs.append(y)
        y = self.gff(torch.cat(outputs, dim=1)) + shallow
        return self.tail(self.upsample(y))
