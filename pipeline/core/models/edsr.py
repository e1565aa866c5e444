"""EDSR: residual blocks without BatchNorm, residual scaling, sub-pixel upsampling."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register

# EDSR subtracts the DIV2K training set's mean colour first and adds it back at the end.
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


class EDSRBlock(nn.Module):
    """EDSR's residual block: conv3x3-ReLU-conv3x3 with no BatchNorm (it removes range
    flexibility and costs memory, the paper argues), optional attention, the branch scaled by
    res_scale before it is added to the input."""

    def __init__(
        self, c: int, res_scale: float, attention: str, deconv: bool, deconv_block: int
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            blocks.conv_or_deconv(c, c, 3, deconv, deconv_block),
            nn.ReLU(inplace=True),
            blocks.conv_or_deconv(c, c, 3, deconv, deconv_block),
            blocks.attention(attention, c, "edsr"),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


@register("edsr")
class EDSR(nn.Module):
    """EDSR (Lim et al. 2017, "Enhanced Deep Residual Networks for Single Image
    Super-Resolution"): mean colour removed, a 3x3 head conv, n_blocks residual blocks without
    BatchNorm (each branch scaled by res_scale) and a 3x3 conv, added to the head's output
    (global skip), then sub-pixel upsampling (one x3 stage, or x2 stages) and a 3x3 conv to
    RGB, mean added back; no clamp. Maps (B,3,h,w) to (B,3,h*scale,w*scale), any h, w.
    The defaults are the paper's EDSR-baseline (1.37M parameters at x2).

    With deconv=True every conv inside the residual blocks is a Network Deconvolution layer
    (Ye et al. 2020, "Network Deconvolution"), which whitens its input patches with batch
    statistics in training and running ones at eval (see deconv.Deconv2d).

    Args:
        scale: upscaling factor, 1 (same-size restoration), 2, 3, 4 or 8 (default 2).
        n_feats: feature maps throughout (default 64).
        n_blocks: residual blocks (default 16).
        res_scale: factor on each residual branch, 0.1 in the paper's large model for stable
            training (default 0.1).
        attention: "none", "channel", "spatial" or "cbam" attention at the end of each
            residual branch (default "none"; see blocks.attention).
        deconv: Network Deconvolution in place of the residual blocks' convs (default False).
        deconv_block: channels per whitening block; the covariance is (9 * block)^2
            (default 64, the paper's; 16 makes each layer's statistics about 4 times cheaper,
            which matters on a CPU).
    """

    def __init__(
        self,
        scale: int = 2,
        n_feats: int = 64,
        n_blocks: int = 16,
        res_scale: float = 0.1,
        attention: str = "none",
        deconv: bool = False,
        deconv_block: int = 64,
    ) -> None:
        super().__init__()
        blocks.check_scale("edsr", scale)
        self.register_buffer("mean", torch.tensor(DIV2K_MEAN).view(1, 3, 1, 1))
        self.head = nn.Conv2d(3, n_feats, 3, padding=1)
        self.body = nn.Sequential(
            *(
                EDSRBlock(n_feats, res_scale, attention, deconv, deconv_block)
                for _ in range(n_blocks)
            ),
            nn.Conv2d(n_feats, n_feats, 3, padding=1),
        )
        self.upsample = blocks.pixel_shuffle_upsampler(n_feats, scale)
        self.tail = nn.Conv2d(n_feats, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(x - self.mean)
        y = y + self.body(y)
        return self.tail(self.upsample(y)) + self.mean
