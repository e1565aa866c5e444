"""SRGAN's discriminator: a VGG-style conv stack and a dense head, real-or-fake for an image."""

from __future__ import annotations

import torch
from torch import nn

from .registry import register


@register("srgan_discriminator", kind="discriminator")
class SRGANDiscriminator(nn.Module):
    """The discriminator of SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image
    Super-Resolution Using a Generative Adversarial Network"): eight 3x3 convs with LeakyReLU
    (0.2), widths 64, 64, 128, 128, 256, 256, 512, 512 (base x 1, 1, 2, 2, 4, 4, 8, 8), every
    second one with stride 2, BatchNorm after all but the first; then dense 1024, LeakyReLU,
    dense 1: one logit per image (no sigmoid: the GAN losses take logits).

    The paper flattens a 96x96 crop's 6x6x512 maps into the first dense layer (18.9M weights);
    here an adaptive average pool to 1x1 comes first, so the head has 0.5M weights and any input
    size (at least 1x1) works.

    Args:
        base: width of the first convs (default 64).
        in_channels: channels of the images it judges (default 3).
    """

    conditional = False  # judges an image alone, not an (input, output) pair

    def __init__(self, base: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        widths = [base * m for m in (1, 1, 2, 2, 4, 4, 8, 8)]
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c in enumerate(widths):
            first = i == 0
            layers.append(nn.Conv2d(c_in, c, 3, stride=1 + i % 2, padding=1, bias=first))
            if not first:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c_in, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 1). `condition` must be None: this discriminator is unconditional."""
        if condition is not None:
            raise ValueError("srgan_discriminator is unconditional: pass no condition")
        return self.head(self.features(image))
