"""PageNet: one colour and tone correction for the whole page, estimated from the whole page and
applied to every pixel, with an optional light local network on top.

The leaderboard scores each page's mean Y, and what moves it is global: paper tint, ink
density, the scanner's tone curve, a colour cast. A patch of 128 pixels cannot tell them
apart from the page's content; the page can. As in HDRNet (Gharbi et al. 2017, "Deep
Bilateral Learning for Real-Time Image Enhancement") and image-adaptive 3D LUTs (Zeng et al.
2020), a small network sees a downsampled view of the whole image and predicts the
parameters of a global transform, applied at full resolution:

  page descriptor  an area-downsampled thumbnail of the page (thumb x thumb) and the histograms
                   of R, G, B and Y over every pixel of the page (bins each), which keep what a
                   thumbnail averages away (halftone dots, bleed-through)
  encoder          strided 3x3 convs on the thumbnail, mean and max pooled, with the histograms
                   into a 2-layer head
  correction       a 3x3 colour matrix and a bias, then per-channel monotone piecewise-linear
                   curves of `knots` segments; the head starts at zero, the identity
  local            with local > 0, a small residual CNN (3 convs of `local` maps and a dilated
                   one) on [corrected, scan] for detail; 0 by default: the global part alone
                   already gives most of the leaderboard metric

The descriptor is computed once per page: in training from the page the patch was cut from
(real or synthetic), in tiled inference from the whole image, so every tile of a page gets
the same correction. Called on an image alone, the model describes that image itself.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..task.metrics import y_channel
from .page import Describer, PageModel
from .registry import register

_LUMA = (0.299, 0.587, 0.114)
_BAND_ROWS = 256  # rows of a page counted at a time by page_descriptor


def page_descriptor(rgb: np.ndarray, thumb: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """A page (HxWx3 uint8 RGB) as the model's global branch sees it: its area-downsampled
    thumbnail (3 x thumb x thumb, float32 in [0, 1]) and the histograms of R, G, B and the
    leaderboard's Y over all its pixels (4 * bins fractions, float32)."""
    rgb = np.ascontiguousarray(rgb)
    small = cv2.resize(rgb, (thumb, thumb), interpolation=cv2.INTER_AREA)
    # Counted band by band, so the memory it needs does not grow with the page (the Y
    # conversion copies what it converts); counts add up, so the result is the same.
    hist = np.zeros((4, bins), dtype=np.float64)
    for top in range(0, rgb.shape[0], _BAND_ROWS):
        band = rgb[top : top + _BAND_ROWS]
        for c in range(3):
            hist[c] += cv2.calcHist([band], [c], None, [bins], [0, 256]).ravel()
        hist[3] += cv2.calcHist([y_channel(band)], [0], None, [bins], [0, 256]).ravel()
    hist = hist.ravel() / (rgb.shape[0] * rgb.shape[1])
    return small.transpose(2, 0, 1).astype(np.float32) / 255.0, hist.astype(np.float32)


def describe(x: torch.Tensor, thumb: int, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """page_descriptor of each image of a (B, 3, H, W) batch in [0, 1]: the model describing
    its own input when no page is given."""
    images = (x.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    pairs = [page_descriptor(img.numpy(), thumb, bins) for img in images]
    thumbs = torch.from_numpy(np.stack([p[0] for p in pairs])).to(x.device)
    hists = torch.from_numpy(np.stack([p[1] for p in pairs])).to(x.device)
    return thumbs, hists


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True))


@register("pagenet")
class PageNet(PageModel):
    """thumb: thumbnail side; width: encoder width (doubles once); knots: curve segments per
    channel; bins: histogram bins per channel; local: width of the local residual CNN (0: none).
    """

    def __init__(
        self, thumb: int = 64, width: int = 32, knots: int = 16, bins: int = 32, local: int = 0
    ) -> None:
        super().__init__()
        if thumb < 16 or knots < 2 or bins < 2 or width < 2:
            raise ValueError("pagenet: needs thumb >= 16, knots >= 2, bins >= 2, width >= 2")
        self.thumb, self.knots, self.bins, self.width = thumb, knots, bins, width
        w = width
        self.encoder = nn.Sequential(
            _conv(3, w // 2, 2),
            _conv(w // 2, w, 2),
            _conv(w, w),
            _conv(w, 2 * w, 2),
            _conv(2 * w, 2 * w),
            _conv(2 * w, 2 * w, 2),
        )
        self.n_curve = 3 * (knots + 1)
        self.head = nn.Sequential(
            nn.Linear(4 * w + 4 * bins, 128),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Linear(128, self.n_curve + 12),
        )
        nn.init.zeros_(self.head[-1].weight)  # the identity correction to start from
        nn.init.zeros_(self.head[-1].bias)
        self.local = None
        if local > 0:
            self.local = nn.Sequential(
                _conv(6, local),
                _conv(local, local),
                nn.Conv2d(local, local, 3, 1, 2, dilation=2),
                nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(local, 3, 3, 1, 1),
            )
            nn.init.zeros_(self.local[-1].weight)
            nn.init.zeros_(self.local[-1].bias)

    def describer(self) -> Describer:
        return functools.partial(page_descriptor, thumb=self.thumb, bins=self.bins)

    def context(self, thumb: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        """The page's correction parameters (B, knots*3 + 3 + 12) from its descriptor."""
        f = self.encoder(thumb * 2 - 1)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3)), hist], 1))

    def correct(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The colour matrix and bias, then the curves, with parameters p, on x in [0, 1]."""
        b, k = x.shape[0], self.knots
        matrix = p[:, self.n_curve : self.n_curve + 9].view(b, 3, 3)
        matrix = matrix + torch.eye(3, device=x.device, dtype=x.dtype)
        bias = p[:, self.n_curve + 9 :].view(b, 3, 1, 1)
        x = torch.einsum("bij,bjhw->bihw", matrix, x) + bias
        curve = p[:, : self.n_curve].view(b, 3, k + 1)
        # increments: softplus, 1/k each at zero parameters (the identity), so always rising
        step = F.softplus(curve[..., 1:] + math.log(math.e - 1)) / k
        knots = torch.cat([curve[..., :1], curve[..., :1] + step.cumsum(-1)], -1)
        pos = x.flatten(2) * k
        # a non-finite position (weights gone to NaN) gives a NaN output, not a bad index
        i = torch.nan_to_num(pos.detach(), nan=0.0).floor().clamp(0, k - 1).long()
        y = knots.gather(2, i) + (pos - i) * step.gather(2, i)  # extended linearly outside
        return y.view_as(x)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        page: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x: a page, or a patch or tile of one; context: its page's parameters (context()),
        or page: its page's description (thumbnail, histograms); with neither, x is taken as
        the page."""
        if context is None:
            thumb, hist = page if page is not None else describe(x, self.thumb, self.bins)
            context = self.context(thumb, hist)
        y = self.correct(context, x)
        if self.local is not None:
            y = y + self.local(torch.cat([y, x], 1))
        return y.clamp(0, 1)
