"""What an experiment leaves once `infer` has scored it out of fold: the PNG plots in
runs/<experiment>/plots/ and one W&B summary run beside the fold runs; and the W&B artifacts
that trace a submission to the fold checkpoints and the config that made it."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from ..config.load import to_dict
from ..runs.experiment import Experiment, load_triplets
from ..runs.tracking import Tracker, artifact_name, artifact_of, fold_model
from ..scoring.evaluation import side_by_side, worst_first
from .plots import write_plots

TRIPLET_COLUMN = "scan | prediction | clean"


def oof_files(cfg: DictConfig) -> list[Path]:
    """The out-of-fold artifact's files: the per-image table, the CV, the config."""
    run = Experiment.of(cfg)
    return [run.oof_path, run.cv_path, run.config_path]


def trained_folds(cfg: DictConfig) -> list[int]:
    run = Experiment.of(cfg)
    folds = range(cfg.prepare.folds)
    return [f for f in folds if run.weights(f, cfg.train.select).is_file() and run.read_done(f)]


def model_refs(cfg: DictConfig) -> list[dict[str, str]]:
    """References (name, type, digest) of the fold models as they are on disk."""
    refs = []
    for fold in trained_folds(cfg):
        name, files, _ = fold_model(cfg, fold)
        refs.append(artifact_of(name, "model", files)[1])
    return refs


def oof_ref(cfg: DictConfig) -> dict[str, str]:
    return artifact_of(artifact_name(cfg.experiment, "cv"), "oof", oof_files(cfg))[1]


def log_summary_run(cfg: DictConfig, plots: list[Path]) -> None:
    """The experiment's summary run: group = experiment (with the fold runs), job_type
    'summary'. It records the CV and the folds' spread, a per-fold table, the per-image
    out-of-fold table worst first (the worst `wandb.oof_images` rows with their triplet), the
    plots, the config the folds were trained with (its `infer` part: the settings that scored
    them), the fold models it used and the out-of-fold artifact."""
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
        tracker.use_artifacts(model_refs(cfg))
        meta = {k: cv[k] for k in ("cv", "fold_mean", "fold_std", "identity", "images")}
        tracker.log_artifact(artifact_name(cfg.experiment, "cv"), "oof", oof_files(cfg), meta)
    finally:
        tracker.finish()


def report_experiment(cfg: DictConfig) -> list[Path]:
    """Write the plots and log the W&B summary run (when W&B is on); returns the plot paths."""
    plots = write_plots(cfg)
    log_summary_run(cfg, plots)
    return plots


def log_submission(cfg: DictConfig, csv_path: Path) -> None:
    """A W&B run `<experiment>-submission` logging the submission CSV as an artifact, made
    from the out-of-fold artifact and the fold models (when W&B is on and infer scored the
    experiment)."""
    run = Experiment.of(cfg)
    cv = run.read_cv()
    if cv is None or not trained_folds(cfg):
        return
    tracker = Tracker(cfg, name=f"{cfg.experiment}-submission", job_type="submission")
    if tracker.run is None:
        return
    try:
        tracker.use_artifacts([oof_ref(cfg), *model_refs(cfg)])
        meta = {"experiment": cfg.experiment, "cv": cv["cv"], "file": csv_path.name}
        tracker.log_artifact(
            artifact_name(cfg.experiment, "submission"), "submission", [csv_path], meta
        )
    finally:
        tracker.finish()
