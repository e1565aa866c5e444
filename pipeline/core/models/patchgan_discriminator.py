"""The pix2pix discriminator: a PatchGAN scoring overlapping patches of an (input, output) pair."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register


@register("patchgan_discriminator", kind="discriminator")
class PatchGANDiscriminator(nn.Module):
    """The 70x70 PatchGAN of pix2pix (Isola et al. 2017, "Image-to-Image Translation with
    Conditional Adversarial Networks"), as its reference code's NLayerDiscriminator: 4x4 convs,
    ndf maps with stride 2 and LeakyReLU 0.2, then n_layers - 1 more stride-2 convs and one
    stride-1 conv doubling the width (capped at 8 ndf), each with BatchNorm and LeakyReLU, and
    a 4x4 conv to one logit per patch. Conditional: it judges the input image and the restored
    (or true) image stacked on the channels, (B, 6, H, W), and returns a (B, 1, H', W') map of
    logits, 30x30 for 256x256 images, each seeing a 70x70 patch at n_layers = 3.

    Inputs smaller than the smallest size that leaves a 1x1 map (3 x 2**n_layers, 24 pixels)
    are edge-padded up to it.

    Args:
        ndf: width of the first conv (default 64).
        n_layers: stride-2 convs (default 3, the 70x70 receptive field).
        in_channels: channels of one image; the network takes twice that (default 3).
    """

    conditional = True  # judges (condition, image) pairs: pass the degraded input as condition

    def __init__(self, ndf: int = 64, n_layers: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"patchgan_discriminator: n_layers must be at least 1, got {n_layers}")
        layers: list[nn.Module] = [
            nn.Conv2d(2 * in_channels, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        c_in = ndf
        for n in range(1, n_layers + 1):
            c = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(c_in, c, 4, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c_in = c
        layers.append(nn.Conv2d(c_in, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        # Each stride-2 conv halves the size, each stride-1 4x4 conv takes one pixel off.
        self.min_size = 2**n_layers * 3

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 1, H', W') for `image` given `condition` (the degraded input, same size)."""
        if condition is None:
            raise ValueError("patchgan_discriminator is conditional: pass the input as condition")
        x = torch.cat([condition, image], dim=1)
        h, w = x.shape[-2:]
        if h < self.min_size or w < self.min_size:
            x = F.pad(x, (0, max(self.min_size - w, 0), 0, max(self.min_size - h, 0)), "replicate")
        return self.net(x)
