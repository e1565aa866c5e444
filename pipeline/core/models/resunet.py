"""ResNet-U-Net: a U-Net whose stages are residual blocks, predicting a clamped correction."""

from __future__ import annotations

import torch
from torch import nn

from . import blocks
from .registry import pad_to_multiple, register

LEVELS = 4  # encoder levels, each ending in a 2x2 max-pool


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "bn" else nn.Identity()


class ResBlock(nn.Module):
    """Residual block (He et al. 2016, "Deep Residual Learning for Image Recognition"):
    conv3x3-norm-ReLU-dropout-conv3x3-norm (then the optional attention, where CBAM puts it),
    plus the input (through a 1x1 conv when the width changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, norm: str, dropout: float, attention: str) -> None:
        super().__init__()
        bias = norm == "none"  # a bias right before BN is wasted
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias),
            _norm(norm, c_out),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=bias),
            _norm(norm, c_out),
            blocks.attention(attention, c_out, "resunet"),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


@register("resunet")
class ResUNet(nn.Module):
    """ResNet-U-Net: the U-Net layout (Ronneberger et al. 2015, "U-Net: Convolutional Networks
    for Biomedical Image Segmentation") built from ResNet residual blocks (He et al. 2016).

    Encoder: 4 levels of widths base, 2*base, 4*base, 8*base, each a residual block followed by
    a 2x2 max-pool. Bottleneck: 4 residual blocks at 8*base (kept at the last level's width, not
    doubled, which holds the parameter count to about a quarter). Decoder: per level a 2x2
    stride-2 transposed conv, concatenation with the encoder's features and a residual block.
    Head: conv3x3 + ReLU, then conv7x7 to 3 channels, a residual added to the input; the output
    is clamped to [0, 1]. H, W are reflect-padded to a multiple of 16 and the output cropped.

    Args:
        base: width of the first level (default 16).
        dropout: dropout probability between the two convs of every residual block (default 0.0,
            none).
        norm: "bn" for BatchNorm after each conv of a residual block, or "none" (default "bn").
        attention: "none", "channel", "spatial" or "cbam" attention at the end of every
            residual block's branch (default "none"; see blocks.attention).
    """

    def __init__(
        self, base: int = 16, dropout: float = 0.0, norm: str = "bn", attention: str = "none"
    ) -> None:
        super().__init__()
        if norm not in ("bn", "none"):
            raise ValueError(f"resunet: norm must be 'bn' or 'none', got '{norm}'")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"resunet: dropout must be in [0, 1), got {dropout}")
        widths = [base * 2**i for i in range(LEVELS)]

        self.encoders = nn.ModuleList()
        c_in = 3
        for c in widths:
            self.encoders.append(ResBlock(c_in, c, norm, dropout, attention))
            c_in = c
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = nn.Sequential(
            *(ResBlock(c_in, c_in, norm, dropout, attention) for _ in range(4))
        )

        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for c in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(c_in, c, 2, stride=2))
            self.decoders.append(ResBlock(2 * c, c, norm, dropout, attention))
            c_in = c

        self.head = nn.Sequential(
            nn.Conv2d(base, base, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(base, 3, 7, padding=3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, 2**LEVELS)
        y = inp
        skips = []
        for encoder in self.encoders:
            y = encoder(y)
            skips.append(y)
            y = self.pool(y)
        y = self.bottleneck(y)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            y = decoder(torch.cat([up(y), skip], dim=1))
        out = (inp + self.head(y)).clamp(0.0, 1.0)
        return out[..., :h, :w]
