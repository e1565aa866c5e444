"""An experiment's inference, what `infer` does: the fold ensemble on the test inputs and
each fold's model on its held-out training images, the CV they give, finishing, and the
experiment's leaderboard row."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig

from ..config.load import fold_list
from ..data.layout import open_store
from ..models import count_params
from ..runs.experiment import Experiment
from ..scoring.evaluation import cv_line, cv_summary, fold_line, ladder_line, leaderboard_row
from ..scoring.ladder import ladder_of
from ..task.task import Task
from ..util.distributed import resolve_device
from ..util.errors import UserError
from .predict import finish_oof, finish_test, fold_models, predict_oof, predict_test


def infer_experiment(cfg: DictConfig, say: Callable[[str], None]) -> dict[str, Any] | None:
    """What `infer` does: the fold ensemble on the test inputs and, with infer.oof, each fold's
    model on its held-out images, scored (cv.json, oof_scores.csv, a leaderboard row) and
    finished with infer.finish; the folds locked meanwhile. `say` gets each line to print.
    Returns the CV summary, or None without infer.oof."""
    start = time.perf_counter()
    task, run = Task.of(cfg), Experiment.of(cfg)
    folds = fold_list(cfg.infer.folds, "infer.folds", cfg.prepare.folds)
    if cfg.infer.finish and not (task.is_competition and cfg.infer.oof and len(folds) > 1):
        raise UserError(
            "infer.finish: fits the leaderboard's mean Y (descan) out of fold, so it needs "
            "infer.oof=true and two or more folds (infer.folds)"
        )
    device = resolve_device(cfg.train.device)
    with run.locked(list(range(cfg.prepare.folds)), "infer"):
        return _infer(cfg, task, run, folds, device, start, say)


def _infer(
    cfg: DictConfig,
    task: Task,
    run: Experiment,
    folds: list[int],
    device: torch.device,
    start: float,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    store = open_store(cfg) if cfg.infer.oof else None
    models = fold_models(cfg, run, folds, device, store)
    say(
        f"infer: {len(models)} fold model(s) x {len(cfg.infer.tta)} TTA view(s), "
        f"{cfg.infer.tile}px tiles on {device}"
    )
    summary, finishing = None, None
    if cfg.infer.oof:
        rows = predict_oof(cfg, run, store, models, device)
        summary = {"experiment": cfg.experiment, "tta": list(cfg.infer.tta)}
        if task.is_competition:  # the cheap answers, on the same folds
            ladder = ladder_of(store)
            summary["ladder"] = ladder["cv"]
            if cfg.infer.finish:
                raw = cv_summary(rows, task)["cv"]
                rows, finishing = finish_oof(cfg, run, store, rows, ladder)
                summary["finishing"] = {"cv_raw": raw, **finishing}
        run.write_oof(rows, ["stem", "title", "fold", *task.image_metrics])
        summary |= cv_summary(rows, task)
        run.write_cv(summary)
        for f in summary["folds"]:
            say(f"  {fold_line(f, task)}")
    say(f"infer: test predictions -> {predict_test(cfg, run, list(models.values()), device)}")
    if finishing is not None:
        finish_test(cfg, run, store, finishing["weight"])
        w = finishing["weight"]
        per_fold = ", ".join(f"{v:.2f}" for v in finishing["fold_weights"].values())
        say(
            f"infer: finishing: each image's mean Y moved to {w:.2f} x its own + {1 - w:.2f} x "
            f"the regressor's (fitted out of fold); CV {summary['finishing']['cv_raw']:.4f} -> "
            f"{summary['cv']:.4f} (each fold's weight fitted on the other folds: {per_fold})"
        )
    if summary is not None:
        train_seconds = sum(d["seconds"] for f in folds if (d := run.read_done(f)) is not None)
        seconds = train_seconds + time.perf_counter() - start
        params = count_params(models[folds[0]])
        run.record_leaderboard(leaderboard_row(summary, cfg.model.name, seconds, params))
        say(cv_line(summary, task))
        if "ladder" in summary:
            say(ladder_line(summary))
    return summary
