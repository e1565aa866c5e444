"""Image metrics of a folder of predictions against a folder of ground truth (SR, deblurring)."""

from __future__ import annotations

import numpy as np

from .core.config import cli
from .core.scoring.evaluation import score_folders
from .core.task.metrics import PAIR_METRICS

DESCRIPTION = """\
Compare every image in PRED_DIR with the image of the same file stem in GT_DIR and print one
line per image, then the mean over all images alone on the last line.

Metrics (--metric):
  psnr_y   PSNR on the MATLAB BT.601 Y of super-resolution papers (16 + 65.481 R + 128.553 G
           + 24.966 B, RGB in [0, 1]; not rounded), peak 255 (default)
  ssim_y   SSIM on that Y (11x11 Gaussian window, sigma 1.5, as Wang et al.'s MATLAB code)
  psnr     PSNR on RGB (the deblurring and denoising convention, with --crop-border 0)
  ssim     SSIM on RGB, the mean of the three channels
  y_mae    per-pixel mean absolute error of the leaderboard's Y (OpenCV, full range)

Super-resolution: --scale S crops each ground-truth image at the bottom and right to a multiple
of S (the benchmarks' 'modcrop': Set5's 512x512 baby is scored as 510x510 at x3) and makes
--crop-border default to S, the convention of the published tables:

  python -m pipeline.upscale data/set5/LR_bicubic/X3 /tmp/x3 --scale 3
  python -m pipeline.evaluate /tmp/x3 data/set5/HR --scale 3          # 30.40 (published 30.39)

A prediction without ground truth, ground truth without a prediction, or a size that differs
(after the crop to a multiple of S) is an error."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.evaluate", DESCRIPTION, config=False)
    parser.add_argument("pred_dir", metavar="PRED_DIR", help="predicted images")
    parser.add_argument("gt_dir", metavar="GT_DIR", help="ground-truth images, same file stems")
    parser.add_argument(
        "--metric", choices=sorted(PAIR_METRICS), default="psnr_y", help="default: %(default)s"
    )
    parser.add_argument(
        "--crop-border",
        type=int,
        metavar="N",
        help="pixels left out at each border (default: --scale, so 0 without it)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        metavar="S",
        help="super-resolution factor: crop ground truth to a multiple of S (default: none)",
    )
    args = parser.parse_args(argv)
    if args.scale is not None and args.scale < 1:
        parser.error(f"--scale must be at least 1, got {args.scale}")
    scale = args.scale or 1
    crop_border = args.crop_border if args.crop_border is not None else (args.scale or 0)
    if crop_border < 0:
        parser.error(f"--crop-border must be >= 0, got {crop_border}")
    values = score_folders(args.pred_dir, args.gt_dir, args.metric, crop_border, scale)
    width = max(len(stem) for stem in values)
    for stem, value in values.items():
        print(f"{stem:<{width}}  {value:.4f}")
    print(f"{args.metric}: mean over {len(values)} images, crop border {crop_border}")
    print(repr(float(np.mean(list(values.values())))))
    return 0


if __name__ == "__main__":
    cli.run(main)
