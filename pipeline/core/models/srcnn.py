"""SRCNN: the three-layer super-resolution CNN (9-1-5), optionally with Network Deconvolution."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register


@register("srcnn")
class SRCNN(nn.Module):
    """SRCNN (Dong et al. 2014, "Learning a Deep Convolutional Network for Image
    Super-Resolution"): patch extraction (f1 x f1 conv to n1 maps, ReLU), non-linear mapping
    (f2 x f2 conv to n2 maps, ReLU), reconstruction (f3 x f3 conv to 3 channels), the 9-1-5
    network with 64 and 32 maps. It predicts the image itself (no residual, no clamp). Convs
    are zero-padded to keep the size, so any H, W works; the paper trains without padding.

    It works at the output resolution: for super-resolution it takes the low-resolution image
    already upsampled by bicubic (the class attribute `bicubic_input`; the trainer upsamples
    with pipeline.core.resize.imresize). For descanning, it takes the scan as it is.

    Args:
        n1, n2: feature maps of the first two layers (default 64, 32).
        f1, f2, f3: kernel sizes, odd (default 9, 1, 5).
        attention: "none", "channel", "spatial" or "cbam" attention after each of the two
            hidden layers (default "none"; see blocks.attention).
        deconv: replace all three convs with Network Deconvolution layers (Ye et al. 2020),
            which whiten their input patches (default False).
        deconv_block: channels per whitening block of those layers, capped at their input
            channels (default 64, the paper's; the reconstruction layer's covariance is then
            800 x 800 at f3 = 5).
    """

    bicubic_input = True

    def __init__(
        self,
        n1: int = 64,
        n2: int = 32,
        f1: int = 9,
        f2: int = 1,
        f3: int = 5,
        attention: str = "none",
        deconv: bool = False,
        deconv_block: int = 64,
    ) -> None:
        super().__init__()
        if any(f % 2 == 0 for f in (f1, f2, f3)):
            raise ValueError(f"srcnn: kernel sizes must be odd, got {f1}-{f2}-{f3}")
        self.body = nn.Sequential(
            blocks.conv_or_deconv(3, n1, f1, deconv, deconv_block),
            nn.ReLU(inplace=True),
            blocks.attention(attention, n1, "srcnn"),
            blocks.conv_or_deconv(n1, n2, f2, deconv, deconv_block),
            nn.ReLU(inplace=True),
            blocks.attention(attention, n2, "srcnn"),
            blocks.conv_or_deconv(n2, 3, f3, deconv, deconv_block),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
