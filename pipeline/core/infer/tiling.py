"""Tiled inference with overlap and smooth blending, averaged over models and TTA views.

The image is cut into square tiles that overlap by `overlap` pixels. Each tile's output is
weighted by a window that is zero for `overlap // 4` pixels at every edge shared with another
tile (where the tile's own zero padding distorts the output), then rises along a raised cosine
to one. Edges on the image border keep full weight. For a fully convolutional model whose
receptive field fits inside that margin, the blend equals whole-image inference exactly.

Tiles are processed one row at a time into a float band one tile high; rows no later tile
touches are normalised in place and written out as uint8. The blend weights of the tile grid
are a row profile times a column profile, so the normaliser is two 1-D arrays rather than a
second band. The working memory is the model's activations for one batch of tiles plus
16 bytes per pixel of one band: it does not grow with image height, and with width only by the
band (3 MB per 1000 pixels of width for 256-pixel tiles).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..models.page import page_context
from ..util.errors import NonFiniteError
from ..util.images import to_uint8
from .tta import unview, view


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile starts along one axis: steps of tile - overlap, the last one flush with the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile + 1, step))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def edge_window(size: int, overlap: int, lead_border: bool, trail_border: bool) -> np.ndarray:
    """1-D blending weights for a tile of `size` pixels; a *_border flag marks an image edge."""
    w = np.ones(size, dtype=np.float64)
    if overlap <= 0:
        return w
    margin = overlap // 4
    ramp_len = overlap - 2 * margin
    t = (np.arange(ramp_len) + 0.5) / ramp_len
    ramp = 0.5 - 0.5 * np.cos(np.pi * t)
    lead = np.concatenate([np.zeros(margin), ramp])
    n = min(len(lead), size)
    if not lead_border:
        w[:n] = np.minimum(w[:n], lead[:n])
    if not trail_border:
        w[size - n :] = np.minimum(w[size - n :], lead[:n][::-1])
    return w


def window_sum(starts: list[int], size: int, overlap: int, length: int, lo: int, hi: int):
    """The blending weight positions lo..hi-1 of an axis collect from all the tiles along it
    (tiles of `size` starting at `starts`, on an axis `length` long)."""
    total = np.zeros(hi - lo)
    for start in starts:
        a, b = max(start, lo), min(start + size, hi)
        if a < b:
            win = edge_window(size, overlap, start == 0, start + size == length)
            total[a - lo : b - lo] += win[a - start : b - start]
    return total


def _non_finite(x: torch.Tensor) -> str:
    """Which kinds of non-finite values `x` holds: "nan", "inf" or both."""
    kinds = [k for k, bad in (("nan", x.isnan()), ("inf", x.isinf())) if bad.any()]
    return " and ".join(kinds)


def auto_batch(device: torch.device) -> int:
    """Images per forward pass when none is asked for. On the CPU, 2: larger batches of 256-pixel
    tiles overflow the caches (a resunet took 5% longer per image at 4, 30% at 8). A GPU wants
    larger batches to fill it."""
    return 16 if device.type == "cuda" else 2


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class TiledPredictor:
    """Restore uint8 RGB images with an ensemble of models x dihedral views, tile by tile.

    models: the networks to average (e.g. one per fold), all mapping (B,3,h,w) in [0,1] to
        (B,3,h*scale,w*scale).
    views: TTA views to average (see tta.view); [0] is plain inference.
    tile, overlap: tile side and overlap in input pixels.
    batch: most images in one forward pass, 0 for `auto_batch`; the views of a tile go in the
        same batch.
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        views: Sequence[int] = (0,),
        tile: int = 256,
        overlap: int = 32,
        batch: int = 0,
        device: torch.device | str = "cpu",
        amp: bool = False,
        scale: int = 1,
    ):
        if not models:
            raise ValueError("TiledPredictor needs at least one model")
        self.models = list(models)
        self.views = list(views)
        self.tile = tile
        self.overlap = overlap
        self.device = torch.device(device)
        self.batch = batch or auto_batch(self.device)
        self.amp = amp
        self.scale = scale

    def _page_contexts(self, image: np.ndarray) -> list[torch.Tensor | None]:
        """For each model that restores by its whole page (models/page.py), its context for
        this image, computed once from the whole image so every tile gets the same one; None
        for the others. Views need no context of their own: a page's colour and tone do not
        turn."""
        rgb = image if image.dtype == np.uint8 else to_uint8(image, 255.0)
        return [page_context(model, rgb, self.device) for model in self.models]

    def _predict_tiles(
        self, tiles: torch.Tensor, contexts: list[torch.Tensor | None]
    ) -> torch.Tensor:
        """Mean output over models and views for a (N,3,h,w) float batch of tiles."""
        total = None
        # Views that keep the tile's shape batch together; quarter turns of a non-square
        # tile swap height and width and go in a second group.
        groups: dict[tuple[int, ...], list[int]] = {}
        for k in self.views:
            groups.setdefault(tuple(view(tiles[:1], k).shape), []).append(k)
        for model, context in zip(self.models, contexts, strict=True):
            for ks in groups.values():
                # Channels-last in memory whatever a view did to the strides: the layout the
                # tiles arrive in, and the one oneDNN and cuDNN convolve fastest (on the CPU
                # NCHW batches took 1.7x as long per image, so rotated views cost 11.7x).
                stacked = torch.cat([view(tiles, k) for k in ks])
                stacked = stacked.contiguous(memory_format=torch.channels_last)
                chunks = []
                for part in torch.split(stacked, self.batch):
                    with _autocast(self.device, self.amp):
                        if context is None:
                            chunks.append(model(part).float())
                        else:
                            ctx = context.expand(len(part), -1)
                            chunks.append(model(part, context=ctx).float())
                out = torch.cat(chunks)
                for j, k in enumerate(ks):
                    restored = unview(out[j * len(tiles) : (j + 1) * len(tiles)], k)
                    total = restored if total is None else total + restored
        return total / (len(self.models) * len(self.views))

    def __call__(self, rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Restore one HxWx3 uint8 image; returns (H*scale)x(W*scale)x3 uint8.

        out: the array to write the result into, e.g. a np.memmap when the image is too large
            to keep in memory a second time; by default a new one.
        """
        h, w = rgb.shape[:2]
        shape = (h * self.scale, w * self.scale, 3)
        if out is None:
            out = np.empty(shape, dtype=np.uint8)
        elif out.shape != shape or out.dtype != np.uint8:
            raise ValueError(f"out must be {shape} uint8, got {out.shape} {out.dtype}")
        self._run(rgb, out)
        return out

    def restore_float(self, image: np.ndarray) -> np.ndarray:
        """Restore an HxWx3 float image in [0, 1] without rounding (for exactness checks)."""
        h, w = image.shape[:2]
        out = np.empty((h * self.scale, w * self.scale, 3), dtype=np.float32)
        self._run(image, out)
        return out

    @torch.inference_mode()
    def _run(self, image: np.ndarray, out: np.ndarray) -> None:
        for model in self.models:
            model.eval()
        h, w = image.shape[:2]
        s = self.scale
        th, tw = min(self.tile, h), min(self.tile, w)
        ys = tile_starts(h, th, self.overlap)
        xs = tile_starts(w, tw, self.overlap)
        o = self.overlap * s
        wx = [edge_window(tw * s, o, x == 0, x + tw == w) for x in xs]
        # The weight a pixel collects from all tiles is (row weight) * (column weight).
        col_total = window_sum([x * s for x in xs], tw * s, o, w * s, 0, w * s)
        row_starts = [y * s for y in ys]
        tiles_per_pass = max(1, self.batch // len(self.views))
        to_unit = 1.0 / 255.0 if image.dtype == np.uint8 else 1.0

        contexts = self._page_contexts(image)
        band = np.zeros((3, th * s, w * s), dtype=np.float32)  # output rows from y * s on
        for row, y in enumerate(ys):
            if row > 0:  # move the rows the previous tile row left unfinished to the top
                shift = (y - ys[row - 1]) * s
                keep = th * s - shift
                for first in range(0, keep, shift):  # forward, in non-overlapping pieces
                    n = min(shift, keep - first)
                    band[:, first : first + n] = band[:, first + shift : first + shift + n]
                band[:, keep:] = 0
            wy = edge_window(th * s, o, y == 0, y + th == h)
            for first in range(0, len(xs), tiles_per_pass):
                chunk = xs[first : first + tiles_per_pass]
                tiles = np.stack([image[y : y + th, x : x + tw] for x in chunk])
                batch = torch.from_numpy(tiles).to(self.device).permute(0, 3, 1, 2).float()
                pred = self._predict_tiles(batch * to_unit, contexts)
                if not torch.isfinite(pred).all():
                    raise NonFiniteError(f"the model's output holds {_non_finite(pred)} values")
                pred = pred.clamp_(0, 1).cpu().numpy()
                for j, x in enumerate(chunk):
                    win = np.outer(wy, wx[first + j]).astype(np.float32)
                    band[:, :, x * s : (x + tw) * s] += pred[j] * win
            # Later tile rows start at ys[row + 1]: everything above it is final.
            done = ((ys[row + 1] if row + 1 < len(ys) else h) - y) * s
            row_total = window_sum(row_starts, th * s, o, h * s, y * s, y * s + done)
            rows = band[:, :done]
            rows /= row_total[:, None]
            rows /= col_total
            if out.dtype == np.uint8:
                rows *= 255.0
                np.rint(rows, out=rows)
            out[y * s : y * s + done] = rows.transpose(1, 2, 0)
