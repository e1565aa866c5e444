"""The print-scan simulator's settings: the ranges a preset draws from, and one scan's draw.

`Ranges` says where each setting comes from (a [low, high] range, drawn uniformly, or the
chance of a switch); `sample_params` turns it into the concrete `ScanParams` of one scan. Four
presets cover the prints people scan: `magazine`, `newspaper`, `photo_print` and `light`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Range = tuple[float, float]


@dataclass(frozen=True)
class Ranges:
    """Where each setting of a scan is drawn from. The defaults are the `magazine` preset.

    Counts (creases, stains, dust, hairs) are expected numbers per megapixel; the number on a
    page is drawn from a Poisson law, so a patch gets its share. Shifts and offsets are
    magnitudes in pixels, each drawn in its range and pointed in a random direction.
    """

    # halftone: CMYK dot screens at C 15, M 75, Y 0, K 45 degrees
    halftone_p: float = 1.0  # chance of a dot-screen print (else continuous tone)
    screen_period: Range = (3.5, 6.0)  # screen cell in scan pixels: dpi / lpi
    dot_gain: Range = (0.05, 0.2)  # coverage a prints as a + g * a * (1 - a)
    misregistration: Range = (0.0, 0.6)  # offset of each plate, pixels
    # colour transition: the paper and the scanner's response
    paper_white: Range = (0.94, 0.98)  # brightness of blank paper as scanned
    paper_tint: Range = (0.0, 0.08)  # yellowing: blue loses 1.6x, red 0.2x this
    black: Range = (0.03, 0.12)  # lifted blacks: what solid black scans as
    gamma: Range = (0.85, 1.2)  # tone curve exponent
    contrast: Range = (0.92, 1.0)  # tone slope about mid grey
    saturation: Range = (0.65, 0.95)  # share of the chroma kept
    channel_gain: Range = (0.0, 0.04)  # each channel's gain is 1 +- this
    # bleed-through: the back page, mirrored and blurred by the paper, absorbs light
    bleed: Range = (0.02, 0.12)  # darkening where the back is solid black
    bleed_blur: Range = (1.0, 3.0)  # scatter in the paper, Gaussian sigma px
    # texture distortion
    grain: Range = (0.005, 0.02)  # paper grain, relative amplitude
    warp: Range = (0.0, 0.6)  # wrinkles: low-frequency displacement, pixels
    creases: Range = (0.0, 1.0)  # folds per megapixel
    crease_shade: Range = (0.03, 0.1)  # light and shadow either side of a fold
    # external noise: on the sheet or the scanner glass
    dust: Range = (0.0, 60.0)  # specks per megapixel
    hairs: Range = (0.0, 2.0)  # hairs and fibres per megapixel
    stains: Range = (0.0, 0.5)  # stains per megapixel
    # internal noise: the scanner itself
    scanner_lines: Range = (0.0, 0.015)  # streaks along the sensor's travel
    banding: Range = (0.0, 0.01)  # slow brightness bands across it
    # optics and sensor
    blur: Range = (0.5, 1.0)  # scanner MTF, Gaussian sigma px
    noise: Range = (0.003, 0.012)  # sensor noise std at white (0..1 scale)
    jpeg_p: float = 0.2  # chance the scan was saved as JPEG
    jpeg_quality: Range = (75.0, 95.0)  # its quality
    shift: Range = (0.0, 0.5)  # scan vs original, pixels
    rotation: Range = (0.0, 0.1)  # scan vs original, degrees


# The values a setting may take at all; presets and config overrides stay within them.
LIMITS: dict[str, tuple[float, float]] = {
    "halftone_p": (0, 1),
    "screen_period": (2, 32),
    "dot_gain": (0, 0.5),
    "misregistration": (0, 4),
    "paper_white": (0.5, 1),
    "paper_tint": (0, 0.3),
    "black": (0, 0.4),
    "gamma": (0.4, 2.5),
    "contrast": (0.5, 1.5),
    "saturation": (0, 1.5),
    "channel_gain": (0, 0.2),
    "bleed": (0, 0.5),
    "bleed_blur": (0, 10),
    "grain": (0, 0.1),
    "warp": (0, 10),
    "creases": (0, 20),
    "crease_shade": (0, 0.3),
    "dust": (0, 2000),
    "hairs": (0, 50),
    "stains": (0, 20),
    "scanner_lines": (0, 0.1),
    "banding": (0, 0.1),
    "blur": (0, 5),
    "noise": (0, 0.1),
    "jpeg_p": (0, 1),
    "jpeg_quality": (10, 100),
    "shift": (0, 4),
    "rotation": (0, 3),
}
PROBABILITIES = ("halftone_p", "jpeg_p")

PRESETS: dict[str, Ranges] = {
    # offset print on coated paper, 150 lpi seen at 600 dpi; the defaults above
    "magazine": Ranges(),
    # coarse screens on thin, grey-yellow newsprint: heavy dot gain, misregistration and
    # show-through, more dirt
    "newspaper": Ranges(
        screen_period=(5.0, 8.0),
        dot_gain=(0.15, 0.3),
        misregistration=(0.3, 1.5),
        paper_white=(0.8, 0.9),
        paper_tint=(0.04, 0.12),
        black=(0.08, 0.2),
        contrast=(0.8, 0.95),
        saturation=(0.5, 0.8),
        bleed=(0.08, 0.25),
        bleed_blur=(1.5, 4.0),
        grain=(0.015, 0.04),
        warp=(0.3, 2.0),
        creases=(0.0, 2.0),
        dust=(20.0, 150.0),
        hairs=(0.0, 3.0),
        stains=(0.0, 1.0),
        scanner_lines=(0.0, 0.025),
        banding=(0.0, 0.02),
        blur=(0.6, 1.3),
        noise=(0.005, 0.02),
        jpeg_p=0.3,
        jpeg_quality=(60.0, 90.0),
    ),
    # a continuous-tone photographic print: no dots, thick paper (no show-through), colour
    # casts and a stronger tone change
    "photo_print": Ranges(
        halftone_p=0.0,
        misregistration=(0.0, 0.0),
        paper_white=(0.92, 1.0),
        paper_tint=(0.0, 0.1),
        black=(0.02, 0.1),
        gamma=(0.8, 1.3),
        contrast=(0.85, 1.05),
        saturation=(0.6, 1.05),
        channel_gain=(0.02, 0.08),
        bleed=(0.0, 0.0),
        grain=(0.002, 0.01),
        creases=(0.0, 0.5),
        dust=(0.0, 40.0),
        hairs=(0.0, 1.0),
        stains=(0.0, 0.3),
        blur=(0.4, 0.9),
        jpeg_p=0.3,
    ),
    # a clean scan of a fine print: every degradation present but mild
    "light": Ranges(
        screen_period=(3.0, 4.5),
        dot_gain=(0.0, 0.1),
        misregistration=(0.0, 0.3),
        paper_white=(0.95, 1.0),
        paper_tint=(0.0, 0.03),
        black=(0.01, 0.05),
        gamma=(0.95, 1.05),
        contrast=(0.95, 1.0),
        saturation=(0.85, 1.0),
        channel_gain=(0.0, 0.02),
        bleed=(0.0, 0.04),
        grain=(0.0, 0.008),
        warp=(0.0, 0.3),
        creases=(0.0, 0.0),
        dust=(0.0, 10.0),
        hairs=(0.0, 0.0),
        stains=(0.0, 0.0),
        scanner_lines=(0.0, 0.005),
        banding=(0.0, 0.005),
        blur=(0.3, 0.7),
        noise=(0.002, 0.006),
        jpeg_p=0.0,
        shift=(0.0, 0.3),
        rotation=(0.0, 0.05),
    ),
}


def check_setting(name: str, value: Any) -> str | None:
    """Why `value` cannot be setting `name` of `Ranges`, or None when it can."""
    if name not in LIMITS:
        return f"unknown setting (known: {', '.join(LIMITS)})"
    low, high = LIMITS[name]
    if name in PROBABILITIES:
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            return f"expected a probability in [0, 1], got {value}"
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) for v in value)
    ):
        return f"expected a range [low, high], got {value}"
    if not low <= value[0] <= value[1] <= high:
        return f"expected {low} <= low <= high <= {high}, got {list(value)}"
    return None


def make_ranges(preset: str, overrides: Mapping[str, Any] | None = None) -> Ranges:
    """A preset's ranges with some replaced; raises ValueError naming a bad preset or setting."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
    changes = {}
    for name, value in (overrides or {}).items():
        problem = check_setting(name, value)
        if problem:
            raise ValueError(f"{name}: {problem}")
        changes[name] = (
            float(value) if name in PROBABILITIES else (float(value[0]), float(value[1]))
        )
    return dataclasses.replace(PRESETS[preset], **changes)


