"""Synthetic scans of a folder of clean images, what `synth` writes: each page printed with
the next one in name order on the back of its sheet, the folder written whole or not at all,
and a preview grid to look at."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..util.errors import UserError
from ..util.files import atomic_dir
from ..util.images import list_images, read_rgb, write_png
from ..util.progress import progress
from . import SIMULATOR_VERSION
from .params import Ranges, sample_params
from .scan import simulate_scan

MARKER = ".synth.json"
PREVIEW_IMAGES = 4
PREVIEW_CELL = 256  # side of one picture in the preview grid
PREVIEW_CROP = 128  # side of the central crop shown at 2x
PREVIEW_GAP = 4


def _cell(image: np.ndarray) -> np.ndarray:
    """`image` shrunk to fit a preview cell, on white."""
    h, w = image.shape[:2]
    scale = min(PREVIEW_CELL / h, PREVIEW_CELL / w, 1.0)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    cell = np.full((PREVIEW_CELL, PREVIEW_CELL, 3), 255, np.uint8)
    cell[: image.shape[0], : image.shape[1]] = image
    return cell


def _centre_crop(image: np.ndarray) -> np.ndarray:
    """A central PREVIEW_CROP square (or less, for a small image) at 2x, nearest neighbour,
    so the dots, grain and noise show pixel by pixel."""
    h, w = image.shape[:2]
    side = min(PREVIEW_CROP, h, w)
    y, x = (h - side) // 2, (w - side) // 2
    crop = image[y : y + side, x : x + side]
    return np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)


def preview_grid(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One row per (original, scan) pair: original | scan | original crop | scan crop."""
    gap = np.full((PREVIEW_CELL, PREVIEW_GAP, 3), 255, np.uint8)
    rows = []
    for original, scan in pairs:
        cells = [_cell(original), _cell(scan), _cell(_centre_crop(original))]
        cells.append(_cell(_centre_crop(scan)))
        row = np.concatenate([part for c in cells for part in (c, gap)][:-1], axis=1)
        rows += [row, np.full((PREVIEW_GAP, row.shape[1], 3), 255, np.uint8)]
    return np.concatenate(rows[:-1], axis=0)


def _seed_of(seed: int, stem: str) -> list[int]:
    """A page's randomness depends on the seed and its name only, not on the other files."""
    return [seed, zlib.crc32(stem.encode())]


def scan_folder(
    in_dir: Path,
    out: Path,
    ranges: Ranges,
    seed: int,
    settings: dict[str, Any],
    preview: Path | None = None,
) -> int:
    """Print and scan every image of `in_dir` into `out` (PNGs of the same names and sizes),
    with settings drawn from `ranges`; `settings` (the preset and overrides that made the
    ranges) is recorded beside the scans. `out` is replaced only when this made it. Returns
    the number of scans."""
    cleans = list_images(in_dir, "clean images")
    if out.exists() and out.resolve() == in_dir.resolve():
        raise UserError(f"{out}: OUT_DIR must differ from IN_DIR")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not (out / MARKER).is_file():
        raise UserError(f"{out}: exists and was not written by pipeline.synth; not replacing it")
    if preview is not None and preview.suffix.lower() != ".png":
        raise UserError(f"--preview {preview}: expected a .png file name")

    stems = list(cleans)
    pairs = []
    first = clean = read_rgb(cleans[stems[0]])
    with atomic_dir(out) as tmp:
        for i, stem in enumerate(progress(stems, desc="synthetic scans", unit="image")):
            back = None  # a single page has no other page to print on its back
            if len(stems) > 1:
                back = first if i == len(stems) - 1 else read_rgb(cleans[stems[i + 1]])
            rng = np.random.default_rng(_seed_of(seed, stem))
            scan = simulate_scan(clean, sample_params(ranges, rng), rng, back=back)
            write_png(tmp / f"{stem}.png", scan)
            if i < PREVIEW_IMAGES:
                pairs.append((clean, scan))
            clean = back
        record = {"in_dir": str(in_dir), **settings, "seed": seed, "simulator": SIMULATOR_VERSION}
        (tmp / MARKER).write_text(json.dumps(record, indent=1))
        if preview is not None:
            write_png(preview, preview_grid(pairs))
    return len(stems)
