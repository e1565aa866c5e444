"""One print-scan, composed from the operations in `ops` in the order things happen."""

from __future__ import annotations

import numpy as np

from ..util.images import to_uint8
from . import ops
from .params import ScanParams

# One generator per operation that draws, spawned in this order from the scan's generator: a
# setting changed (or zeroed) in one operation leaves every other operation's draws alone.
_DRAWING_OPS = ("grain", "stains", "creases", "geometry", "dust", "lines", "noise")


def simulate_scan(
    clean: np.ndarray,
    params: ScanParams,
    rng: np.random.Generator,
    back: np.ndarray | None = None,
) -> np.ndarray:
    """The scan of a printed `clean` page (HxWx3 uint8 RGB); `back` is the clean page printed
    on the other side of the sheet (any size; resized), or None for none. Returns HxWx3 uint8
    RGB of the size of `clean`.

    The page is printed (halftone or continuous tone, on white paper), shows its back through
    the paper, carries grain, stains and folds, lies slightly warped, shifted and turned on the
    glass under dust and hairs, and is scanned: optics blur, the paper and colour response,
    sensor lines and banding, sensor noise, 8 bits, maybe JPEG."""
    if clean.dtype != np.uint8 or clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {clean.shape} {clean.dtype}")
    p = params
    r = dict(zip(_DRAWING_OPS, rng.spawn(len(_DRAWING_OPS)), strict=True))
    h, w = clean.shape[:2]
    sheet = ops.print_page(clean, p.halftone, p.screen_period, p.dot_gain, p.plate_offsets)
    transmission = ops.paper_grain(r["grain"], h, w, p.grain)
    if back is not None and p.bleed > 0:
        transmission *= ops.bleed_through(back, h, w, p.bleed, p.bleed_blur)
    folds = ops.creases(r["creases"], h, w, p.creases, p.crease_shade)
    if folds is not None:
        transmission *= folds
    sheet = ops.times_field(sheet, transmission)
    sheet = ops.stains(sheet, r["stains"], p.stains)
    image = ops.geometry(sheet, r["geometry"], p.warp, p.shift, p.rotation)
    image = ops.dust_and_hairs(image, r["dust"], p.dust, p.hairs)
    image = ops.gaussian_blur(image, p.blur)
    image = ops.color_transition(
        image, p.paper, p.black, p.gamma, p.contrast, p.saturation, p.gains
    )
    image = ops.scanner_lines(image, r["lines"], p.scanner_lines, p.banding)
    image = ops.sensor_noise(image, r["noise"], p.noise)
    scan = to_uint8(image, 255.0)
    return ops.jpeg(scan, p.jpeg_quality) if p.jpeg_quality is not None else scan
