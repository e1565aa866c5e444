"""The degradations the non-descanning demos are made with: camera blur (deblurring), sensor
noise (denoising), light scatter (deflaring) and MATLAB-bicubic downscaling (super-resolution).
Each takes a clean HxWx3 uint8 RGB page and a generator, and returns the degraded input."""

from __future__ import annotations

import cv2
import numpy as np

from ..util.images import to_uint8
from ..util.resize import imresize_uint8


def _noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, sigma, x.shape)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised line kernel `length` pixels long at `angle` degrees: a straight camera
    shake during the exposure (GoPro's blur is the average of consecutive sharp frames)."""
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = np.cos(np.deg2rad(angle)) * c, np.sin(np.deg2rad(angle)) * c
    # Drawn at 8x sub-pixel precision, so short kernels at any angle are not jagged.
    p0 = (round((c - dx) * 8), round((c - dy) * 8))
    p1 = (round((c + dx) * 8), round((c + dy) * 8))
    cv2.line(k, p0, p1, 1.0, 1, cv2.LINE_AA, shift=3)
    return k / k.sum()


def blur(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Motion blur (a line 5-13 px long at any angle) or, one time in four, defocus (Gaussian,
    sigma 1-2.5 px), then slight sensor noise (sigma 1-3 of 255)."""
    x = clean.astype(np.float32) / 255.0
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(1.0, 2.5)), borderType=cv2.BORDER_REFLECT)
    else:
        kernel = motion_kernel(int(rng.integers(2, 7)) * 2 + 1, float(rng.uniform(0, 180)))
        x = cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return to_uint8(_noise(x, rng.uniform(1, 3) / 255.0, rng), 255.0)


def noise(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise, sigma 10-25 of 255 (the DnCNN benchmark's range)."""
    x = clean.astype(np.float64) / 255.0
    return to_uint8(_noise(x, rng.uniform(10, 25) / 255.0, rng), 255.0)


def glare(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light scatter in a cheap lens: a veiling glare (a broad warm halo around a light source
    that may sit off the frame, washing the image out), bloom (bright areas bleeding into
    their surroundings), a loss of contrast, and slight noise."""
    h, w = clean.shape[:2]
    x = clean.astype(np.float32) / 255.0
    cy, cx = rng.uniform(-0.2, 1.2, size=2) * (h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    radius = rng.uniform(0.3, 0.7) * max(h, w)
    halo = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))[..., None]
    strength = rng.uniform(0.15, 0.4)
    tint = np.array([1.0, rng.uniform(0.85, 1.0), rng.uniform(0.65, 0.9)], np.float32)
    contrast = rng.uniform(0.65, 0.9)
    x = x.mean(axis=(0, 1)) + contrast * (x - x.mean(axis=(0, 1)))
    bright = np.clip(x - 0.75, 0, None)
    bloom = cv2.GaussianBlur(bright, (0, 0), float(rng.uniform(4, 10))) * rng.uniform(1, 2.5)
    x = x * (1 - 0.5 * strength * halo) + strength * halo * tint + bloom
    return to_uint8(_noise(x, rng.uniform(0.5, 2) / 255.0, rng), 255.0)


def downscale(clean: np.ndarray, scale: int) -> np.ndarray:
    """The low-resolution input of super-resolution: MATLAB's imresize(hr, 1/scale), bicubic
    with antialiasing, as the benchmarks make it. `clean` sides must be multiples of scale."""
    return imresize_uint8(clean, 1.0 / scale)
