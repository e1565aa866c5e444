"""The print-scan simulator's operations, one per physical cause.

Images are float32 RGB in [0, 1], HxWx3: a printed sheet's reflectance, then what the scanner
measures. Each operation takes its settings as arguments and its randomness from the generator
it is given, so each can be tested, and turned off, alone. Everything is written for one CPU
core: separable screens, OpenCV filters, noise drawn through a lookup table.
"""

from __future__ import annotations

from functools import cache
from statistics import NormalDist

import cv2
import numpy as np

from ..util.images import to_uint8

# Plates are in C, M, Y, K order throughout. Screen angles in degrees, as on an offset press.
SCREEN_ANGLES = (15.0, 75.0, 0.0, 45.0)
# Reflectance (RGB) of each solid ink on white paper.
INK_COLORS = np.array(
    [(0.05, 0.62, 0.90), (0.90, 0.12, 0.50), (1.00, 0.92, 0.08), (0.08, 0.08, 0.09)],
    dtype=np.float32,
)
# Grey-component replacement: black ink takes over the grey part of a colour from GCR_START
# of it upwards, fully at GCR_FULL, so light greys print in CMY and text in black ink alone.
GCR_START, GCR_FULL = 0.25, 0.75
DOT_EDGE = 0.15  # width of a dot's anti-aliased edge, in units of the spot function
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
STAIN_ABSORPTION = np.array((0.3, 0.55, 0.9), np.float32)  # brown: absorbs blue the most
GRAIN_KERNEL = (7, 0.7)  # size and sigma of the blur that makes grain a pixel or so across
GEOMETRY_STEP = 8  # pixels between the points where the geometric displacement is computed


