"""Synthetic scans: print and scan a folder of clean images with the print-scan simulator.

For demo data, pretraining on clean images that have no scans, or a test set of scans made by
another preset than the training data's.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import cv2
import numpy as np

from .core.config import cli
from .core.config.load import load_config, synth_overrides, synth_ranges
from .core.synth import PRESETS, SIMULATOR_VERSION, sample_params, simulate_scan
from .core.util.errors import UserError
from .core.util.files import atomic_dir
from .core.util.images import list_images, read_rgb, write_png
from .core.util.progress import progress

DESCRIPTION = """\
Print and scan every image in IN_DIR with the print-scan simulator, and write the scans to
OUT_DIR as PNG files of the same names and sizes (8-bit RGB). Each page is printed with the
next one in name order (the last with the first) on the back of its sheet, which shows
through. The settings are the preset's (--preset, default synth.preset of the config) with
any synth.* overrides. The same images, seed and settings give the same bytes.

OUT_DIR is written as a whole or not at all; an existing OUT_DIR is replaced only when this
command made it. --preview writes a grid to look at: per image (up to 4), the original and
the scan whole, then a central crop of each at 2x."""
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


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.synth", DESCRIPTION, config=False)
    parser.add_argument("in_dir", metavar="IN_DIR", help="folder of clean images")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the scans to")
    parser.add_argument(
        "--preset", choices=list(PRESETS), help="simulator preset (default: synth.preset)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--preview", metavar="FILE.png", help="also write a grid of original and scan crops"
    )
    parser.add_argument(
        "--config",
        default="configs/demo.yaml",
        help="experiment YAML whose synth section applies (default: %(default)s)",
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="key=value", help="config overrides, e.g. synth.blur=[1,2]"
    )
    parser.epilog = cli.CONFIG_EPILOG
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    preset = args.preset or cfg.synth.preset
    ranges = synth_ranges(cfg, preset)

    in_dir, out = Path(args.in_dir), Path(args.out_dir)
    cleans = list_images(in_dir, "clean images")
    if out.exists() and out.resolve() == in_dir.resolve():
        raise UserError(f"{out}: OUT_DIR must differ from IN_DIR")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not (out / MARKER).is_file():
        raise UserError(f"{out}: exists and was not written by pipeline.synth; not replacing it")
    preview = Path(args.preview) if args.preview else None
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
            rng = np.random.default_rng(_seed_of(args.seed, stem))
            scan = simulate_scan(clean, sample_params(ranges, rng), rng, back=back)
            write_png(tmp / f"{stem}.png", scan)
            if i < PREVIEW_IMAGES:
                pairs.append((clean, scan))
            clean = back
        record = {
            "in_dir": str(in_dir),
            "preset": preset,
            "overrides": synth_overrides(cfg),
            "seed": args.seed,
            "simulator": SIMULATOR_VERSION,
        }
        (tmp / MARKER).write_text(json.dumps(record, indent=1))
        if preview is not None:
            write_png(preview, preview_grid(pairs))
    print(f"synth: {len(stems)} scans ({preset}, seed {args.seed}) -> {out}")
    if preview is not None:
        print(f"synth: preview -> {preview}")
    return 0


if __name__ == "__main__":
    cli.run(main)
