"""Redraw an experiment's plots and log its W&B summary run from the files it left."""

from __future__ import annotations

from .core.config import cli
from .core.report.summary import report_experiment
from .core.runs.experiment import Experiment
from .core.util.errors import UserError

DESCRIPTION = """\
`infer` does this at its end; run it alone to redraw the plots (say with plots.worst=12)
without predicting again. From runs/<experiment>/ (metrics.csv of each fold, oof_scores.csv,
cv.json, pred/oof) and the patch store it writes runs/<experiment>/plots/:

  curves.png  training loss and validation score per fold, epoch by epoch
  errors.png  per-image leaderboard error out of fold, against the scans unchanged
  worst.png   the plots.worst worst out-of-fold images: scan | prediction | clean

and logs one W&B run named <experiment>-summary in the experiment's group (CV mean and std,
per-fold and per-image tables with the worst wandb.oof_images triplets, the plots, the
config). W&B is offline unless wandb.mode or WANDB_MODE says otherwise; wandb.mode=disabled
skips the run."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.report", DESCRIPTION), argv)
    cv_path = Experiment.of(cfg).cv_path
    if not cv_path.is_file():
        raise UserError(
            f"{cv_path}: not found; run `python -m pipeline.infer` "
            f"for experiment '{cfg.experiment}' first"
        )
    plots = report_experiment(cfg)
    print(f"report: plots -> {plots[0].parent} ({', '.join(p.name for p in plots)})")
    return 0


if __name__ == "__main__":
    cli.run(main)
