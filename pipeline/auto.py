"""Stage: the procedure a competition folder gets by default (core/auto)."""

from __future__ import annotations

from .core.auto.run import auto_experiment
from .core.config import cli
from .core.util.distributed import configure_threads

DESCRIPTION = """\
The default for a competition folder, after `prepare`: the baseline ladder, then each of
auto.candidates (a whole-page correction, a local restorer, the two combined) trained on every
fold within its share of auto.minutes and inferred out of fold and on the test scans, as the
experiments <experiment>-<candidate> (each timed first: one that cannot train 3 epochs per
fold within the budget is left out, and the plan says so); then the choice by nested
cross-validation (each fold's option chosen on the other folds' images) among each
candidate, the best rung and their blend.
Unless the paired difference over the same images shows the choice better than the best rung
(its 95% interval below zero), the submission is a blend of the choice and the rung, its weights
fitted to the nested predictions, where that blend's own out-of-fold CV beats the rung's, and
otherwise the rung's; a line says which.

Prints the plan and its time first; then the chosen recipe with its CV and interval, the
runner-up, and the test score where the folder has data.test_truth. Writes
submissions/<experiment>.csv (export.out), runs/<experiment>/recipe.json (the candidates'
experiments, the weights, every option's CV, the evidence against the rung), and the
procedure's own cv.json, oof_scores.csv and leaderboard row.

  python -m pipeline.auto --config configs/descan.yaml data.root=DIR auto.minutes=20
  python -m pipeline.auto ... auto.recipe=runs/<experiment>/recipe.json
      the recorded recipe's submission again (pinned): nothing trained or chosen anew"""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.auto", DESCRIPTION)
    args, cfg = cli.parse_config(parser, argv)
    configure_threads()
    auto_experiment(cfg, args.config, list(args.overrides), say=print)
    return 0


if __name__ == "__main__":
    cli.run(main)
