"""The procedure's choice: which candidate, blend or cheap answer a folder's submission uses,
chosen by nested cross-validation so that nothing is chosen on the images it reports.

The inputs are out-of-fold predictions of each image's mean Y (what the leaderboard scores):
one column per candidate experiment and one for the ladder's best rung. The options are each
column alone and the blend of all columns (non-negative weights summing to one, fitted to
the least absolute error, `scoring.blending.fit_weights`). For each fold, the option with the
lowest error on the OTHER folds' images is chosen and applied to the fold: the procedure's
own out-of-fold predictions, whose CV is honest. The recipe for the test images is the option
chosen the same way on all the images.

Never below the cheap answer on its own evidence: unless the paired difference over the same
images (resampled by title) shows the procedure better than the rung, its interval wholly
below zero, the submission is not the models' recipe alone. It is then a blend of that recipe
and the rung, its two weights fitted to the procedure's nested out-of-fold predictions and
checked out of fold too (each fold's weights fitted on the other folds), where that check
beats the rung's CV and gives the models at least MIN_SHARE of the submission; otherwise the
rung alone. Where the models are better on average but too few titles show it, the blend keeps
part of their gain; where they are worse, the fitted weights leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scoring.blending import fit_weights
from ..scoring.intervals import bootstrap_interval, paired_difference, resampling_units

BLEND = "blend"
# The least weight the models' columns keep in a blend with the rung: below it the blend moves
# each prediction by under a tenth of the gap between the two, a gain within the fit's noise.
MIN_SHARE = 0.1


@dataclass
class Choice:
    """What the procedure submits and the evidence for it."""

    columns: list[str]  # the candidates' names, then the rung's
    weights: list[float]  # the recipe: the submitted mean Y is predictions @ weights
    option: str  # a column's name, "blend", or "<option>+<rung>" (hedged)
    fallback: bool  # the evidence did not show the models' recipe better than the rung
    hedge: float  # the recipe's share of the submission beside the rung: 1, 0 or between
    oof: np.ndarray  # the procedure's nested out-of-fold predictions
    cv: float  # their leaderboard metric
    interval: dict[str, Any]
    versus_rung: dict[str, Any]  # paired difference procedure - rung, its interval, wins
    option_cvs: dict[str, float]  # each option's honest CV (the blend's nested)
    fold_options: dict[int, str]  # the option each fold got, chosen on the other folds

    @property
    def runner_up(self) -> str:
        others = {k: v for k, v in self.option_cvs.items() if k != self.option}
        return min(others, key=others.__getitem__)

    def record(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "weights": self.weights,
            "option": self.option,
            "fallback": self.fallback,
            "hedge": self.hedge,
            "cv": self.cv,
            "interval": self.interval,
            "versus_rung": self.versus_rung,
            "option_cvs": self.option_cvs,
            "fold_options": {str(k): v for k, v in self.fold_options.items()},
            "runner_up": self.runner_up,
        }


def _options(pred: np.ndarray, truth: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
    """Each option's weights, fitted on these images."""
    k = len(columns)
    options = {name: np.eye(k)[i] for i, name in enumerate(columns)}
    if k > 1:
        options[BLEND] = fit_weights(pred, truth)
    return options


def best_option(pred: np.ndarray, truth: np.ndarray, columns: list[str]) -> tuple[str, np.ndarray]:
    """The option with the least mean absolute error on these images (ties: the earlier one,
    so a candidate listed first wins a tie with the rung only if it is first)."""
    options = _options(pred, truth, columns)
    errors = {name: float(np.mean(np.abs(pred @ w - truth))) for name, w in options.items()}
    name = min(errors, key=errors.__getitem__)
    return name, options[name]


def choose(
    pred: np.ndarray,
    truth: np.ndarray,
    folds: np.ndarray,
    stems: list[str],
    titles: list[str],
    columns: list[str],
) -> Choice:
    """The nested choice over `columns` (images x columns of predicted mean Y; the last column
    is the ladder's best rung) and the fallback to that rung."""
    if pred.shape != (len(truth), len(columns)):
        raise ValueError(f"predictions {pred.shape} for {len(truth)} images x {len(columns)}")
    fold_ids = sorted(set(folds.tolist()))
    if len(fold_ids) < 2:
        raise ValueError("the nested choice needs out-of-fold images of two or more folds")
    oof = np.empty(len(truth))
    fold_options = {}
    blended = np.empty(len(truth))
    for fold in fold_ids:
        mine = folds == fold
        name, w = best_option(pred[~mine], truth[~mine], columns)
        fold_options[fold] = name
        oof[mine] = pred[mine] @ w
        blended[mine] = pred[mine] @ fit_weights(pred[~mine], truth[~mine])
    units, unit = resampling_units(stems, titles, folds.tolist())
    errors = np.abs(oof - truth)
    rung_errors = np.abs(pred[:, -1] - truth)
    versus = paired_difference(rung_errors, errors, units, unit)
    option_cvs = {c: float(np.mean(np.abs(pred[:, i] - truth))) for i, c in enumerate(columns)}
    option_cvs[BLEND] = float(np.mean(np.abs(blended - truth)))
    name, w = best_option(pred, truth, columns)
    fallback = not versus.interval.high < 0
    hedge = 1.0
    if fallback:  # what is submitted is the hedge or the rung, and so is what is reported
        hedge, hedged_oof = (
            _hedge(oof, pred[:, -1], truth, folds) if name != columns[-1] else (0.0, None)
        )
        rung = np.eye(len(columns))[-1]
        if hedge * w[:-1].sum() < MIN_SHARE:  # the models' own part of the submission
            hedge = 0.0
        if hedge > 0:
            name, w, oof = f"{name}+{columns[-1]}", hedge * w + (1 - hedge) * rung, hedged_oof
        else:
            name, w, oof = columns[-1], rung, pred[:, -1].copy()
        errors = np.abs(oof - truth)
    return Choice(
        columns=list(columns),
        weights=[float(x) for x in w],
        option=name,
        fallback=fallback,
        hedge=hedge,
        oof=oof,
        cv=float(errors.mean()),
        interval=bootstrap_interval(errors, units, unit).record(),
        versus_rung=versus.record(),
        option_cvs=option_cvs,
        fold_options=fold_options,
    )


def _hedge(
    nested: np.ndarray, rung: np.ndarray, truth: np.ndarray, folds: np.ndarray
) -> tuple[float, np.ndarray]:
    """The models' share of a blend of their nested predictions and the rung's, fitted to all
    the images, and that blend's out-of-fold predictions (each fold's share fitted on the other
    folds); a share of 0 where those do not beat the rung's error."""
    pair = np.column_stack([nested, rung])
    blended = np.empty(len(truth))
    for fold in sorted(set(folds.tolist())):
        mine = folds == fold
        blended[mine] = pair[mine] @ fit_weights(pair[~mine], truth[~mine])
    share = float(fit_weights(pair, truth)[0])
    if share <= 0 or not np.mean(np.abs(blended - truth)) < np.mean(np.abs(rung - truth)):
        return 0.0, rung.copy()
    return share, blended
