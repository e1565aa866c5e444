"""What an experiment leaves once `infer` has scored it out of fold: the PNG plots in
runs/<experiment>/plots/ and one W&B summary run beside the fold runs."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from .config import to_dict
from .evaluation import side_by_side, worst_first
from .experiment import Experiment, load_triplets
from .plots import write_plots
from .tracking import Tracker

TRIPLET_COLUMN = "scan | prediction | clean"


def log_summary_run(cfg: DictConfig, plots: list[Path]) -> None:
    """The experiment's summary run: group = experiment (with the fold runs), job_type
    'summary'. It records the CV mean and std, a per-fold table, the per-image out-of-fold
    table worst first (the worst `wandb.oof_images` rows with their triplet), the plots, and
    the config the folds were trained with (its `infer` part: the settings that scored them)."""
    run = Experiment.of(cfg)
    trained = run.read_config() if run.config_path.is_file() else to_dict(cfg)
    config = trained | {"infer": to_dict(cfg.infer)}
    tracker = Tracker(cfg, name=f"{cfg.experiment}-summary", job_type="summary", config=config)
    if tracker.run is None:
        return
    try:
        cv = run.read_cv()
        rows = worst_first(run.read_oof())
        folds = run.fold_table()
        tracker.summary(
            {k: cv[k] for k in ("cv", "fold_mean", "fold_std", "identity", "y_mae", "psnr")}
            | {"folds": len(cv["folds"]), "images": len(rows)}
            | {f"fold{f['fold']}/score": f["score"] for f in cv["folds"]}
        )
        if folds:
            tracker.log_table("folds", list(folds[0]), [list(f.values()) for f in folds])
        shown = load_triplets(cfg, rows[: cfg.wandb.oof_images])
        images = [side_by_side(t.scan, t.pred, t.clean) for t in shown]
        images += [None] * (len(rows) - len(images))
        tracker.log_table(
            "oof",
            ["rank", *rows[0], TRIPLET_COLUMN],
            [
                [n + 1, *r.values(), img]
                for n, (r, img) in enumerate(zip(rows, images, strict=True))
            ],
        )
        tracker.log_image_files({f"plots/{p.stem}": p for p in plots})
    finally:
        tracker.finish()


def report_experiment(cfg: DictConfig) -> list[Path]:
    """Write the plots and log the W&B summary run (when W&B is on); returns the plot paths."""
    plots = write_plots(cfg)
    log_summary_run(cfg, plots)
    return plots
