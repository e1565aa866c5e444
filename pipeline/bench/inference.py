"""Part 3: inference, megapixels/s, with the model and the predictor `infer` builds: one pass,
8-view TTA, and 8 views x 3 folds."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..core.infer.predict import predictor as infer_predictor
from ..core.models.factory import build_checked_model
from . import Scale, page
from .training import sync


def bench_model(cfg: DictConfig, seed: int, device: torch.device) -> nn.Module:
    """The configured model as `infer` runs it (built as its checkpoints are rebuilt: the
    same wrapper for super-resolution), initialised from `seed` (speed needs no training)."""
    torch.manual_seed(seed)
    return build_checked_model(cfg)[0].to(device).eval()


def bench_inference(
    cfg: DictConfig, device: torch.device, scale: Scale, tile: int
) -> list[dict[str, Any]]:
    i = cfg.infer
    image = page(np.random.default_rng(1), scale.infer_side, scale.infer_side)
    models = [bench_model(cfg, k, device) for k in range(3)]
    modes = {
        "single pass": (models[:1], [0]),
        "8-view TTA": (models[:1], list(range(8))),
        "8-view TTA x 3 folds": (models, list(range(8))),
    }
    # infer's own predictor, with the benchmark's tile and views
    timed = OmegaConf.merge(cfg, {"infer": {"tile": tile, "overlap": min(i.overlap, tile // 4)}})
    predictors = {
        label: infer_predictor(OmegaConf.merge(timed, {"infer": {"tta": views}}), ms, device)
        for label, (ms, views) in modes.items()
    }
    for predictor in predictors.values():
        predictor(image[:tile, :tile])  # warm-up: one-time set-up of the kernels
    times: dict[str, list[float]] = {label: [] for label in modes}
    for _ in range(scale.repeats):  # round-robin, so a change in the machine's load hits all
        for label, predictor in predictors.items():
            start = time.perf_counter()
            predictor(image)
            sync(device)
            times[label].append(time.perf_counter() - start)
    rows = []
    for label, found in times.items():
        seconds = statistics.median(found)
        rows.append({"mode": label, "seconds": seconds, "mp_per_s": image.size / 3e6 / seconds})
    for row in rows:
        row["cost_vs_one_pass"] = row["seconds"] / rows[0]["seconds"]
    return rows
