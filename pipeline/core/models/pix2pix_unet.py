"""The pix2pix generator: an encoder-decoder U-Net of 4x4 stride-2 convs with skip connections."""

from __future__ import annotations

import torch
from torch import nn

from .registry import pad_to_multiple, register


@register("pix2pix_unet")
class Pix2PixUNet(nn.Module):
    """The U-Net generator of pix2pix (Isola et al. 2017, "Image-to-Image Translation with
    Conditional Adversarial Networks"), as its reference code's UnetGenerator: num_downs
    levels, each a 4x4 stride-2 conv (BatchNorm after it except at the first and the innermost
    level, LeakyReLU 0.2 after all but the innermost), widths ngf, 2ngf, 4ngf, then 8ngf; the
    decoder mirrors it with ReLU, 4x4 stride-2 transposed convs and BatchNorm, dropout in the
    8ngf levels between the innermost and the 4 outer ones, and each level's output
    concatenated with the encoder's features of the same size; tanh at the end. As in the
    reference code, only the last transposed conv has a bias. Images are mapped from [0, 1] to
    [-1, 1] on the way in and back on the way out, so the output is in [0, 1]. H, W are
    reflect-padded to a multiple of 2**num_downs and the output cropped.

    The paper's 256x256 generator (ngf 64, 8 levels) has 54.4M parameters; the default here is
    ngf 32 and 6 levels (7.3M), under the 10M budget.

    Args:
        ngf: width of the first level (default 32).
        num_downs: levels, at least 5 (default 6; 8 in the paper's unet_256).
        dropout: dropout probability in the decoder's middle levels (default 0.5, the paper's,
            which uses it as the generator's noise source, also at test time; here it is off in
            eval mode).
    """

    def __init__(self, ngf: int = 32, num_downs: int = 6, dropout: float = 0.5) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"pix2pix_unet: num_downs must be at least 5, got {num_downs}")
        widths = [ngf * min(2**i, 8) for i in range(num_downs)]
        innermost = num_downs - 1
        # The reference code applies each level's LeakyReLU in place at the start of the next
        # level, so the skip connections carry the activated features; here the LeakyReLU
        # ends the level, which computes the same thing without the in-place trick.
        self.downs = nn.ModuleList()
        for i, c in enumerate(widths):
            has_norm = 0 < i < innermost
            layers: list[nn.Module] = [
                nn.Conv2d(widths[i - 1] if i else 3, c, 4, stride=2, padding=1, bias=False)
            ]
            if has_norm:
                layers.append(nn.BatchNorm2d(c))
            if i < innermost:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            self.downs.append(nn.Sequential(*layers))
        # Decoder, innermost level first; the outermost level is registered last, so it is the
        # model's last layer (what adaptive gradient clipping leaves out).
        self.ups = nn.ModuleList()
        for i in reversed(range(num_downs)):
            c_in = widths[i] if i == innermost else 2 * widths[i]
            if i == 0:
                self.ups.append(
                    nn.Sequential(
                        nn.ReLU(inplace=True),
                        nn.ConvTranspose2d(c_in, 3, 4, stride=2, padding=1),
                        nn.Tanh(),
                    )
                )
                continue
            layers = [
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(c_in, widths[i - 1], 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(widths[i - 1]),
            ]
            if 4 <= i < innermost and dropout > 0:
                layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))
        self.multiple = 2**num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = pad_to_multiple(x, self.multiple) * 2 - 1
        skips = []
        for down in self.downs:
            y = down(y)
            skips.append(y)
        skips.pop()  # the innermost level's output feeds the decoder directly
        for up in self.ups[:-1]:
            y = torch.cat([skips.pop(), up(y)], dim=1)
        out = (self.ups[-1](y) + 1) / 2
        return out[..., :h, :w]
