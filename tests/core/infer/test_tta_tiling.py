"""TTA views invert exactly; tiled inference equals whole-image inference, batched or not, in
memory that does not grow with the image."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.core.infer.tiling import TiledPredictor, edge_window, tile_starts
from pipeline.core.infer.tta import unview, view


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


def test_batched_views_equal_one_view_at_a_time():
    """All 8 views of several tiles in one forward pass give what one image per pass gives."""
    image = np.random.default_rng(2).random((150, 203, 3), dtype=np.float32)
    models = [small_fcn()]
    one_at_a_time = TiledPredictor(models, views=range(8), tile=64, overlap=16, batch=1)
    batched = TiledPredictor(models, views=range(8), tile=64, overlap=16, batch=32)
    a, b = one_at_a_time.restore_float(image), batched.restore_float(image)
    assert np.abs(a - b).max() < 1e-6
    assert np.abs(a - whole_image(models, range(8), image)).max() < 1e-5


def test_writes_into_the_array_it_is_given():
    image = np.random.default_rng(3).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    predictor = TiledPredictor([small_fcn()], tile=32, overlap=8)
    out = np.zeros((50, 70, 3), dtype=np.uint8)
    assert predictor(image, out=out) is out
    assert np.array_equal(out, predictor(image))
    with pytest.raises(ValueError, match="out must be"):
        predictor(image, out=np.zeros((50, 71, 3), dtype=np.uint8))


def peak_numpy_bytes(predictor: TiledPredictor, image: np.ndarray) -> int:
    """Peak of the numpy buffers (where tiles are blended) alive during one call, beyond the
    input and the output array. tracemalloc sees numpy's allocations, not torch's; the model's
    activations for one batch of tiles do not depend on the image size either."""
    out = np.empty_like(image)
    tracemalloc.start()
    try:
        predictor(image, out=out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_blending_memory_does_not_grow_with_height_and_grows_with_width_by_one_band():
    predictor = TiledPredictor([small_fcn()], views=[0, 1], tile=32, overlap=8)
    rng = np.random.default_rng(4)

    def peak(h: int, w: int) -> int:
        return peak_numpy_bytes(predictor, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))

    base = peak(64, 64)
    assert peak(1024, 64) < 1.02 * base  # 16x the pixels, the same memory
    band = 3 * 32 * 4  # bytes of the float band per pixel of width
    grown = peak(64, 1024) - base
    assert 0.9 * band * 960 < grown < 1.3 * band * 960  # one band: 16x the pixels, +band only


def test_a_whole_page_model_gets_its_page_once_and_tiles_equal_the_whole_image():
    """PageNet's correction comes from the whole image (computed once, not per tile), so tiled
    inference over any tiling and views equals the model run on the whole image at once."""
    from pipeline.core.models import build_model

    torch.manual_seed(0)
    model = build_model("pagenet", thumb=16, bins=8).eval()
    with torch.no_grad():
        for p in model.head[-1].parameters():
            p.normal_(0, 0.3)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    calls = {"context": 0}
    context = model.context

    def counted(*args):
        calls["context"] += 1
        return context(*args)

    model.context = counted
    whole = TiledPredictor([model], [0], tile=128, overlap=0)(image)
    tiled = TiledPredictor([model], list(range(8)), tile=32, overlap=8, batch=3)(image)
    assert calls["context"] == 2  # one per image, whatever the tiles and views
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1  # float sums, then rounding
