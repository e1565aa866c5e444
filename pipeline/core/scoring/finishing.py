"""Metric-aware finishing: move each restored image's brightness towards a blend of its own mean
Y and the baseline regressor's estimate, the blend fitted out of fold.

The leaderboard sees one number per image, its mean Y. A restorer trained on pixels gets the
detail right and the global tone only roughly; a regressor of the clean mean Y from the
scan's statistics gets the tone from many images at once. Finishing takes, for each image,
    target = w * (the model's mean Y) + (1 - w) * (the regressor's),
with w fitted on the out-of-fold predictions, and shifts the image's Y so that the uint8
image, as saved, has that mean (chroma kept). The CV of finishing is nested: each fold's w is
fitted on the other folds' out-of-fold rows, so the finished CV is not chosen on the images
it scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..task.metrics import mean_y
from ..util.images import to_uint8

WEIGHTS = np.linspace(0.0, 1.0, 101)


def _dither(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed offset in [-0.5, 0.5) per pixel (the same for R, G and B), spread evenly (an
    additive recurrence with the golden ratio): with it, rounding after a shift moves pixels
    one by one as the shift grows, instead of all at once at each half step."""
    n = np.arange(shape[0] * shape[1], dtype=np.float64)
    return (np.modf(n * 0.6180339887498949)[0] - 0.5).reshape(shape[0], shape[1], 1)


def shift_mean_y(rgb: np.ndarray, target: float, tolerance: float = 1e-3) -> np.ndarray:
    """`rgb` with one shift added to R, G and B (dithered by less than half a level), so that
    the uint8 image's mean Y, as the leaderboard computes it after rounding and clipping, lands
    as close to `target` as it can. The same shift on all three channels moves full-range
    BT.601 Y by that much and leaves U and V (scaled B - Y and R - Y) as they are. The shift is
    found by bisection, since clipping at 0 and 255 makes the mean move less than the shift."""
    x = rgb.astype(np.float64)
    best = to_uint8(x)
    best_err = abs(mean_y(best) - target)
    x = x + _dither(x.shape)
    lo, hi = -255.0, 255.0
    for _ in range(50):
        if best_err < tolerance:
            break
        d = 0.5 * (lo + hi)
        out = to_uint8(x + d)
        m = mean_y(out)
        if abs(m - target) < best_err:
            best, best_err = out, abs(m - target)
        if m < target:
            lo = d
        else:
            hi = d
    return best


def fit_weight(model: np.ndarray, regressor: np.ndarray, truth: np.ndarray) -> float:
    """The w in [0, 1] (steps of 0.01) that minimises the mean |w model + (1-w) regressor -
    truth|; ties go to the larger w (less change to the model's images)."""
    blends = WEIGHTS[:, None] * model[None] + (1 - WEIGHTS[:, None]) * regressor[None]
    errors = np.abs(blends - truth[None]).mean(1)
    best = errors.min()
    return float(WEIGHTS[np.flatnonzero(errors <= best + 1e-12)[-1]])


def nested_targets(rows: list[dict[str, Any]], regressor: dict[str, float]) -> dict[str, Any]:
    """Out-of-fold rows (stem, fold, mean_y_pred, mean_y_true) and the regressor's out-of-fold
    estimates -> each image's finishing target with w fitted on the other folds' rows, the
    per-fold w, and w fitted on all rows (what finishes the test images)."""
    stems = [r["stem"] for r in rows]
    folds = np.array([r["fold"] for r in rows])
    model = np.array([r["mean_y_pred"] for r in rows])
    truth = np.array([r["mean_y_true"] for r in rows])
    reg = np.array([regressor[s] for s in stems])
    targets, weights = {}, {}
    for fold in sorted(set(folds.tolist())):
        others, mine = folds != fold, folds == fold
        w = fit_weight(model[others], reg[others], truth[others])
        weights[fold] = w
        for i in np.flatnonzero(mine):
            targets[stems[i]] = w * model[i] + (1 - w) * reg[i]
    return {"targets": targets, "fold_weights": weights, "weight": fit_weight(model, reg, truth)}