# -- helpers -----------------------------------------------------------------------------------
def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of float RGB, HxW."""
    return cv2.transform(rgb, LUMA[None, :])


def times_field(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """An HxWx3 image times an HxW field (several times faster than numpy's broadcast)."""
    out = cv2.merge([field, field, field])
    out *= image
    return out


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


@cache
def _normal_table() -> np.ndarray:
    """256 equally likely values of a standard normal law, scaled to unit variance."""
    table = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], np.float32)
    return table / table.std()


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Unit-variance noise, Gaussian to 8 bits: random bytes through a quantile table, several
    times faster than drawing normal floats (sensor noise is the simulator's largest draw)."""
    n = int(np.prod(shape))
    codes = np.frombuffer(rng.bytes(n), dtype=np.uint8).reshape(shape)
    return _normal_table()[codes]


def smooth_field(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Unit-amplitude random field varying over about `cell` pixels (bicubic over a coarse
    grid of normal draws)."""
    gh, gw = max(2, round(h / cell) + 1), max(2, round(w / cell) + 1)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _poisson(rng: np.random.Generator, per_megapixel: float, h: int, w: int) -> int:
    return int(rng.poisson(per_megapixel * h * w / 1e6)) if per_megapixel > 0 else 0


# -- halftone ----------------------------------------------------------------------------------
@cache
def _separation_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables of the separation: K from the brightest channel, and a C, M or Y plate
    from its own channel and the brightest one (256x256)."""
    grey = 1.0 - np.arange(256, dtype=np.float64) / 255.0  # what C, M and Y share
    ramp = np.clip((grey - GCR_START) / (GCR_FULL - GCR_START), 0.0, 1.0)
    k = grey * ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep
    own = 1.0 - np.arange(256, dtype=np.float64)[:, None] / 255.0
    rest = (own - k[None, :]) / np.maximum(1.0 - k[None, :], 1e-6)
    return to_uint8(k, 255.0), to_uint8(rest, 255.0).ravel()


def cmyk_plates(clean: np.ndarray) -> list[np.ndarray]:
    """Ink coverage of each plate (C, M, Y, K), HxW uint8 (0 none, 255 solid), with
    grey-component replacement: black ink prints the part C, M and Y have in common in dark
    tones, as prepress software does. 8-bit plates are what a raster image processor uses."""
    k_table, rest_table = _separation_tables()
    channels = cv2.split(clean)
    brightest = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    column = brightest.astype(np.uint16)
    plates = [rest_table[(ch.astype(np.uint16) << 8) | column] for ch in channels]
    return [*plates, cv2.LUT(brightest, k_table)]


@cache
def _spot_quantiles() -> np.ndarray:
    """1024 equally likely values of the spot function over a screen cell."""
    t = (np.arange(512, dtype=np.float64) + 0.5) / 512
    spot = 0.5 - 0.25 * (np.cos(2 * np.pi * t)[:, None] + np.cos(2 * np.pi * t)[None, :])
    return np.quantile(spot.ravel(), (np.arange(1024) + 0.5) / 1024)


@cache
def _coverage_curve() -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, share of a cell each inks): with a dot's edge soft over DOT_EDGE, zero
    coverage sits below every spot value and full coverage above it."""
    spot = _spot_quantiles()
    thresholds = np.linspace(-DOT_EDGE / 2, 1 + DOT_EDGE / 2, 2049)
    inked = np.clip((thresholds[:, None] - spot[None, :]) / DOT_EDGE + 0.5, 0.0, 1.0).mean(1)
    return thresholds, inked


def _threshold_table(dot_gain: float) -> np.ndarray:
    """Coverage level (0..255) -> spot threshold that inks exactly that share of a cell, dot
    gain included: a linearized screen, as a calibrated press has."""
    thresholds, inked = _coverage_curve()
    return np.interp(_gain_table(dot_gain), inked, thresholds).astype(np.float32)


def _gain_table(dot_gain: float) -> np.ndarray:
    """Coverage level (0..255) -> the share of paper the ink covers once it has spread."""
    a = np.arange(256, dtype=np.float32) / 255.0
    return a + dot_gain * a * (1.0 - a)


def screen(h: int, w: int, period: float, angle: float, dx: float, dy: float) -> np.ndarray:
    """The spot function of an amplitude-modulated screen, HxW in [0, 1]: 0 at a cell's
    centre, 1 at its corners, so a dot grows round, joins its neighbours at 50% and leaves
    holes beyond. Offset by (dx, dy) pixels with its plate.

    cos(a x + b y + c) = cos(a x) cos(b y + c) - sin(a x) sin(b y + c) makes each term an outer
    product of two vectors, far cheaper than evaluating cosines per pixel."""
    theta = np.deg2rad(angle)
    x = np.arange(w, dtype=np.float64) - dx
    y = np.arange(h, dtype=np.float64) - dy
    k = 2.0 * np.pi / period
    spot = np.full((h, w), 0.5, np.float32)
    for a, b in ((np.cos(theta), np.sin(theta)), (-np.sin(theta), np.cos(theta))):
        ax, by = k * a * x, k * b * y
        cos_x, sin_x = np.cos(ax).astype(np.float32), np.sin(ax).astype(np.float32)
        cos_y, sin_y = np.cos(by).astype(np.float32), np.sin(by).astype(np.float32)
        spot -= 0.25 * (cos_y[:, None] * cos_x[None, :] - sin_y[:, None] * sin_x[None, :])
    return spot


def _shift_taps(d: float) -> tuple[np.ndarray, int]:
    """A 1-D correlation kernel and anchor that move a signal by `d` pixels (linear
    interpolation): out(x) = (1 - f) in(x - n) + f in(x - n - 1), n = floor(d), f = d - n."""
    n = int(np.floor(d))
    f = d - n
    lo, hi = min(-n - 1, 0), max(-n, 0)
    taps = np.zeros(hi - lo + 1, np.float32)
    taps[-n - lo] = 1.0 - f
    taps[-n - 1 - lo] = f
    return taps, -lo


def shift_plane(plane: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`plane` (HxW float32) with its content moved by (dx, dy) pixels, mirrored at the
    borders. A separable two-tap filter: several times faster than a general warp."""
    if dx == 0 and dy == 0:
        return plane
    kx, ax = _shift_taps(dx)
    ky, ay = _shift_taps(dy)
    return cv2.sepFilter2D(plane, -1, kx, ky, anchor=(ax, ay), borderType=cv2.BORDER_REFLECT)


def print_page(
    clean: np.ndarray,
    halftone: bool = True,
    screen_period: float = 4.5,
    dot_gain: float = 0.1,
    plate_offsets: tuple[tuple[float, float], ...] = ((0.0, 0.0),) * 4,
) -> np.ndarray:
    """The printed sheet's reflectance (on perfectly white paper) for a clean uint8 RGB page.

    With `halftone`, each CMYK plate is an amplitude-modulated dot screen at its angle with
    cells of `screen_period` pixels; otherwise the inks lie in continuous tone, as on a photo
    print. `dot_gain` spreads the ink; each plate sits `plate_offsets[i]` = (dx, dy) pixels off
    (misregistration). Inks absorb multiplicatively where they overlap."""
    plates = cmyk_plates(clean)
    h, w = clean.shape[:2]
    planes = [np.ones((h, w), np.float32) for _ in range(3)]  # R, G, B reflectance
    passed = np.empty((h, w), np.float32)
    table = _threshold_table(dot_gain) if halftone else _gain_table(dot_gain)
    for i, (dx, dy) in enumerate(plate_offsets):
        if not plates[i].any():
            continue
        ink = shift_plane(cv2.LUT(plates[i], table), dx, dy)
        if halftone:
            spot = screen(h, w, screen_period, SCREEN_ANGLES[i], dx, dy)
            ink = cv2.addWeighted(ink, 1.0 / DOT_EDGE, spot, -1.0 / DOT_EDGE, 0.5)
            np.clip(ink, 0.0, 1.0, out=ink)
        # OpenCV's arithmetic into preallocated arrays: numpy's temporaries cost more here.
        for plane, absorbed in zip(planes, 1.0 - INK_COLORS[i], strict=True):
            cv2.addWeighted(ink, -float(absorbed), ink, 0.0, 1.0, dst=passed)
            cv2.multiply(plane, passed, dst=plane)
    return cv2.merge(planes)


# -- bleed-through ---------------------------------------------------------------------------
# The sheet's own effects (show-through, grain, folds) are grey transmission fields, HxW; the
# scan multiplies the printed sheet by their product once.
def bleed_through(back: np.ndarray, h: int, w: int, strength: float, blur: float) -> np.ndarray:
    """Transmission, HxW, of the sheet where the back page carries ink. Seen through the sheet
    the back is mirrored left to right, and the paper scatters it (a Gaussian of `blur`
    pixels); its ink absorbs light on the way, so the front is multiplied by
    1 - strength * ink, not alpha-blended with the back."""
    if back.shape[:2] != (h, w):
        back = cv2.resize(back, (w, h), interpolation=cv2.INTER_AREA)
    luma = cv2.flip(cv2.cvtColor(back, cv2.COLOR_RGB2GRAY), 1)
    ink = gaussian_blur(luma.astype(np.float32) * (-1.0 / 255.0) + 1.0, blur)
    return 1.0 - strength * ink


# -- texture distortion ------------------------------------------------------------------------
@cache
def _grain_scale() -> float:
    """1 / the standard deviation of unit white noise after the grain blur."""
    size, sigma = GRAIN_KERNEL
    return float(1.0 / np.sum(cv2.getGaussianKernel(size, sigma) ** 2))


def paper_grain(rng: np.random.Generator, h: int, w: int, amplitude: float) -> np.ndarray:
    """Transmission, HxW, of the paper's fibres: 1 plus noise of standard deviation
    `amplitude`, correlated over about a pixel."""
    size, sigma = GRAIN_KERNEL
    grain = cv2.GaussianBlur(
        gaussian_noise(rng, (h, w)), (size, size), sigma, borderType=cv2.BORDER_REFLECT
    )
    return grain * (amplitude * _grain_scale()) + 1.0


def creases(
    rng: np.random.Generator, h: int, w: int, per_megapixel: float, shade: float
) -> np.ndarray | None:
    """Shading, HxW, of folds across the sheet (None when there are none): straight lines at
    random positions and angles, lit on one side and shadowed on the other (the paper tilts
    towards and away from the lamp), with a dark line along the fold itself."""
    shading = None
    for _ in range(_poisson(rng, per_megapixel, h, w)):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, np.pi)
        width = rng.uniform(3.0, 12.0)
        strength = shade * rng.uniform(0.5, 1.0)
        nx, ny = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        d = (np.arange(h, dtype=np.float32) - np.float32(y0))[:, None] * ny + (
            np.arange(w, dtype=np.float32) - np.float32(x0)
        )[None, :] * nx
        profile = np.sign(d) * np.exp(-np.abs(d) / width) - 0.5 * np.exp(-((d / 1.2) ** 2))
        fold = profile * strength + 1.0
        shading = fold if shading is None else shading * fold
    return shading


