"""The benchmark: data loading, training steps, inference speed, tiled inference memory and the
demo's wall time, measured side by side in one run (medians of repeats), printed as markdown;
`python -m pipeline.bench`. One module per part; this one holds what they share: how much
work each does, and the generated page-like images they run on.

Everything runs in a temporary folder on generated images; nothing under data/ or runs/ is read
or written. The numbers to compare are the ratios within one run: absolute speeds depend on the
machine and on what else it is doing (the load average is printed with the tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.data.store import Pair
from ..core.util.images import write_png


@dataclass(frozen=True)
class Scale:
    """How much work each part does: the full benchmark, or a seconds-long smoke run."""

    repeats: int  # timed repeats per measurement; the median is reported
    pairs: int  # image pairs in the loading benchmark
    image: int  # their side in pixels
    batches: int  # loader batches timed per repeat
    train_size: int  # side of a training sample
    train_batch: int
    infer_side: int  # side of the image whose inference is timed
    memory_sides: tuple[int, ...]  # image sides of the memory probes
    tile: int | None  # tile side; None: the config's infer.tile


FULL = Scale(3, 8, 512, 20, 128, 8, 512, (1024, 2048, 4096), None)
QUICK = Scale(1, 2, 256, 2, 32, 2, 64, (64, 128, 192), 32)
PATCHES = (128, 256)
WORKERS = (0, 2)
# The demo of --quick: a few tiny pages, one epoch, one view.
QUICK_DEMO = [
    "demo.titles=3",
    "demo.pages_per_title=2",
    "demo.test_pages=2",
    "demo.size=64",
    "prepare.patch_size=32",
    "prepare.stride=32",
    "train.epochs=1",
    "train.batch_size=4",
    "infer.tta=[0]",
    "infer.tile=64",
    "infer.overlap=16",
]


# -- generated images ------------------------------------------------------------------------
def page(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A page-like uint8 RGB image: smooth colour fields with dark text-like strokes. Built
    at its final size in uint8, so even a 16-megapixel page costs no more than itself."""
    small = rng.integers(40, 256, (h // 32 + 2, w // 32 + 2, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(max(1, h // 12)):
        y, x = int(rng.integers(0, max(1, h - 2))), int(rng.integers(0, max(1, w // 2)))
        img[y : y + 2, x : x + w // 3] = 25
    return img


def scan_of(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scan of `clean`: tinted, lifted blacks and paper grain (grain makes PNGs realistically
    slow to decode; a noiseless image compresses, and decodes, far better than a scan)."""
    scan = clean * np.array([0.9, 0.85, 0.72]) + 14 + rng.normal(0, 4, clean.shape)
    return np.clip(np.round(scan), 0, 255).astype(np.uint8)


def write_pairs(root: Path, n: int, side: int) -> list[Pair]:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        clean = page(rng, side, side)
        paths = root / "scan" / f"Bench.{i:05d}.01.png", root / "clean" / f"Bench.{i:05d}.01.png"
        write_png(paths[0], scan_of(clean, rng))
        write_png(paths[1], clean)
        pairs.append(Pair(paths[0].stem, paths[0], paths[1], side, side))
    return pairs
