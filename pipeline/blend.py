"""Blend experiments: weights fitted out of fold, a blended CV, a blended submission."""

from __future__ import annotations

from .core.config import cli
from .core.config.load import load_config
from .core.scoring.blending import blend_experiments

DESCRIPTION = """\
  python -m pipeline.blend EXP_A EXP_B [...] [experiment=NAME] [--config FILE] [key=value ...]

Blend finished experiments for the leaderboard metric: each image's value is a weighted mean
of the experiments' mean Y of it, the weights non-negative and summing to one, fitted to the
out-of-fold predictions (least absolute error, a linear programme). The blend's CV is nested:
each fold is blended with weights fitted on the other folds only, so it is not chosen on the
images it scores. The experiments must share their folds (one store).

Writes runs/<NAME>/cv.json and oof_scores.csv, the submission (submissions/<NAME>.csv and
submission.csv, or export.out) from the experiments' test predictions, and a leaderboard row
like any experiment's. NAME defaults to blend-EXP_A+EXP_B..."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.blend", DESCRIPTION)
    parser.usage = "python -m pipeline.blend EXP_A EXP_B [...] [--config FILE] [key=value ...]"
    args = parser.parse_args(argv)
    names = [a for a in args.overrides if "=" not in a]
    overrides = [a for a in args.overrides if "=" in a]
    if len(names) < 2 or len(set(names)) != len(names):
        parser.error("name two or more different experiments to blend")
    if not any(o.startswith("experiment=") for o in overrides):
        overrides.append(f"experiment=blend-{'+'.join(names)}")
    cfg = load_config(args.config, overrides)
    blend_experiments(cfg, names, say=print)
    return 0


if __name__ == "__main__":
    cli.run(main)
