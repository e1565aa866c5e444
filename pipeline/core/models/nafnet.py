"""NAFNet: the nonlinear-activation-free U-shaped restoration baseline."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .registry import pad_to_multiple, register


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of each pixel of a (B,C,H,W) tensor, with a per-channel affine.

    Goes through F.layer_norm on a channels-last view rather than NAFNet's hand-written mean and
    variance, so autocast runs it in float32 and autograd needs no custom backward."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


class SimpleGate(nn.Module):
    """NAFNet's replacement for the activation: split the channels in two halves, multiply."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """NAFNet block: LayerNorm, 1x1 conv, 3x3 depthwise conv, SimpleGate, simplified channel
    attention (global pool + 1x1 conv, multiplied in), 1x1 conv; then a LayerNorm + 1x1 conv +
    SimpleGate + 1x1 conv feed-forward. Both branches are residual, scaled by learned per-channel
    factors (beta, gamma) that start at zero so the block starts as the identity."""

    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = c * dw_expand
        self.norm1 = LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.sg = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))

        ffn = c * ffn_expand
        self.norm2 = LayerNorm2d(c)
        self.conv4 = nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + x * self.gamma


@register("nafnet")
class NAFNet(nn.Module):
    """NAFNet (Chen et al. 2022, "Simple Baselines for Image Restoration"): a 3x3 conv in, then a
    U-Net of NAFBlocks (2x2 stride-2 conv to go down and double the width; 1x1 conv + PixelShuffle
    to go up and halve it; skips added, not concatenated), a 3x3 conv out, and the input added
    back (global residual; the output is not clamped). H, W are reflect-padded to a multiple of
    2**len(enc_blocks) and the output cropped, as in the paper's check_image_size.

    Args:
        width: channels at full resolution, doubled at each level down (default 16).
        enc_blocks: NAFBlocks at each encoder level; its length is the number of levels
            (default (1, 1, 1, 1)).
        middle_blocks: NAFBlocks at the lowest resolution (default 1).
        dec_blocks: NAFBlocks at each decoder level, deepest first; same length as enc_blocks
            (default (1, 1, 1, 1)).
    """

    def __init__(
        self,
        width: int = 16,
        enc_blocks: Sequence[int] = (1, 1, 1, 1),
        middle_blocks: int = 1,
        dec_blocks: Sequence[int] = (1, 1, 1, 1),
    ) -> None:
        super().__init__()
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError(
                f"nafnet: enc_blocks and dec_blocks need the same length, got "
                f"{list(enc_blocks)} and {list(dec_blocks)}"
            )
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*(NAFBlock(c) for _ in range(n))))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
            c *= 2
        self.middle = nn.Sequential(*(NAFBlock(c) for _ in range(middle_blocks)))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*(NAFBlock(c) for _ in range(n))))
        self.ending = nn.Conv2d(width, 3, 3, padding=1)
        self.multiple = 2 ** len(enc_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, self.multiple)
        y = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            y = encoder(y)
            skips.append(y)
            y = down(y)
        y = self.middle(y)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            y = decoder(up(y) + skip)
        out = inp + self.ending(y)
        return out[..., :h, :w]
