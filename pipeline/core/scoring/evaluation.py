"""Scoring restored images against their truth, the one way validation, `infer` (out of fold
and test) and `score` all do it: one row per image (`Task.score`), and summaries that average
over images, as a leaderboard does. A fold's summary is the mean over its images; the CV is
the mean over all out-of-fold images, not the mean of the folds' means (folds grouped by
title differ in size); the fold means and their spread are reported beside it."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..runs.experiment import Experiment
from ..runs.leaderboard import diff_report
from ..runs.tracking import git_commit
from ..task.metrics import PAIR_METRICS
from ..task.task import Task, finite_mean
from ..util.errors import UserError, first_names
from ..util.images import list_images, read_rgb
from ..util.resize import modcrop
from .intervals import Interval, bootstrap_interval, paired_difference, resampling_units


@dataclass
class Evaluation:
    """Per-image rows (with `stem`), their summary, and the first images side by side."""

    rows: list[dict[str, Any]]
    summary: dict[str, float]
    triplets: list[tuple[str, np.ndarray]] = field(default_factory=list)


def side_by_side(*images: np.ndarray, max_side: int = 384) -> np.ndarray:
    """Images joined left to right, each shrunk by an integer step so the triplet stays small
    (a uint8 array for W&B and the plots; torchvision's make_grid works on float tensors and
    pads, which is more than a row of three needs)."""
    step = max(1, math.ceil(max(images[0].shape[:2]) / max_side))
    return np.concatenate([img[::step, ::step] for img in images], axis=1)


def summarize(rows: list[dict[str, Any]], task: Task) -> dict[str, float]:
    """The mean over images of every metric the task reports: `score` (the leaderboard metric,
    mean-Y MAE), `identity` (the same for the baseline), `y_mae` and `psnr` (where the rows have
    pixels; a blend's rows are mean Y only) and, for the tasks other than descan, `ssim`,
    `baseline_psnr`, `baseline_ssim` and `gain`. PSNR means skip infinite values (a perfect
    image)."""
    if not rows:
        raise ValueError("nothing to summarize: no images")
    out = {
        "images": len(rows),
        "score": float(np.mean([r["abs_err"] for r in rows])),
        "identity": float(np.mean([r["identity_err"] for r in rows])),
    }
    if "y_mae" in rows[0]:
        out["y_mae"] = float(np.mean([r["y_mae"] for r in rows]))
        out["psnr"] = finite_mean([r["psnr"] for r in rows])
    if task.reports_psnr_ssim:
        out |= {
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "baseline_psnr": finite_mean([r["baseline_psnr"] for r in rows]),
            "baseline_ssim": float(np.mean([r["baseline_ssim"] for r in rows])),
            "gain": finite_mean([r["gain"] for r in rows]),
        }
    return out


def baseline_value(summary: dict[str, float], task: Task) -> float:
    """The baseline's value of the task's metric: the scans unchanged (identity) for the
    leaderboard metric, the input's or bicubic's PSNR for the others."""
    return summary["identity"] if task.is_competition else summary["baseline_psnr"]


def score_images(
    items: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    task: Task,
    log_images: int = 0,
) -> Evaluation:
    """Score each (stem, prediction, input, truth) after uint8 rounding; the first
    `log_images` come back as scan | prediction | clean triplets (for sr the scan's bicubic
    upscale, the size of the others)."""
    rows, triplets = [], []
    for n, (stem, pred, scan, truth) in enumerate(items):
        base = task.baseline(scan)
        rows.append({"stem": stem, **task.score(pred, truth, base)})
        if n < log_images:
            triplets.append((f"{stem}: scan | prediction | clean", side_by_side(base, pred, truth)))
    return Evaluation(rows, summarize(rows, task), triplets)


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    items: Iterable[tuple[str, np.ndarray, np.ndarray]],
    task: Task,
    log_images: int = 0,
    keep: Callable[[str, np.ndarray], None] | None = None,
) -> Evaluation:
    """Restore each (stem, input, truth) with `predict` and score it (`score_images`);
    `keep(stem, prediction)` is called for each image, to write it."""

    def predicted():
        for stem, scan, truth in items:
            pred = predict(scan)
            if keep is not None:
                keep(stem, pred)
            yield stem, pred, scan, truth

    return score_images(predicted(), task, log_images)


def row_values(rows: list[dict[str, Any]], task: Task) -> list[float]:
    """Each row's value of the task's metric: its leaderboard error for descanning, its PSNR
    for the other tasks."""
    return [float(r["abs_err"] if task.is_competition else r[task.metric]) for r in rows]


def score_interval(rows: list[dict[str, Any]], task: Task) -> Interval | None:
    """The 95% bootstrap interval of the task's metric over `rows` (each with its `stem`, and
    its `title` and `fold` where known), resampled by title when the folds were drawn by title,
    else by image; None where a value is not finite (a perfect image's PSNR)."""
    values = row_values(rows, task)
    if not rows or not np.all(np.isfinite(values)):
        return None
    stems = [str(r.get("stem", i)) for i, r in enumerate(rows)]
    if "title" not in rows[0] or "fold" not in rows[0]:
        return bootstrap_interval(values, stems, "image")
    units, unit = resampling_units(stems, [r["title"] for r in rows], [r["fold"] for r in rows])
    return bootstrap_interval(values, units, unit)


def interval_text(interval: dict[str, Any] | None, digits: int = 4) -> str:
    """ " (95% interval L to H over N titles)", or nothing where there is no interval."""
    if not interval:
        return ""
    return (
        f" (95% interval {interval['low']:.{digits}f} to {interval['high']:.{digits}f} over "
        f"{interval['units']} {interval['unit']}s)"
    )


def cv_summary(rows: list[dict[str, Any]], task: Task) -> dict[str, Any]:
    """The CV of out-of-fold rows (each with its `fold`): `cv`, the task's metric over all the
    images (what a leaderboard computes from the out-of-fold predictions), the other metrics
    over all images, each fold's summary, and the mean and spread of the fold values."""
    overall = summarize(rows, task)
    folds = []
    for fold in sorted({r["fold"] for r in rows}):
        folds.append({"fold": fold, **summarize([r for r in rows if r["fold"] == fold], task)})
    values = [f[task.metric] for f in folds]
    interval = score_interval(rows, task)
    return {
        "task": task.kind,
        "scale": task.scale,
        "metric": task.metric,
        "cv": overall[task.metric],
        "baseline": baseline_value(overall, task),
        **overall,
        "fold_mean": float(np.mean(values)),
        "fold_std": float(np.std(values)),
        "folds": folds,
        **({"interval": interval.record()} if interval is not None else {}),
    }


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


def fold_line(fold: dict[str, Any], task: Task) -> str:
    """One fold's out-of-fold summary, as `infer` prints it."""
    if task.is_competition:
        return (
            f"fold {fold['fold']}: {fold['score']:.4f}  identity {fold['identity']:.4f}  "
            f"({fold['images']} images, y_mae {fold['y_mae']:.3f}, psnr {fold['psnr']:.2f})"
        )
    return f"fold {fold['fold']}: {task.kind} {task.metrics_line(fold)}  ({fold['images']} images)"


def cv_line(cv: dict[str, Any], task: Task, how: str = "") -> str:
    """The CV as `infer` and `blend` print it: over all out-of-fold images (`how` says how they
    were predicted, when it needs saying), its 95% interval (a bootstrap over titles, where
    the CV has one), the folds' spread beside."""
    folds = f"folds {cv['fold_mean']:.4f} ± {cv['fold_std']:.4f}"
    interval = interval_text(cv.get("interval"), 4 if task.is_competition else 2)
    if task.is_competition:
        return (
            f"CV score (leaderboard metric over {cv['images']} out-of-fold images{how}): "
            f"{cv['cv']:.4f}{interval}   {folds}   identity (scans unchanged): {cv['identity']:.4f}"
        )
    return (
        f"CV {task.kind} ({task.metric_names}, {cv['images']} out-of-fold images): "
        f"{task.metrics_line(cv)}{interval}   {folds}"
    )


def best_rung(ladder: dict[str, float]) -> str:
    """The rung of the baseline ladder with the lowest CV (the leaderboard metric's error)."""
    return min(ladder, key=ladder.__getitem__)


def ladder_line(cv: dict[str, Any]) -> str:
    """The baseline ladder beside the CV: each rung's CV on the same folds, and where the
    experiment stands among them."""
    ladder = cv["ladder"]
    rungs = "  ".join(f"{rung} {value:.4f}" for rung, value in ladder.items())
    best = best_rung(ladder)
    ratio = cv["cv"] / ladder[best] if ladder[best] > 0 else float("inf")
    verdict = "beats every rung" if cv["cv"] < ladder[best] else f"does not beat {best}"
    return f"ladder (same folds): {rungs}   the experiment {verdict} ({ratio:.2f} x {best})"


def leaderboard_row(
    cv: dict[str, Any], model: str, seconds: float, params: int | None = None
) -> dict[str, Any]:
    """An experiment's row on the local leaderboard, from its CV summary (`cv_summary`, as in
    cv.json): the task's metric over all out-of-fold images and its 95% interval, the folds'
    spread, the baseline's
    value and the ladder's best rung, the pixel metrics where the CV has them; the model, its
    parameter count (a blend has none), the seconds it took, the commit and the time."""
    row = {
        "task": cv["task"],
        "model": model,
        "params": "" if params is None else params,
        "folds": len(cv["folds"]),
        "images": cv["images"],
        "cv": f"{cv['cv']:.6f}",
        "cv_low": f"{cv['interval']['low']:.6f}" if "interval" in cv else "",
        "cv_high": f"{cv['interval']['high']:.6f}" if "interval" in cv else "",
        "fold_std": f"{cv['fold_std']:.6f}",
        "baseline": f"{cv['baseline']:.6f}",
        "wall_s": f"{seconds:.0f}",
        "commit": git_commit(),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }
    if "ladder" in cv:
        best = best_rung(cv["ladder"])
        row["best_baseline"] = f"{best} {cv['ladder'][best]:.4f}"
    if "y_mae" in cv:
        row |= {"y_mae": f"{cv['y_mae']:.4f}", "psnr": f"{cv['psnr']:.3f}"}
    return row


def paired_line(exp_a: Experiment, exp_b: Experiment, task: Task) -> str:
    """B minus A over the same out-of-fold images, resampled by title (or image, as the CV's
    interval): the mean difference, its 95% interval and the share of draws in which B wins.
    Experiments scored on other images or other folds are refused: their CVs do not pair."""
    if not (exp_a.oof_path.is_file() and exp_b.oof_path.is_file()):
        return "paired: no oof_scores.csv for both yet (`python -m pipeline.infer` writes it)"
    rows_a = {r["stem"]: r for r in exp_a.read_oof()}
    rows_b = {r["stem"]: r for r in exp_b.read_oof()}
    if rows_a.keys() != rows_b.keys():
        only = sorted(rows_a.keys() ^ rows_b.keys())
        raise UserError(
            f"--diff: {exp_a.name} and {exp_b.name} were scored on different out-of-fold "
            f"images ({len(only)} in one only, e.g. {only[0]}); a paired difference needs the same"
        )
    stems = sorted(rows_a)
    if moved := [s for s in stems if int(rows_a[s]["fold"]) != int(rows_b[s]["fold"])]:
        raise UserError(
            f"--diff: {exp_a.name} and {exp_b.name} hold out {len(moved)} image(s) in different "
            f"folds (e.g. {moved[0]}); a paired difference needs the same folds"
        )
    a = [rows_a[s] for s in stems]
    units, unit = resampling_units(
        stems, [r.get("title", r["stem"]) for r in a], [int(r["fold"]) for r in a]
    )
    diff = paired_difference(
        row_values(a, task),
        row_values([rows_b[s] for s in stems], task),
        units,
        unit,
        task.lower_is_better,
    )
    return (
        f"paired ({len(stems)} out-of-fold images, {diff.interval.units} {unit}s): "
        f"{exp_b.name} - {exp_a.name} {diff.mean:+.4f}, 95% interval "
        f"{diff.interval.low:+.4f} to {diff.interval.high:+.4f}; {exp_b.name} better in "
        f"{100 * diff.b_wins:.0f}% of draws"
    )


def experiment_diff(runs: Path, a: str, b: str) -> str:
    """The text `leaderboard --diff A B` prints: the changed config keys and both CVs
    (`runs.leaderboard.diff_report`), then B - A paired over the same out-of-fold images."""
    text = diff_report(runs, a, b)
    cv_b = Experiment(runs, b).read_cv()
    if cv_b is None:
        return text
    task = Task(cv_b["task"], cv_b["scale"])
    return text + "\n" + paired_line(Experiment(runs, a), Experiment(runs, b), task)


def score_folders(
    pred_dir: str | Path, gt_dir: str | Path, metric: str, crop_border: int, scale: int = 1
) -> dict[str, float]:
    """The metric of each prediction against its ground truth, by file stem, in stem order."""
    fn = PAIR_METRICS[metric]
    preds = list_images(pred_dir, "predictions")
    truths = list_images(gt_dir, "ground-truth images")
    if unmatched := preds.keys() - truths.keys():
        raise UserError(f"{gt_dir}: no ground truth for prediction(s) {first_names(unmatched)}")
    if unmatched := truths.keys() - preds.keys():
        raise UserError(f"{pred_dir}: no prediction for ground truth {first_names(unmatched)}")
    values = {}
    for stem in sorted(preds):
        pred = read_rgb(preds[stem])
        truth = modcrop(read_rgb(truths[stem]), scale)
        if pred.shape != truth.shape:
            if scale > 1:
                hint = f" after cropping to a multiple of {scale} (expected the same size)"
            else:
                hint = " (expected the same size; for super-resolution give --scale)"
            raise UserError(
                f"{preds[stem]}: prediction is {pred.shape[1]}x{pred.shape[0]} but ground truth "
                f"{truths[stem].name} is {truth.shape[1]}x{truth.shape[0]}{hint}"
            )
        try:
            values[stem] = fn(pred, truth, crop_border)
        except ValueError as e:  # an image too small for the crop border or the SSIM window
            raise UserError(f"{preds[stem]}: {e}") from None
    return values
