"""Tiled inference with overlap and smooth blending, averaged over models and TTA views.

The image is cut into square tiles that overlap by `overlap` pixels. Each tile's output is
weighted by a window that is zero for `overlap // 4` pixels at every edge shared with another
tile (where the tile's own zero padding distorts the output), then rises along a raised cosine
to one. Edges on the image border keep full weight. For a fully convolutional model whose
receptive field fits inside that margin, the blend equals whole-image inference exactly.

Tiles are processed one row at a time and every finished row band is written out as uint8, so
the working memory is one band of tiles, not the image: it does not grow with image height.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

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
    batch: most images in one forward pass; the views of a tile go in the same batch.
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        views: Sequence[int] = (0,),
        tile: int = 256,
        overlap: int = 32,
        batch: int = 8,
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
        self.batch = batch
        self.device = torch.device(device)
        self.amp = amp
        self.scale = scale

    def _predict_tiles(self, tiles: torch.Tensor) -> torch.Tensor:
        """Mean output over models and views for a (N,3,h,w) float batch of tiles."""
        total = None
        # Views that keep the tile's shape batch together; quarter turns of a non-square
        # tile swap height and width and go in a second group.
        groups: dict[tuple[int, ...], list[int]] = {}
        for k in self.views:
            groups.setdefault(tuple(view(tiles[:1], k).shape), []).append(k)
        for model in self.models:
            for ks in groups.values():
                stacked = torch.cat([view(tiles, k) for k in ks])
                chunks = []
                for part in torch.split(stacked, max(self.batch, 1)):
                    with _autocast(self.device, self.amp):
                        chunks.append(model(part).float())
                out = torch.cat(chunks)
                for j, k in enumerate(ks):
                    restored = unview(out[j * len(tiles) : (j + 1) * len(tiles)], k)
                    total = restored if total is None else total + restored
        return total / (len(self.models) * len(self.views))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Restore one HxWx3 uint8 image; returns (H*scale)x(W*scale)x3 uint8."""
        h, w = rgb.shape[:2]
        out = np.empty((h * self.scale, w * self.scale, 3), dtype=np.uint8)
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
        wx = [edge_window(tw * s, self.overlap * s, x == 0, x + tw == w) for x in xs]
        tiles_per_pass = max(1, self.batch // len(self.views))
        to_unit = 1.0 / 255.0 if image.dtype == np.uint8 else 1.0

        band = np.zeros((3, 0, w * s), dtype=np.float32)
        band_w = np.zeros((0, w * s), dtype=np.float32)
        band_top = 0  # first output row still in the band; rows above it are written out
        for row, y in enumerate(ys):
            wy = edge_window(th * s, self.overlap * s, y == 0, y + th == h)
            grow = (y + th) * s - band_top - band.shape[1]
            if grow > 0:
                band = np.concatenate([band, np.zeros((3, grow, w * s), np.float32)], axis=1)
                band_w = np.concatenate([band_w, np.zeros((grow, w * s), np.float32)], axis=0)
            for first in range(0, len(xs), tiles_per_pass):
                chunk = xs[first : first + tiles_per_pass]
                tiles = np.stack([image[y : y + th, x : x + tw] for x in chunk])
                batch = torch.from_numpy(tiles).to(self.device).permute(0, 3, 1, 2).float()
                pred = self._predict_tiles(batch * to_unit).clamp_(0, 1).cpu().numpy()
                for j, x in enumerate(chunk):
                    win = np.outer(wy, wx[first + j]).astype(np.float32)
                    oy, ox = y * s - band_top, x * s
                    band[:, oy : oy + th * s, ox : ox + tw * s] += pred[j] * win
                    band_w[oy : oy + th * s, ox : ox + tw * s] += win
            # Later tile rows start at ys[row + 1]: everything above it is final.
            done = (ys[row + 1] if row + 1 < len(ys) else h) * s - band_top
            rows = (band[:, :done] / band_w[:done]).transpose(1, 2, 0)
            if out.dtype == np.uint8:
                rows = np.round(rows * 255.0)
            out[band_top : band_top + done] = rows
            band, band_w = band[:, done:], band_w[done:]
            band_top += done
