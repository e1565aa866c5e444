"""Blending experiments for the leaderboard metric: each image's submitted mean Y is a weighted
mean of the experiments' mean Y of it, the weights non-negative and summing to one, fitted to
minimise the mean absolute error on the out-of-fold predictions (a linear programme). The
blend's CV is nested: each fold is blended with weights fitted on the other folds' images, so
the weights are never chosen on the images that score them."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from ..runs.experiment import Experiment
from ..task.task import Task
from ..util.errors import UserError


def fit_weights(predictions: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Weights w >= 0, sum 1, minimising mean |predictions @ w - truth| (predictions: images x
    experiments): min sum e subject to -e <= P w - t <= e, as a linear programme."""
    n, k = predictions.shape
    cost = np.concatenate([np.zeros(k), np.ones(n)])
    # sparse: a competition's OOF images (18K) would make the dense matrix gigabytes
    eye = sparse.identity(n, format="csr")
    upper = sparse.vstack(
        [sparse.hstack([predictions, -eye]), sparse.hstack([-predictions, -eye])], format="csr"
    )
    bound = np.concatenate([truth, -truth])
    equal = np.concatenate([np.ones(k), np.zeros(n)])[None]
    result = linprog(
        cost,
        A_ub=upper,
        b_ub=bound,
        A_eq=equal,
        b_eq=[1.0],
        bounds=[(0, None)] * (k + n),
        method="highs-ipm",  # interior point: 2 s for 18K images where the simplex takes 27
    )
    if not result.success:  # cannot happen for a feasible, bounded programme; stay safe
        return np.full(k, 1.0 / k)
    w = np.clip(result.x[:k], 0, None)
    return w / w.sum()


def out_of_fold(runs: list[Experiment]) -> dict[str, Any]:
    """The experiments' out-of-fold mean Y side by side, checked to be the same images in the
    same folds (blending across fold assignments would score images a model trained on)."""
    tables = []
    for run in runs:
        task = (run.read_cv() or {}).get("task", "descan")
        if not Task(task).is_competition:
            raise UserError(f"{run.cv_path}: a {task} experiment; blending is for descanning")
        rows = {r["stem"]: r for r in run.read_oof()}
        tables.append(rows)
    stems = sorted(tables[0])
    for run, rows in zip(runs[1:], tables[1:], strict=True):
        if sorted(rows) != stems or any(rows[s]["fold"] != tables[0][s]["fold"] for s in stems):
            raise UserError(
                f"{run.root}: its out-of-fold images or folds differ from {runs[0].name}'s; "
                "blend experiments trained on the same store"
            )
    first = tables[0]
    return {
        "stems": stems,
        "titles": [first[s]["title"] for s in stems],
        "folds": np.array([first[s]["fold"] for s in stems]),
        "truth": np.array([first[s]["mean_y_true"] for s in stems]),
        "identity": np.array([first[s]["identity_err"] for s in stems]),
        "pred": np.array([[t[s]["mean_y_pred"] for t in tables] for s in stems]),
    }


def nested_blend(oof: dict[str, Any]) -> dict[str, Any]:
    """Each fold blended with weights fitted on the other folds; and the weights fitted on all
    the out-of-fold images (what blends the test predictions)."""
    folds, pred, truth = oof["folds"], oof["pred"], oof["truth"]
    if len(set(folds.tolist())) < 2:
        raise UserError("blend: the nested fit needs out-of-fold images of two or more folds")
    blended = np.empty(len(truth))
    fold_weights = {}
    for fold in sorted(set(folds.tolist())):
        mine = folds == fold
        w = fit_weights(pred[~mine], truth[~mine])
        fold_weights[fold] = w.tolist()
        blended[mine] = pred[mine] @ w
    return {"blended": blended, "fold_weights": fold_weights, "weights": fit_weights(pred, truth)}
