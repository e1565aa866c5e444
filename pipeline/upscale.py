"""The bicubic baseline of super-resolution: every image of a folder upscaled MATLAB-style."""

from __future__ import annotations

import re
from pathlib import Path

from .core.config import cli
from .core.util.errors import UserError
from .core.util.files import atomic_dir
from .core.util.images import list_images, read_rgb, write_png
from .core.util.progress import progress
from .core.util.resize import imresize_uint8

DESCRIPTION = """\
Upscale every image in IN_DIR by --scale with MATLAB's bicubic imresize (antialiased cubic
kernel, mirrored borders, rounded to uint8 after each pass: bit-exact with MATLAB) and write
them as PNG to OUT_DIR. This is the baseline that super-resolution papers report, and what
pipeline.evaluate compares against the ground truth:

  python -m pipeline.upscale data/set5/LR_bicubic/X2 /tmp/x2 --scale 2
  python -m pipeline.evaluate /tmp/x2 data/set5/HR --scale 2      # 33.67 (published 33.66)

A trailing 'x<S>' in a file stem (the benchmarks' naming of low-resolution images, babyx2.png)
is dropped, so outputs are named like their high-resolution images (baby.png). OUT_DIR is
written as a whole: it replaces what was there only once every image has been upscaled."""


def output_stem(stem: str, scale: int) -> str:
    """The stem of the upscaled image: `stem` without a trailing x<scale>."""
    return re.sub(rf"x{scale}$", "", stem) or stem


def upscale_folder(in_dir: str | Path, out_dir: str | Path, scale: int) -> int:
    """Write the bicubic upscaling of every image in `in_dir` to `out_dir`; returns the count."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    images = list_images(in_dir, "images")
    if out_dir.resolve() == in_dir.resolve() or out_dir.resolve() in in_dir.resolve().parents:
        raise UserError(f"{out_dir}: the output folder would replace the input folder {in_dir}")
    names: dict[str, str] = {}
    for stem in images:
        out = output_stem(stem, scale)
        if out in names:
            raise UserError(
                f"{in_dir}: '{names[out]}' and '{stem}' would both be written as {out}.png"
            )
        names[out] = stem
    with atomic_dir(out_dir) as tmp:
        for out, stem in progress(names.items(), desc="upscale", unit="image"):
            write_png(tmp / f"{out}.png", imresize_uint8(read_rgb(images[stem]), scale))
    return len(names)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.upscale", DESCRIPTION, config=False)
    parser.add_argument("in_dir", metavar="IN_DIR", help="low-resolution images")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the upscaled PNGs go")
    parser.add_argument(
        "--scale", type=int, required=True, metavar="S", help="upscaling factor, 2 or more"
    )
    args = parser.parse_args(argv)
    if args.scale < 2:
        parser.error(f"--scale must be at least 2, got {args.scale}")
    n = upscale_folder(args.in_dir, args.out_dir, args.scale)
    print(f"upscale: {n} images x{args.scale} (MATLAB bicubic) -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    cli.run(main)
