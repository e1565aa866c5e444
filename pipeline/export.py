"""Stage 5: restored images -> the submission CSV, exactly as the leaderboard reads it."""

from __future__ import annotations

from pathlib import Path

from .core.config import cli
from .core.config.load import load_config
from .core.data.layout import data_path
from .core.report.summary import log_submission
from .core.runs.experiment import submission_targets, test_pred_dir
from .core.task.metrics import mean_y
from .core.task.submission import check_same_ids, check_values, format_csv, read_submission
from .core.task.task import Task
from .core.util.errors import UserError
from .core.util.files import write_text
from .core.util.images import list_images, read_rgb
from .core.util.progress import progress

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
    if not Task.of(cfg).has_submission and not paths:
        print(
            f"export: task.kind={cfg.task.kind} has no submission CSV (the mean-Y CSV is the "
            "descanning competition's); skipped, `score` reports PSNR/SSIM"
        )
        return 0
    pred_dir = Path(paths[0]) if paths else test_pred_dir(cfg)
    out = Path(paths[1]) if len(paths) > 1 else None
    if out is None and cfg.export.out:
        out = Path(cfg.export.out)
    if out is not None and out.suffix.lower() != ".csv":
        raise UserError(f"{out}: the submission must be a .csv file")

    images = list_images(pred_dir, "restored images")
    sample_path = args.sample or cfg.data.sample_submission
    test_dir = data_path(cfg, "test_scan")
    if sample_path:
        sample = read_submission(sample_path)
        check_same_ids(set(images), set(sample), str(pred_dir), str(sample_path))
        order = list(sample)
    else:
        if test_dir.is_dir():
            check_same_ids(
                set(images), set(list_images(test_dir, "test scans")), str(pred_dir), str(test_dir)
            )
        order = sorted(images)
    values = {
        stem: mean_y(read_rgb(images[stem])) for stem in progress(order, desc="export", unit="img")
    }

    targets = [out] if out is not None else submission_targets(cfg)
    check_values(values, str(pred_dir))
    text = format_csv(values, order)
    for target in targets:
        write_text(target, text)
    print(f"export: {len(values)} rows -> {', '.join(map(str, targets))}")
    if not paths:  # the experiment's own submission: traced to its models in W&B
        log_submission(cfg, targets[0])
    return 0


if __name__ == "__main__":
    cli.run(main)
