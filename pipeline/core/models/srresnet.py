"""SRResNet: the SRGAN generator, residual blocks with BatchNorm and PReLU, x2 sub-pixel stages."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import register


class SRResBlock(nn.Module):
    """SRGAN's residual block: conv3x3-BN-PReLU-conv3x3-BN (optional attention), plus the
    input. Convs before BN have no bias (BN's shift replaces it)."""

    def __init__(self, c: int, attention: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.PReLU(c),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            blocks.attention(attention, c, "srresnet"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register("srresnet")
class SRResNet(nn.Module):
    """SRResNet, the generator of SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image
    Super-Resolution Using a Generative Adversarial Network"): 9x9 conv + PReLU, n_blocks
    residual blocks (conv-BN-PReLU-conv-BN + skip), conv3x3-BN added to the first layer's
    output, log2(scale) upsampling stages (conv3x3 to 4x the maps, PixelShuffle(2), PReLU;
    one PixelShuffle(3) stage for x3), and a 9x9 conv to RGB. PReLUs have one slope per
    channel. The output is linear (the paper's tanh is left out, images are in [0, 1]) and not
    clamped. Maps (B,3,h,w) to (B,3,h*scale,w*scale), any h, w.

    Trained alone with a pixel loss it is SRResNet; with the content loss plus 1e-3 x the
    adversarial loss of `srgan_discriminator` it is SRGAN.

    Args:
        scale: upscaling factor, 1, 2, 3, 4 or 8 (default 4, the paper's).
        n_feats: feature maps throughout (default 64).
        n_blocks: residual blocks (default 16).
        attention: "none", "channel", "spatial" or "cbam" attention at the end of each
            residual branch (default "none"; see blocks.attention).
    """

    def __init__(
        self, scale: int = 4, n_feats: int = 64, n_blocks: int = 16, attention: str = "none"
    ) -> None:
        super().__init__()
        blocks.check_scale("srresnet", scale)
        self.head = nn.Sequential(nn.Conv2d(3, n_feats, 9, padding=4), nn.PReLU(n_feats))
        self.body = nn.Sequential(
            *(SRResBlock(n_feats, attention) for _ in range(n_blocks)),
            nn.Conv2d(n_feats, n_feats, 3, padding=1, bias=False),
            nn.BatchNorm2d(n_feats),
        )
        self.upsample = blocks.pixel_shuffle_upsampler(n_feats, scale, nn.PReLU)
        self.tail = nn.Conv2d(n_feats, 3, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(x)
        y = y + self.body(y)
        return self.tail(self.upsample(y))
