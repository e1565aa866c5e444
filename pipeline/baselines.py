"""The baseline ladder: the cheap answers every experiment is held to, scored out of fold."""

from __future__ import annotations

from .core.config import cli
from .core.scoring.ladder import score_baselines

DESCRIPTION = """\
Score the cheap answers on the same folds and with the same metric as the experiments:
  identity   the scans unchanged
  colormap   one least-squares affine colour map (scan RGB -> clean RGB, 12 numbers),
             fitted on each fold's training pairs
  regressor  a ridge regression of the clean mean Y from statistics of the scan (Y
             percentiles, chroma, RGB means), scikit-learn, strength by group CV over titles
  gbt        gradient-boosted trees (scikit-learn, absolute error, seeded) of the clean mean Y
             from the scan's R, G and B histograms and Y percentiles
Prints each one's CV (the leaderboard metric over all out-of-fold images), keeps it beside the
prepared store (ladder.json; `infer` and `leaderboard` show it next to every experiment), and
writes each one's submission for the test scans, fitted on all training pairs:
submissions/<experiment>-baseline-<rung>.csv, scored against data.test_truth when that
exists (the demo's). Seconds, not minutes. The descanning competition's ladder: other tasks
compare with their own baseline (the input, or bicubic) in every report."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.baselines", DESCRIPTION), argv)
    score_baselines(cfg, say=print)
    return 0


if __name__ == "__main__":
    cli.run(main)
