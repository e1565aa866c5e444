"""Synthetic scans: print and scan a folder of clean images with the print-scan simulator.

For demo data, pretraining on clean images that have no scans, or a test set of scans made by
another preset than the training data's.
"""

from __future__ import annotations

from pathlib import Path

from .core.config import cli
from .core.config.load import load_config, synth_overrides, synth_ranges
from .core.synth import PRESETS
from .core.synth.folder import scan_folder

DESCRIPTION = """\
Print and scan every image in IN_DIR with the print-scan simulator, and write the scans to
OUT_DIR as PNG files of the same names and sizes (8-bit RGB). Each page is printed with the
next one in name order (the last with the first) on the back of its sheet, which shows
through. The settings are the preset's (--preset, default synth.preset of the config) with
any synth.* overrides. The same images, seed and settings give the same bytes.

OUT_DIR is written as a whole or not at all; an existing OUT_DIR is replaced only when this
command made it. --preview writes a grid to look at: per image (up to 4), the original and
the scan whole, then a central crop of each at 2x."""


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
    settings = {"preset": preset, "overrides": synth_overrides(cfg)}
    preview = Path(args.preview) if args.preview else None
    out = Path(args.out_dir)
    count = scan_folder(Path(args.in_dir), out, ranges, args.seed, settings, preview)
    print(f"synth: {count} scans ({preset}, seed {args.seed}) -> {out}")
    if preview is not None:
        print(f"synth: preview -> {preview}")
    return 0


if __name__ == "__main__":
    cli.run(main)