def stains(sheet: np.ndarray, rng: np.random.Generator, per_megapixel: float) -> np.ndarray:
    """Brownish blotches with ragged edges and a darker rim, as a dried drop of coffee leaves."""
    h, w = sheet.shape[:2]
    count = _poisson(rng, per_megapixel, h, w)
    if count:
        sheet = sheet.copy()
    for _ in range(count):
        r = rng.uniform(10.0, 60.0)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0, x1 = max(0, int(cx - r)), min(w, int(cx + r) + 1)
        y0, y1 = max(0, int(cy - r)), min(h, int(cy + r) + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dist = np.hypot(xx - cx, yy - cy) / r
        dist += 0.25 * smooth_field(rng, y1 - y0, x1 - x0, r / 2)
        body = np.clip((1.0 - dist) * 6.0, 0.0, 1.0)
        rim = np.exp(-(((dist - 0.95) / 0.08) ** 2))
        amount = rng.uniform(0.05, 0.25) * (0.6 * body + 0.6 * rim)
        sheet[y0:y1, x0:x1] *= 1.0 - amount[..., None] * STAIN_ABSORPTION
    return sheet


@cache
def _pixel_grid(h: int, w: int) -> np.ndarray:
    """(x, y) of every pixel, HxWx2 float32: the identity map of cv2.remap."""
    grid = np.empty((h, w, 2), np.float32)
    grid[..., 0] = np.arange(w, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(h, dtype=np.float32)[:, None]
    grid.setflags(write=False)
    return grid


def geometry(
    image: np.ndarray,
    rng: np.random.Generator,
    warp: float,
    shift: tuple[float, float],
    rotation: float,
) -> np.ndarray:
    """Where the sheet lies on the glass: wrinkles (a smooth displacement field of up to about
    `warp` pixels), then the page moved by `shift` = (dx, dy) pixels and turned `rotation`
    degrees about its centre, all in one resampling. Real pairs are registered, never
    perfectly. Content at (x, y) in `image` lands at (x + dx, y + dy).

    The displacement is smooth, so it is computed on a grid of GEOMETRY_STEP pixels and
    interpolated by a linear resize: exact for the shift and rotation, except within half a
    grid step of the border, where the resize holds the last grid value."""
    if warp == 0 and shift == (0.0, 0.0) and rotation == 0:
        return image
    h, w = image.shape[:2]
    gh, gw = h // GEOMETRY_STEP + 2, w // GEOMETRY_STEP + 2
    # The output pixels a linear resize from (gh, gw) to (h, w) puts the grid points on.
    xs = (np.arange(gw) + 0.5) * (w / gw) - 0.5
    ys = (np.arange(gh) + 0.5) * (h / gh) - 0.5
    cx, cy = (w - 1) / 2, (h - 1) / 2
    x = xs[None, :] - cx - shift[0]
    y = ys[:, None] - cy - shift[1]
    theta = np.deg2rad(rotation)
    # The source of each output pixel: the output position turned back by -rotation.
    offset = np.empty((gh, gw, 2), np.float32)
    offset[..., 0] = np.cos(theta) * x + np.sin(theta) * y + cx - xs[None, :]
    offset[..., 1] = -np.sin(theta) * x + np.cos(theta) * y + cy - ys[:, None]
    if warp > 0:
        cell = max(gh, gw) / 3.0
        for c in range(2):
            offset[..., c] += warp * 0.5 * smooth_field(rng, gh, gw, cell)
    source = cv2.resize(offset, (w, h), interpolation=cv2.INTER_LINEAR)
    source += _pixel_grid(h, w)
    return cv2.remap(image, source, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


# -- external noise ----------------------------------------------------------------------------
def dust_and_hairs(
    image: np.ndarray, rng: np.random.Generator, dust: float, hairs: float
) -> np.ndarray:
    """Specks and fibres on the scanner glass: small dark discs and thin curved strands drawn
    anti-aliased (as a coverage mask), each with its own opacity."""
    h, w = image.shape[:2]
    n_dust, n_hairs = _poisson(rng, dust, h, w), _poisson(rng, hairs, h, w)
    if n_dust + n_hairs == 0:
        return image
    mask = np.zeros((h, w), np.uint8)
    shift = 4  # OpenCV's fixed-point bits: positions and radii in 1/16 pixel
    one = 1 << shift
    for _ in range(n_dust):
        centre = (int(rng.uniform(0, w) * one), int(rng.uniform(0, h) * one))
        radius = int(rng.uniform(0.5, 2.0) * one)
        cv2.circle(mask, centre, radius, int(rng.uniform(100, 255)), -1, cv2.LINE_AA, shift)
    for _ in range(n_hairs):
        steps = int(rng.integers(8, 30))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.25, steps))
        step = rng.uniform(2.0, 4.0)
        start = rng.uniform((0, 0), (w, h))
        pts = start + np.cumsum(step * np.stack([np.cos(heading), np.sin(heading)], 1), 0)
        cv2.polylines(
            mask,
            [np.round(pts * one).astype(np.int32)],
            False,
            int(rng.uniform(120, 230)),
            1,
            cv2.LINE_AA,
            shift,
        )
    return times_field(image, mask.astype(np.float32) * (-0.85 / 255.0) + 1.0)


# -- colour transition -------------------------------------------------------------------------
def color_transition(
    sheet: np.ndarray,
    paper: tuple[float, float, float] = (1.0, 1.0, 1.0),
    black: float = 0.0,
    gamma: float = 1.0,
    contrast: float = 1.0,
    saturation: float = 1.0,
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """The paper and the scanner's colour response: tone curve (x ** gamma), contrast about mid
    grey, chroma scaled by `saturation` around the luma, then the range from `black` (lifted
    blacks) to the paper white tinted by `paper` and each channel's gain."""
    toned = np.clip(sheet, 0.0, 1.0)
    if gamma != 1:
        cv2.pow(toned, gamma, dst=toned)
    # Contrast, saturation and the black-to-white range are affine in the toned values:
    # out = black + (white - black) * (luma + s * (c * t + (1 - c) / 2 - luma)), one 3x4 matrix.
    luma_rows = np.tile(LUMA, (3, 1))
    mix = (1.0 - saturation) * luma_rows + saturation * np.eye(3, dtype=np.float32)
    white = np.asarray(paper, np.float32) * np.asarray(gains, np.float32)
    span = (white - black)[:, None]
    matrix = np.empty((3, 4), np.float32)
    matrix[:, :3] = span * contrast * mix
    matrix[:, 3] = black + span[:, 0] * (1.0 - contrast) / 2 * mix.sum(axis=1)
    return cv2.transform(toned, matrix, dst=toned)


# -- internal noise ----------------------------------------------------------------------------
def scanner_lines(
    image: np.ndarray, rng: np.random.Generator, lines: float, banding: float
) -> np.ndarray:
    """A line sensor sweeps the page, so its flaws are constant along the sweep: a few sensor
    cells off by up to `lines` (streaks one or two pixels wide, per colour channel) and a fine
    fixed pattern; the lamp and motor add slow bands of up to `banding` across the sweep. The
    sweep runs down the columns or along the rows, at random."""
    if lines == 0 and banding == 0:
        return image
    transposed = bool(rng.integers(2))
    h, w = image.shape[:2]
    across, along = (h, w) if transposed else (w, h)
    offset = np.zeros((across, 3), np.float32)
    if lines > 0:
        offset += 0.15 * lines * rng.standard_normal((across, 3)).astype(np.float32)
        for _ in range(int(rng.poisson(across / 150)) + 1):
            at, width = int(rng.integers(across)), int(rng.integers(1, 3))
            offset[at : at + width] += lines * rng.uniform(-1.0, 1.0) * rng.uniform(0.6, 1.0, 3)
    bands = np.ones(along, np.float32)
    if banding > 0:
        bands += banding * smooth_field(rng, along, 1, 40.0)[:, 0]
    # Shapes numpy broadcasts fast: never a lone length-3 axis last.
    if transposed:
        out = image * np.repeat(bands[:, None], 3, axis=1)[None]
        out += np.repeat(offset[:, None, :], w, axis=1)
    else:
        out = image * bands[:, None, None]
        out += offset[None, :, :]
    return out


# -- optics and sensor -------------------------------------------------------------------------
def sensor_noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Read noise plus shot noise: the standard deviation grows with the signal, `sigma` at
    white."""
    if sigma <= 0:
        return image
    noisy = np.maximum(image, 0.0)
    noisy *= 0.7
    noisy += 0.3
    np.sqrt(noisy, out=noisy)
    noisy *= gaussian_noise(rng, image.shape)
    noisy *= sigma
    noisy += image
    return noisy


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Save as JPEG (4:2:0 chroma, as most scanner software does) and read back."""
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
