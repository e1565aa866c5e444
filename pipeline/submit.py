"""Optional last step: check a submission CSV and send it to Kaggle, or say how to."""

from __future__ import annotations

from pathlib import Path

from .core.config import cli
from .core.config.load import load_config
from .core.runs.experiment import submission_path
from .core.scoring.kaggle import submit_to_kaggle

DESCRIPTION = """\
Check the submission CSV as the leaderboard would read it (header, one finite value in
[0, 255] per id, no duplicates; the ids of data.sample_submission, or of the test scans under
data.root when that folder exists), then submit it to the Kaggle competition named by
kaggle.competition with a message naming the experiment and its CV.

  python -m pipeline.submit kaggle.competition=SLUG            submissions/<experiment>.csv
  python -m pipeline.submit FILE.csv kaggle.competition=SLUG   another file

With Kaggle credentials (KAGGLE_API_TOKEN or KAGGLE_USERNAME and KAGGLE_KEY in the
environment, or ~/.kaggle/kaggle.json or ~/.kaggle/access_token) it submits with the `kaggle`
client; without them, or with --dry-run, it prints the exact `kaggle competitions submit`
command to run instead. Needs the network only to submit."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.submit", DESCRIPTION)
    parser.usage = (
        "python -m pipeline.submit [FILE.csv] [--config FILE] [-m MESSAGE] [--dry-run] "
        "[key=value ...]"
    )
    parser.add_argument(
        "-m", "--message", help="submission message (default: experiment, CV, model, commit)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the command, even with credentials"
    )
    args = parser.parse_args(argv)
    files = [a for a in args.overrides if "=" not in a]
    if len(files) > 1:
        parser.error(f"expected at most one submission file, got {' '.join(files)}")
    cfg = load_config(args.config, [a for a in args.overrides if "=" in a])
    csv_path = Path(files[0]) if files else submission_path(cfg)
    submit_to_kaggle(cfg, csv_path, args.message, args.dry_run, say=print)
    return 0


if __name__ == "__main__":
    cli.run(main)
