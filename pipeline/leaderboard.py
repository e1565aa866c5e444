"""The local leaderboard: one row per finished experiment, best CV first; and what changed
between two experiments."""

from __future__ import annotations

from pathlib import Path

from .core.config import cli
from .core.runs.leaderboard import leaderboard_table
from .core.scoring.evaluation import experiment_diff
from .core.util.errors import UserError

DESCRIPTION = """\
  python -m pipeline.leaderboard
      Print runs/leaderboard.csv, best CV first within each task: `cv` is the task's metric
      over all out-of-fold images (descan: the leaderboard's mean-Y MAE, lower is better;
      the other tasks: PSNR, higher is better), `cv_low` and `cv_high` its 95% interval (a
      bootstrap over titles), `baseline` the same for the scans unchanged
      (or bicubic), `fold_std` the spread of the folds. `infer` adds or replaces a row each
      time an experiment's out-of-fold predictions are scored.

  python -m pipeline.leaderboard --diff EXP_A EXP_B
      What a change bought: the config keys whose values differ between
      runs/EXP_A/config.yaml and runs/EXP_B/config.yaml (the experiment name aside), then both
      CV scores from cv.json and the delta B - A (negative: B is better); then the paired
      difference over the same out-of-fold images (oof_scores.csv): the mean of B - A, its
      95% interval (a bootstrap over titles, or images when the folds split titles) and the
      share of draws in which B is better. Experiments whose out-of-fold images or folds
      differ are refused (exit 2): their scores do not pair."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.leaderboard", DESCRIPTION, config=False)
    parser.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    parser.add_argument(
        "--diff",
        nargs=2,
        metavar=("EXP_A", "EXP_B"),
        help="the config keys that differ between two experiments, the CV delta and its "
        "paired interval",
    )
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    if args.diff:
        a, b = args.diff
        if a == b:
            raise UserError(f"--diff: compare two different experiments, got '{a}' twice")
        print(experiment_diff(runs, a, b))
        return 0
    print(leaderboard_table(runs))
    return 0


if __name__ == "__main__":
    cli.run(main)