@dataclass(frozen=True)
class ScanParams:
    """The concrete settings of one scan (see `Ranges` for what each one means)."""

    halftone: bool
    screen_period: float
    dot_gain: float
    plate_offsets: tuple[tuple[float, float], ...]  # (dx, dy) per plate, in C, M, Y, K order
    paper: tuple[float, float, float]  # RGB of blank paper as scanned (white and tint)
    black: float
    gamma: float
    contrast: float
    saturation: float
    gains: tuple[float, float, float]
    bleed: float
    bleed_blur: float
    grain: float
    warp: float
    creases: float
    crease_shade: float
    dust: float
    hairs: float
    stains: float
    scanner_lines: float
    banding: float
    blur: float
    noise: float
    jpeg_quality: int | None  # None: saved losslessly
    shift: tuple[float, float]  # (dx, dy) pixels
    rotation: float  # degrees, counter-clockwise


def _offset(rng: np.random.Generator, magnitude: Range) -> tuple[float, float]:
    r = rng.uniform(*magnitude)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return float(r * np.cos(angle)), float(r * np.sin(angle))


def sample_params(ranges: Ranges, rng: np.random.Generator) -> ScanParams:
    """Draw one scan's settings from `ranges`."""

    def u(name: str) -> float:
        return float(rng.uniform(*getattr(ranges, name)))

    white, tint = u("paper_white"), u("paper_tint")
    spread = u("channel_gain")
    halftone = bool(rng.random() < ranges.halftone_p)
    jpeg = bool(rng.random() < ranges.jpeg_p)
    quality = round(u("jpeg_quality"))
    return ScanParams(
        halftone=halftone,
        screen_period=u("screen_period"),
        dot_gain=u("dot_gain"),
        plate_offsets=tuple(_offset(rng, ranges.misregistration) for _ in range(4)),
        paper=(white * (1 - 0.2 * tint), white * (1 - 0.5 * tint), white * (1 - 1.6 * tint)),
        black=u("black"),
        gamma=u("gamma"),
        contrast=u("contrast"),
        saturation=u("saturation"),
        gains=tuple(float(g) for g in rng.uniform(1 - spread, 1 + spread, size=3)),
        bleed=u("bleed"),
        bleed_blur=u("bleed_blur"),
        grain=u("grain"),
        warp=u("warp"),
        creases=u("creases"),
        crease_shade=u("crease_shade"),
        dust=u("dust"),
        hairs=u("hairs"),
        stains=u("stains"),
        scanner_lines=u("scanner_lines"),
        banding=u("banding"),
        blur=u("blur"),
        noise=u("noise"),
        jpeg_quality=quality if jpeg else None,
        shift=_offset(rng, ranges.shift),
        rotation=float(u("rotation") * rng.choice((-1.0, 1.0))),
    )
