"""Scoring restored images against their truth: per-image rows and their summaries, as
validation, `infer` and `score` report them."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import metrics as M
from .store import PairStore
from .task import baseline, finite_mean, task_metrics
from .tiling import TiledPredictor


@dataclass
class Validation:
    score: float  # the leaderboard metric over the held-out images
    y_mae: float
    psnr: float
    identity: float  # the leaderboard metric of submitting the scans unchanged
    # The task's metrics (not descan): SSIM, the baseline's PSNR, the mean per-image gain.
    ssim: float = math.nan
    baseline_psnr: float = math.nan
    gain: float = math.nan
    per_image: list[dict[str, Any]] = field(default_factory=list)
    triplets: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def monitored(self, name: str) -> float:
        return getattr(self, name)


def side_by_side(*images: np.ndarray, max_side: int = 384) -> np.ndarray:
    """Images joined left to right, each shrunk by an integer step so the triplet stays small."""
    step = max(1, math.ceil(max(images[0].shape[:2]) / max_side))
    return np.concatenate([img[::step, ::step] for img in images], axis=1)


def validate(
    predictor: TiledPredictor,
    store: PairStore,
    indices: list[int],
    log_images: int = 0,
    task: str = "descan",
) -> Validation:
    """Full held-out images through the inference path, scored after uint8 rounding. For a
    task other than descan, psnr and ssim are the task's (Y with a `scale` border for sr,
    RGB otherwise), beside the baseline's (input unchanged, or MATLAB bicubic)."""
    rows, triplets = [], []
    scale = store.scale
    for n, i in enumerate(indices):
        scan, clean = np.asarray(store.scan(i)), np.asarray(store.clean(i))
        pred = predictor(scan)
        base = baseline(scan, scale)
        row = M.image_metrics(pred, clean)
        row["identity_err"] = M.abs_error_of_means(base, clean)
        row.update(task_metrics(pred, clean, base, task, scale))
        row["stem"] = store.images[i].stem
        rows.append(row)
        if n < log_images:
            triplets.append(
                (f"{row['stem']}: scan | prediction | clean", side_by_side(base, pred, clean))
            )
    extra = {}
    if task != "descan":
        extra = {
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "baseline_psnr": finite_mean([r["baseline_psnr"] for r in rows]),
            "gain": finite_mean([r["gain"] for r in rows]),
        }
    return Validation(
        score=float(np.mean([r["abs_err"] for r in rows])),
        y_mae=float(np.mean([r["y_mae"] for r in rows])),
        psnr=finite_mean([r["psnr"] for r in rows]),
        identity=float(np.mean([r["identity_err"] for r in rows])),
        **extra,
        per_image=rows,
        triplets=triplets,
    )


def worst_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ranked by the leaderboard error, worst first (ties by stem, so the order is fixed)."""
    return sorted(rows, key=lambda r: (-r["abs_err"], r["stem"]))


def title_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaderboard metric per magazine title (OOF rows grouped by title), worst first."""
    by_title: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_title[r["title"]].append(r)
    table = [
        {
            "title": title,
            "images": len(group),
            # one fold when folds are split by title; several with prepare.group=image
            "folds": " ".join(str(f) for f in sorted({r["fold"] for r in group})),
            "score": float(np.mean([r["abs_err"] for r in group])),
            "identity": float(np.mean([r["identity_err"] for r in group])),
            "y_mae": float(np.mean([r["y_mae"] for r in group])),
        }
        for title, group in by_title.items()
    ]
    return sorted(table, key=lambda t: (-t["score"], t["title"]))
