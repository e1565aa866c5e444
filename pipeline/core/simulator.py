"""A print-scan simulator: turns a clean page into what a scanner makes of its printed copy.

The page is printed (CMYK separation, amplitude-modulated dot screens at the usual angles),
ages (paper tint, ink showing through from the back page) and is scanned (optics blur that
turns dots into moire, a tone curve with contrast and saturation loss, sensor noise, 8-bit
quantization). Every operation works on float32 RGB in [0, 1] and draws its randomness from
the generator it is given, so a seed fixes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Screen angles in degrees, as on an offset press: C 15, M 75, Y 0, K 45.
SCREEN_ANGLES = {"c": 15.0, "m": 75.0, "y": 0.0, "k": 45.0}
# Reflectance (RGB) of each solid ink on white paper.
INK_COLORS = {
    "c": (0.05, 0.62, 0.90),
    "m": (0.90, 0.12, 0.50),
    "y": (1.00, 0.92, 0.08),
    "k": (0.08, 0.08, 0.09),
}


@dataclass
class ScanParams:
    """One print-scan's settings. Ranges in `sample_params`."""

    screen_period: float = 4.5  # halftone cell size in scan pixels
    dot_gain: float = 0.1  # ink spreading: coverage a prints as a + gain * a * (1 - a)
    misregistration: float = 0.4  # max plate offset in pixels
    paper: tuple[float, float, float] = (0.96, 0.94, 0.88)  # paper white as scanned
    black: float = 0.08  # lifted blacks: the darkest ink never scans as 0
    gamma: float = 1.0  # tone curve exponent
    saturation: float = 0.8  # 1 keeps chroma, 0 turns the page grey
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel scanner gain
    bleed: float = 0.08  # strength of the back page showing through
    bleed_blur: float = 2.0  # paper scatter of the back page, Gaussian sigma in pixels
    grain: float = 0.015  # paper grain amplitude
    blur: float = 0.8  # scanner optics, Gaussian sigma in pixels
    noise: float = 0.01  # sensor noise standard deviation


def sample_params(rng: np.random.Generator) -> ScanParams:
    """Draw settings within the ranges seen in magazine scans."""
    tint = rng.uniform(0.0, 0.08)
    return ScanParams(
        screen_period=float(rng.uniform(3.5, 6.0)),
        dot_gain=float(rng.uniform(0.0, 0.2)),
        misregistration=float(rng.uniform(0.0, 0.7)),
        paper=(float(0.98 - 0.2 * tint), float(0.97 - 0.5 * tint), float(0.94 - tint * 1.6)),
        black=float(rng.uniform(0.03, 0.14)),
        gamma=float(rng.uniform(0.8, 1.25)),
        saturation=float(rng.uniform(0.6, 0.95)),
        gains=tuple(float(g) for g in rng.uniform(0.94, 1.04, size=3)),
        bleed=float(rng.uniform(0.03, 0.15)),
        bleed_blur=float(rng.uniform(1.0, 3.0)),
        grain=float(rng.uniform(0.005, 0.025)),
        blur=float(rng.uniform(0.5, 1.1)),
        noise=float(rng.uniform(0.004, 0.02)),
    )


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def cmyk_separation(rgb: np.ndarray, black_generation: float = 0.8) -> dict[str, np.ndarray]:
    """Ink coverages in [0, 1] with grey-component replacement: black ink replaces a share of
    the common part of C, M and Y, as prepress software does."""
    cmy = 1.0 - rgb
    k = cmy.min(axis=-1) * black_generation
    rest = np.clip((cmy - k[..., None]) / np.maximum(1.0 - k[..., None], 1e-6), 0.0, 1.0)
    return {"c": rest[..., 0], "m": rest[..., 1], "y": rest[..., 2], "k": k}


def halftone(rgb: np.ndarray, rng: np.random.Generator, p: ScanParams) -> np.ndarray:
    """Print the page with amplitude-modulated dot screens (one rotated screen per ink) and
    return the reflectance of the printed sheet, on white paper."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    reflectance = np.ones_like(rgb)
    soft = 0.12  # anti-aliasing width of a dot edge, in coverage units
    for ink, coverage in cmyk_separation(rgb).items():
        dx, dy = rng.uniform(-p.misregistration, p.misregistration, size=2)
        theta = np.deg2rad(SCREEN_ANGLES[ink])
        x, y = xx + dx, yy + dy
        u = (x * np.cos(theta) + y * np.sin(theta)) / p.screen_period
        v = (-x * np.sin(theta) + y * np.cos(theta)) / p.screen_period
        # Threshold screen: 0 at a cell's centre, 1 at its corners (a round dot that grows
        # into a chequerboard at 50% and into holes beyond).
        spot = 0.5 - 0.25 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))
        gained = coverage + p.dot_gain * coverage * (1.0 - coverage)
        ink_amount = np.clip((gained - spot) / soft + 0.5, 0.0, 1.0)
        color = np.asarray(INK_COLORS[ink], dtype=np.float32)
        reflectance *= 1.0 - ink_amount[..., None] * (1.0 - color)
    return reflectance


def bleed_through(sheet: np.ndarray, back: np.ndarray, p: ScanParams) -> np.ndarray:
    """Darken where the back page carries ink: the back is mirrored (seen through the sheet)
    and blurred by the paper, and it absorbs light multiplicatively."""
    back = cv2.resize(back, (sheet.shape[1], sheet.shape[0]), interpolation=cv2.INTER_AREA)
    ink = 1.0 - luminance(back[:, ::-1])
    ink = gaussian_blur(np.ascontiguousarray(ink), p.bleed_blur)
    return sheet * (1.0 - p.bleed * ink)[..., None]


def paper_grain(sheet: np.ndarray, rng: np.random.Generator, p: ScanParams) -> np.ndarray:
    grain = gaussian_blur(rng.standard_normal(sheet.shape[:2]).astype(np.float32), 0.8)
    return sheet * (1.0 + p.grain * grain)[..., None]


def color_transition(sheet: np.ndarray, p: ScanParams) -> np.ndarray:
    """The scanner's colour response: tone curve, lifted blacks, paper tint, chroma loss."""
    toned = np.clip(sheet, 0.0, 1.0) ** p.gamma
    lum = luminance(toned)[..., None]
    desaturated = lum + p.saturation * (toned - lum)
    paper = np.asarray(p.paper, dtype=np.float32) * np.asarray(p.gains, dtype=np.float32)
    return p.black + (paper - p.black) * desaturated


def simulate_scan(
    clean: np.ndarray,
    rng: np.random.Generator,
    back: np.ndarray | None = None,
    params: ScanParams | None = None,
) -> np.ndarray:
    """The scan of a printed `clean` page (HxWx3 uint8 RGB); `back` is the page printed on the
    other side of the sheet. Returns HxWx3 uint8 RGB of the same size."""
    p = params if params is not None else sample_params(rng)
    page = clean.astype(np.float32) / 255.0
    sheet = halftone(page, rng, p)
    if back is not None and p.bleed > 0:
        sheet = bleed_through(sheet, back.astype(np.float32) / 255.0, p)
    sheet = paper_grain(sheet, rng, p)
    sheet = gaussian_blur(sheet, p.blur)
    scan = color_transition(sheet, p)
    scan = scan + rng.normal(0.0, p.noise, size=scan.shape).astype(np.float32)
    return np.clip(np.round(scan * 255.0), 0, 255).astype(np.uint8)
