"""Restoring images with an experiment's fold models: the ensemble over folds and TTA views,
tiled, on the test inputs; and each fold's model alone on its held-out training images, the
out-of-fold predictions the CV is scored on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from .errors import UserError
from .evaluation import evaluate
from .experiment import Experiment
from .fsutil import atomic_dir
from .imageio import read_rgb, write_png
from .models.checkpoint import load_checkpoint, model_from_checkpoint
from .pairing import held_out_inputs
from .progress import progress
from .store import PairStore
from .task import Task
from .tiling import TiledPredictor


def fold_models(
    cfg: DictConfig, run: Experiment, folds: list[int], device: torch.device
) -> dict[int, nn.Module]:
    """Each fold's best.pt as the model it was trained as, on `device`."""
    models = {}
    for fold in folds:
        path = run.best(fold)
        if not path.is_file():
            raise UserError(
                f"{path}: no checkpoint for fold {fold}; run `python -m pipeline.train` first"
            )
        trained = load_checkpoint(path).get("scale", 1)
        if trained != cfg.task.scale:
            raise UserError(f"{path}: trained for scale {trained}, but task.scale={cfg.task.scale}")
        models[fold] = model_from_checkpoint(path).to(device)
    return models


def predictor(cfg: DictConfig, models: list[nn.Module], device: torch.device) -> TiledPredictor:
    """The models averaged over infer.tta's views, tile by tile, as the config asks."""
    i = cfg.infer
    return TiledPredictor(
        models, i.tta, i.tile, i.overlap, i.batch, device, amp=cfg.train.amp, scale=cfg.task.scale
    )


def predict_oof(
    cfg: DictConfig, run: Experiment, store: PairStore, models: dict[int, nn.Module], device
) -> list[dict[str, Any]]:
    """Each fold's model on its held-out training images, written to pred/oof and scored;
    returns one row per image (stem, title, fold and the task's metrics), sorted by stem."""
    if store.scale != cfg.task.scale:
        raise UserError(
            f"{store.root}: prepared for scale {store.scale}, but task.scale={cfg.task.scale}; "
            "run `python -m pipeline.prepare` with this config"
        )
    task = Task.of(cfg)
    rows = []
    with atomic_dir(run.oof_dir) as out:
        for fold, model in models.items():
            indices = store.image_indices([fold])
            items = (
                (store.images[i].stem, np.asarray(store.scan(i)), np.asarray(store.clean(i)))
                for i in progress(indices, desc=f"oof fold {fold}", unit="img", leave=False)
            )
            result = evaluate(
                predictor(cfg, [model], device),
                items,
                task,
                keep=lambda stem, pred, out=out: write_png(out / f"{stem}.png", pred),
            )
            titles = {store.images[i].stem: store.images[i].title for i in indices}
            rows += [{**r, "title": titles[r["stem"]], "fold": fold} for r in result.rows]
    return sorted(rows, key=lambda r: r["stem"])


def predict_test(
    cfg: DictConfig, run: Experiment, models: list[nn.Module], device: torch.device
) -> Path:
    """The fold ensemble on every test input, written to pred/test; returns that folder."""
    scans = held_out_inputs(cfg)
    predict = predictor(cfg, models, device)
    with atomic_dir(run.test_dir) as out:
        for stem, path in progress(scans.items(), desc="test", unit="img"):
            write_png(out / f"{stem}.png", predict(read_rgb(path)))
    return run.test_dir
