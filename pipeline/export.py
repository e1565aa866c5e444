"""Stage 5: restored images -> the submission CSV, exactly as the leaderboard reads it."""

from __future__ import annotations

from .core.config import cli
from .core.config.load import load_config
from .core.report.summary import log_submission
from .core.scoring.held_out import export_submission

DESCRIPTION = """\
Compute each restored image's mean Y (OpenCV BGR->YUV, from the uint8 image exactly as saved)
and write the submission CSV: header 'Image File,Y Channel Value', one row per image, ids
sorted, or in the order of data.sample_submission when one is given (ids must then match).
The ids must also match the test scans under data.root when that folder exists.

  python -m pipeline.export                      runs/<experiment>/pred/test -> submissions/
  python -m pipeline.export PRED_DIR OUT.csv     explicit folders

Without OUT.csv it writes submissions/<experiment>.csv and a copy as submissions/submission.csv.

The submission CSV is the descanning competition's. For another task.kind (deblur, denoise,
deflare, sr) there is none to write: without explicit folders export says so and does
nothing, and `score` reports the task's PSNR/SSIM instead."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.export", DESCRIPTION)
    parser.usage = (
        "python -m pipeline.export [PRED_DIR [OUT.csv]] [--config FILE] [--sample CSV] "
        "[key=value ...]"
    )
    parser.add_argument("--sample", help="sample submission whose ids and order to follow")
    args = parser.parse_args(argv)
    paths = [a for a in args.overrides if "=" not in a]
    if len(paths) > 2:
        parser.error(f"expected at most PRED_DIR and OUT.csv, got {' '.join(paths)}")
    cfg = load_config(args.config, [a for a in args.overrides if "=" in a])
    pred_dir, out = [*paths, None, None][:2]
    targets = export_submission(cfg, pred_dir, out, args.sample, say=print)
    if targets and pred_dir is None:  # the experiment's own submission: traced to its models in W&B
        log_submission(cfg, targets[0])
    return 0


if __name__ == "__main__":
    cli.run(main)
