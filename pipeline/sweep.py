"""One W&B sweep trial: train every fold with the trial's settings and report the CV mean."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from . import infer, prepare, train
from .core.config import cli
from .core.config.load import load_config
from .core.runs.experiment import Experiment
from .core.runs.tracking import Tracker

DESCRIPTION = """\
What `wandb agent` runs for each trial of configs/sweep.yaml. The sweep's choices arrive as
key=value overrides, like any stage's; the trial then runs prepare (a store that is up to
date is reused), train on all folds and infer with out-of-fold scoring, and logs to its W&B
run cv (the sweep's metric: the leaderboard metric over all out-of-fold images), the folds'
mean and spread, identity, each fold's score and the plots.

Each trial is its own experiment, <experiment>-<W&B run id>, so trials never overwrite each
other and each adds a row to runs/leaderboard.csv; the trial's run is in the W&B group
<experiment>. Inside a trial the stages log no runs of their own: the agent hands the trial
one run id, and the trial's run is that run.

Sweeps need W&B online (an account and the network); from the repository root:
  source .venv/bin/activate                       the agent starts `python` from PATH
  wandb sweep --project descan configs/sweep.yaml prints the sweep id
  wandb agent ENTITY/descan/SWEEP_ID --count 10

Run alone, it is one trial with the settings given, logged offline by default:
  python -m pipeline.sweep train.lr=0.003"""


@contextlib.contextmanager
def stage_runs_off() -> Iterator[None]:
    """Turn W&B off for the stages while the trial's own run stays open: under an agent,
    WANDB_RUN_ID names the trial's run, and a fold run started now would take the same id."""
    before = os.environ.get("WANDB_MODE")
    os.environ["WANDB_MODE"] = "disabled"
    try:
        yield
    finally:
        if before is None:
            del os.environ["WANDB_MODE"]
        else:
            os.environ["WANDB_MODE"] = before


def main(argv: list[str] | None = None) -> int:
    args, cfg = cli.parse_config(cli.stage_parser("pipeline.sweep", DESCRIPTION), argv)
    tracker = Tracker(cfg, name=None, job_type="sweep-trial")
    try:
        trial = f"{cfg.experiment}-{tracker.run.id if tracker.run else 'trial'}"
        overrides = [*args.overrides, f"experiment={trial}"]
        trial_cfg = load_config(args.config, overrides)
        if tracker.run is not None:
            tracker.run.name = trial
            tracker.run.config.update({"experiment": trial}, allow_val_change=True)
        print(f"sweep: trial '{trial}'")
        with stage_runs_off():
            for stage in (prepare, train, infer):
                stage.main(["--config", args.config, *overrides])
        trial_run = Experiment.of(trial_cfg)
        cv = trial_run.read_cv()
        result = {k: cv[k] for k in ("cv", "fold_mean", "fold_std", "identity")} | {
            f"fold{f['fold']}/score": f["score"] for f in cv["folds"]
        }
        tracker.log(result)
        tracker.summary(result)
        plots = sorted(trial_run.plots_dir.glob("*.png"))
        tracker.log_image_files({f"plots/{p.stem}": p for p in plots})
    finally:
        tracker.finish()
    print(f"sweep: trial '{trial}' cv {cv['cv']:.4f} (folds ± {cv['fold_std']:.4f})")
    return 0


if __name__ == "__main__":
    cli.run(main)
