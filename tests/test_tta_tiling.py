"""TTA views invert exactly; tiled inference equals whole-image inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.core.tiling import TiledPredictor, edge_window, tile_starts
from pipeline.core.tta import unview, view


@pytest.mark.parametrize("k", range(8))
def test_each_view_inverts_exactly(k: int):
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    assert torch.equal(unview(view(x, k), k), x)


def test_the_eight_views_are_distinct():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    seen = {tuple(view(x, k).flatten().tolist()) for k in range(8)}
    assert len(seen) == 8


def small_fcn() -> nn.Module:
    """Receptive radius 2: inside the blending margin of overlap 16 (margin 4)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1), nn.Sigmoid()
    ).eval()


def whole_image(models, views, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    with torch.no_grad():
        outs = [unview(m(view(x, k)), k) for m in models for k in views]
    return (sum(outs) / len(outs))[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("views", [[0], list(range(8))])
@pytest.mark.parametrize("shape", [(150, 203), (64, 64), (40, 90)])
def test_tiled_equals_whole_image(views, shape):
    image = np.random.default_rng(0).random((*shape, 3), dtype=np.float32)
    models = [small_fcn(), small_fcn()]
    tiled = TiledPredictor(models, views=views, tile=64, overlap=16, batch=5).restore_float(image)
    assert tiled.shape == image.shape
    assert np.abs(tiled - whole_image(models, views, image)).max() < 1e-5


def test_uint8_output_is_the_rounded_float_output():
    image = np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    predictor = TiledPredictor([small_fcn()], views=[0, 5], tile=32, overlap=8)
    as_float = predictor.restore_float(image.astype(np.float32) / 255)
    assert np.abs(predictor(image).astype(np.float32) - as_float * 255).max() <= 0.5 + 1e-3


def test_tiles_cover_the_image_and_end_flush():
    assert tile_starts(100, 64, 16) == [0, 36]
    assert tile_starts(200, 64, 16) == [0, 48, 96, 136]
    assert tile_starts(50, 64, 16) == [0]


def test_window_is_zero_in_the_margin_and_one_inside():
    w = edge_window(64, 16, lead_border=False, trail_border=True)
    assert np.all(w[:4] == 0) and np.all(w[12:] == 1) and np.all(np.diff(w[:12]) >= 0)
    assert np.all(edge_window(64, 16, True, True) == 1)
