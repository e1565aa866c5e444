"""Blending experiments for the leaderboard metric: each image's submitted mean Y is a weighted
mean of the experiments' mean Y of it, the weights non-negative and summing to one, fitted to
minimise the mean absolute error on the out-of-fold predictions (a linear programme). The
blend's CV is nested: each fold is blended with weights fitted on the other folds' images, so
the weights are never chosen on the images that score them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from omegaconf import DictConfig
from scipy import sparse
from scipy.optimize import linprog

from ..config.load import to_yaml
from ..data.layout import data_path
from ..runs.experiment import Experiment, submission_targets
from ..task.submission import (
    check_same_ids,
    clamp_values,
    format_csv,
    leaderboard_score,
    read_submission,
)
from ..task.task import Task
from ..util.errors import UserError
from ..util.files import write_text
from ..util.images import list_images
from .evaluation import cv_line, cv_summary, ladder_line, leaderboard_row
from .held_out import saved_mean_y


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
        task = (run.read_cv() or {}).get("task")
        if not Task.named(task).is_competition:
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


def blend_experiments(cfg: DictConfig, names: list[str], say: Callable[[str], None]) -> None:
    """What `blend` does: the experiments `names` blended out of fold and on the test images,
    the blend written as experiment cfg.experiment (cv.json, oof_scores.csv, the submission,
    a leaderboard row); `say` gets each line to print."""
    task = Task.of(cfg)
    if not task.is_competition:
        raise UserError("task.kind: blending fits the leaderboard's mean-Y metric (descan)")
    start = time.perf_counter()
    runs = [Experiment(cfg.runs, name) for name in names]
    for run in runs:
        if run.read_cv() is None:
            raise UserError(f"{run.cv_path}: not found; run `python -m pipeline.infer` for it")
    oof = out_of_fold(runs)
    fit = nested_blend(oof)
    rows = blended_rows(oof, fit["blended"])
    cv = {
        "experiment": cfg.experiment,
        **cv_summary(rows, task),
        "blend": {
            "experiments": names,
            "weights": fit["weights"].tolist(),
            "fold_weights": fit["fold_weights"],
        },
    }
    ladder = runs[0].read_cv().get("ladder")  # the experiments share one store, so one ladder
    if ladder:
        cv["ladder"] = ladder
    blend = Experiment.of(cfg)
    blend.write_config(to_yaml(cfg))
    blend.write_cv(cv)
    blend.write_oof(rows, list(rows[0]))
    values = test_values(runs, fit["weights"])
    targets = submission_targets(cfg)
    for target in targets:
        write_text(target, format_csv(values))
    weights = "  ".join(f"{n} {w:.3f}" for n, w in zip(names, fit["weights"], strict=True))
    say(f"blend: weights fitted on all out-of-fold images: {weights}")
    say(cv_line(cv, task, ", each fold blended with weights fitted on the others"))
    for run in runs:
        say(f"  {run.name}: CV {run.read_cv()['cv']:.4f}")
    if ladder:
        say(ladder_line(cv))
    say(f"blend: {len(values)} rows -> {', '.join(map(str, targets))}")
    line = test_score_line(cfg, values, targets[0])
    if line:
        say(line)
    model = "blend of " + "+".join(names)
    blend.record_leaderboard(leaderboard_row(cv, model, time.perf_counter() - start))


def test_score_line(cfg: DictConfig, values: dict[str, float], target) -> str | None:
    """`<experiment>: test <score>` where the folder has the test truth (a study set, the
    demo), else None."""
    truth_csv = data_path(cfg, "test_truth")
    if not truth_csv.is_file():
        return None
    score = leaderboard_score(values, read_submission(truth_csv, extra_columns=True))
    return f"{cfg.experiment}: test {score:.4f} ({target} against {truth_csv})"


def blended_rows(oof: dict[str, Any], blended: np.ndarray) -> list[dict[str, Any]]:
    """Out-of-fold rows of a blend (or any mixture of the experiments' predictions), one per
    image, as oof_scores.csv holds them."""
    truth, identity = oof["truth"], oof["identity"]
    return [
        {
            "stem": stem,
            "title": oof["titles"][i],
            "fold": int(oof["folds"][i]),
            "abs_err": float(abs(blended[i] - truth[i])),
            "identity_err": float(identity[i]),
            "mean_y_pred": float(blended[i]),
            "mean_y_true": float(truth[i]),
        }
        for i, stem in enumerate(oof["stems"])
    ]


def test_values(runs: list[Experiment], weights: np.ndarray) -> dict[str, float]:
    """The blended value of each test image: the weighted mean of the experiments' mean Y of
    their restored test images, exactly as saved."""
    images = [list_images(run.test_dir, "restored test images") for run in runs]
    for run, found in zip(runs[1:], images[1:], strict=True):
        check_same_ids(set(found), set(images[0]), str(run.test_dir), str(runs[0].test_dir))
    stems = sorted(images[0])
    means = [saved_mean_y(found, stems, run.name) for run, found in zip(runs, images, strict=True)]
    values = np.array([[m[s] for m in means] for s in stems]) @ weights  # images x experiments
    return clamp_values(dict(zip(stems, values, strict=True)))
