"""Restoring images with an experiment's fold models: the ensemble over folds and TTA views,
tiled, on the test inputs; and each fold's model alone on its held-out training images, the
out-of-fold predictions the CV is scored on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..config.load import training_changes
from ..data.layout import held_out_inputs
from ..data.store import PairStore, check_trained_folds
from ..models.checkpoint import load_checkpoint, model_from_checkpoint
from ..runs.experiment import Experiment
from ..scoring.evaluation import evaluate
from ..scoring.finishing import nested_targets, shift_mean_y
from ..scoring.ladder import predict_held_out
from ..task.metrics import mean_y
from ..task.task import Task
from ..util.errors import NonFiniteError, UserError
from ..util.files import atomic_dir
from ..util.images import read_rgb, write_png
from ..util.progress import progress
from .tiling import TiledPredictor

SCORED_REMEDY = (
    ": scoring it there would score images it trained on; use the settings it was trained "
    "with, or train it again"
)


def fold_models(
    cfg: DictConfig,
    run: Experiment,
    folds: list[int],
    device: torch.device,
    store: PairStore | None = None,
) -> dict[int, nn.Module]:
    """Each fold's weights (train.select: final.pt or best.pt) as the model it was trained as,
    on `device`. The folds must have been trained with one config, for this task.scale, and
    (given the store) on this store's folds: a model is never scored on images it trained on."""
    models, trained_as = {}, {}
    for fold in folds:
        path = run.weights(fold, cfg.train.select)
        if not path.is_file():
            raise UserError(
                f"{path}: no checkpoint for fold {fold}; run `python -m pipeline.train` first"
            )
        state = load_checkpoint(path)
        if state.get("scale", 1) != cfg.task.scale:
            raise UserError(
                f"{path}: trained for scale {state.get('scale', 1)}, "
                f"but task.scale={cfg.task.scale}"
            )
        if store is not None:
            check_trained_folds(store, state.get("folds"), path, cfg.experiment, SCORED_REMEDY)
        trained_as[fold] = OmegaConf.to_container(OmegaConf.create(state.get("config", "")))
        models[fold] = model_from_checkpoint(path, state).to(device)
    first = folds[0]
    for fold in folds[1:]:
        changes = training_changes(trained_as[first], trained_as[fold], resuming=True)
        if changes:
            key, a, b = changes[0]
            raise UserError(
                f"{run.root}: folds {first} and {fold} were trained with different settings "
                f"({key}: {a} vs {b}); train them again with one config"
            )
    return models


@contextlib.contextmanager
def _finite(where: Path) -> Iterator[None]:
    """A model whose output is NaN or infinite (damaged weights) is a UserError naming them."""
    try:
        yield
    except NonFiniteError as e:
        raise UserError(f"{where}: {e}; these weights cannot restore images") from None


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
    task = Task.of(cfg)
    rows = []
    with atomic_dir(run.oof_dir) as out:
        for fold, model in models.items():
            indices = store.image_indices([fold])
            items = (
                (store.images[i].stem, np.asarray(store.scan(i)), np.asarray(store.clean(i)))
                for i in progress(indices, desc=f"oof fold {fold}", unit="img", leave=False)
            )
            with _finite(run.weights(fold, cfg.train.select)):
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
    with atomic_dir(run.test_dir) as out, _finite(run.root):
        for stem, path in progress(scans.items(), desc="test", unit="img"):
            write_png(out / f"{stem}.png", predict(read_rgb(path)))
    return run.test_dir


def finish_oof(
    cfg: DictConfig, run: Experiment, store: PairStore, rows: list[dict[str, Any]], ladder: dict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Finishing, out of fold: each OOF image shifted to its nested target (w fitted on the
    other folds' rows), rewritten in pred/oof and scored again. Returns the new rows and the
    finishing record (the weights)."""
    task = Task.of(cfg)
    fit = nested_targets(rows, ladder["oof"]["regressor"])
    index = {r.stem: i for i, r in enumerate(store.images)}
    finished = []
    with atomic_dir(run.oof_dir) as out:
        for row in progress(rows, desc="finish oof", unit="img", leave=False):
            i = index[row["stem"]]
            image = shift_mean_y(
                read_rgb(run.oof_dir / f"{row['stem']}.png"), fit["targets"][row["stem"]]
            )
            write_png(out / f"{row['stem']}.png", image)
            scan, clean = np.asarray(store.scan(i)), np.asarray(store.clean(i))
            scored = task.score(image, clean, task.baseline(scan))
            finished.append({**row, **scored})
    record = {"fold_weights": fit["fold_weights"], "weight": fit["weight"]}
    return finished, record


def finish_test(cfg: DictConfig, run: Experiment, store: PairStore, weight: float) -> None:
    """Finishing, on the test images: the regressor fitted on all training pairs, each
    restored test image shifted to `weight` x its mean Y + (1 - weight) x the regressor's."""
    regressor = predict_held_out(store, held_out_inputs(cfg))["regressor"]
    with atomic_dir(run.test_dir) as out:
        for stem, reg in progress(sorted(regressor.items()), desc="finish test"):
            image = read_rgb(run.test_dir / f"{stem}.png")
            target = weight * mean_y(image) + (1 - weight) * reg
            write_png(out / f"{stem}.png", shift_mean_y(image, target))
