"""U-Net from segmentation_models_pytorch with a swappable encoder, predicting a correction."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .registry import pad_to_multiple, register


@register("unet_smp")
class SmpUnet(nn.Module):
    """segmentation_models_pytorch's Unet (Ronneberger et al. 2015, "U-Net: Convolutional
    Networks for Biomedical Image Segmentation") with any smp or timm encoder, always randomly
    initialised (encoder_weights=None: nothing is downloaded). Its 3-channel output is a residual
    added to the input; the result is clamped to [0, 1]. H, W are reflect-padded to a multiple
    of 2**len(decoder_channels) and the output cropped.

    Args:
        encoder: smp encoder name ("mobilenet_v2", "efficientnet-b0", "resnet18", ...) or a timm
            model as "tu-<name>" ("tu-resnet18", "tu-efficientnet_b0", ...)
            (default "mobilenet_v2", about 2.2M parameters; resnet18's 11M alone is over budget).
        decoder_channels: decoder widths, deepest first; its length is the encoder depth, 1 to 5
            (default (128, 64, 32, 16, 8)).
    """

    def __init__(
        self,
        encoder: str = "mobilenet_v2",
        decoder_channels: Sequence[int] = (128, 64, 32, 16, 8),
    ) -> None:
        super().__init__()
        # Imported here: smp (with timm) takes seconds to import, paid only when it is built.
        import segmentation_models_pytorch as smp
        import timm

        # Checked here because smp and timm report a bad name as KeyError or RuntimeError, with
        # smp's message listing every encoder it has; a ValueError reads as a config mistake.
        if encoder.startswith("tu-"):
            if not timm.is_model(encoder[3:]):
                raise ValueError(f"unet_smp: '{encoder[3:]}' is not a timm model")
        elif encoder not in smp.encoders.get_encoder_names():
            raise ValueError(
                f"unet_smp: '{encoder}' is not an smp encoder (the names are in "
                "segmentation_models_pytorch.encoders.get_encoder_names(); any timm model "
                "works as 'tu-<name>')"
            )
        self.net = smp.Unet(
            encoder_name=encoder,
            encoder_depth=len(decoder_channels),
            encoder_weights=None,
            decoder_channels=tuple(decoder_channels),
            in_channels=3,
            classes=3,
        )
        self.multiple = 2 ** len(decoder_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, self.multiple)
        out = (inp + self.net(inp)).clamp(0.0, 1.0)
        return out[..., :h, :w]
