"""The experiment's held-out test images: the submission CSV from their restored images
(`export`), and their score where their truth is known (the demos; `score`): the leaderboard
metric of the submission CSV for descanning, the task's image metrics for the other tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ..data.folds import title_of
from ..data.layout import data_path, held_out_inputs, held_out_targets
from ..runs.experiment import Experiment, submission_path, submission_targets, test_pred_dir
from ..task.metrics import mean_y
from ..task.submission import (
    check_same_ids,
    check_values,
    format_csv,
    read_submission,
    score_files,
)
from ..task.task import Task
from ..util.errors import UserError
from ..util.files import write_text
from ..util.images import list_images, read_rgb
from ..util.progress import progress
from .evaluation import interval_text, score_images
from .intervals import Interval, bootstrap_interval


def held_out_interval(submission: dict[str, float], truth: dict[str, float]) -> Interval:
    """The 95% interval of a submission's leaderboard metric over the test images: resampled
    by magazine title where the ids name two or more (`Title.page.crop`), else by image."""
    ids = sorted(truth)
    errors = [abs(submission[i] - truth[i]) for i in ids]
    titles = [title_of(i) for i in ids]
    if len(set(titles)) >= 2 and all("." in i for i in ids):
        return bootstrap_interval(errors, titles, "title")
    return bootstrap_interval(errors, ids, "image")


def _cv_report(cfg: DictConfig, say: Callable[[str], None]) -> None:
    run, task = Experiment.of(cfg), Task.of(cfg)
    cv = run.read_cv()
    if cv is None:
        say(f"{cfg.experiment}: no CV yet ({run.cv_path} is written by `python -m pipeline.infer`)")
    elif task.is_competition:
        say(
            f"{cfg.experiment}: CV {cv['cv']:.4f}{interval_text(cv.get('interval'))} over "
            f"{cv['images']} out-of-fold images "
            f"(folds {cv['fold_mean']:.4f} ± {cv['fold_std']:.4f})   identity {cv['identity']:.4f}"
            + (
                f"   (pixel Y-MAE {cv['y_mae']:.3f}, PSNR {cv['psnr']:.2f} dB)"
                if "y_mae" in cv
                else ""
            )
        )
    else:
        say(
            f"{cfg.experiment}: CV ({task.metric_names}, {cv['images']} out-of-fold images) "
            f"{task.metrics_line(cv)}"
        )


def _test_images(
    cfg: DictConfig, targets: dict[str, Path]
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(stem, prediction, input, truth) of each held-out test image with a known truth."""
    pred_dir, inputs = test_pred_dir(cfg), held_out_inputs(cfg)
    for stem, truth_path in sorted(targets.items()):
        pred_path = pred_dir / f"{stem}.png"
        if not pred_path.is_file() or stem not in inputs:
            raise UserError(f"{pred_dir}: no prediction '{stem}.png' for {truth_path}")
        truth, pred = read_rgb(truth_path), read_rgb(pred_path)
        if pred.shape != truth.shape:
            raise UserError(
                f"{pred_path}: {pred.shape[1]}x{pred.shape[0]}, but {truth_path} "
                f"is {truth.shape[1]}x{truth.shape[0]}"
            )
        yield stem, pred, read_rgb(inputs[stem]), truth


def experiment_report(cfg: DictConfig, say: Callable[[str], None]) -> None:
    """The experiment's CV and, where the held-out truth is known, its test score: the
    leaderboard metric of its submission CSV for descanning, PSNR/SSIM for the other tasks
    (what `score` prints, line by line to `say`)."""
    task = Task.of(cfg)
    _cv_report(cfg, say)
    if not task.has_submission:
        targets = held_out_targets(cfg)
        if targets is None or not test_pred_dir(cfg).is_dir():
            return
        test = score_images(_test_images(cfg, targets), task).summary
        say(
            f"{cfg.experiment}: test ({task.metric_names}, {test['images']} images) "
            f"{task.metrics_line(test)}"
        )
        return
    truth = data_path(cfg, "test_truth")
    submission = submission_path(cfg)
    if truth.is_file() and submission.is_file():
        truths = read_submission(truth, extra_columns=True)
        score = score_files(str(submission), str(truth))
        interval = held_out_interval(read_submission(submission), truths).record()
        say(
            f"{cfg.experiment}: test {score:.4f}{interval_text(interval)} "
            f"({submission} against {truth}, {len(truths)} images)"
        )


def check_test_ids(
    cfg: DictConfig, ids: set[str], where: str, sample: str | None = None
) -> list[str]:
    """The order a submission of `ids` is written in, checked as the leaderboard would check
    it: the ids and order of the sample submission (`sample`, or data.sample_submission) when
    there is one; else sorted, and the ids of the test scans under data.root when that folder
    exists. `where` names the ids' source in the error."""
    sample = sample or cfg.data.sample_submission
    if sample:
        order = list(read_submission(sample))
        check_same_ids(ids, set(order), where, str(sample))
        return order
    test_dir = data_path(cfg, "test_scan")
    if test_dir.is_dir():
        check_same_ids(ids, set(list_images(test_dir, "test scans")), where, str(test_dir))
    return sorted(ids)


def saved_mean_y(images: dict[str, Path], order: list[str], desc: str) -> dict[str, float]:
    """The mean Y of each image (by stem, in `order`), from the file exactly as saved: what
    the leaderboard computes of a restored image."""
    return {stem: mean_y(read_rgb(images[stem])) for stem in progress(order, desc=desc, unit="img")}


def export_submission(
    cfg: DictConfig,
    pred_dir: str | None,
    out: str | None,
    sample: str | None,
    say: Callable[[str], None],
) -> list[Path]:
    """What `export` does: the submission CSV of the restored images in `pred_dir` (or the
    experiment's test predictions), written to `out` (or export.out, or the experiment's
    submission and its copy), ids checked against `sample` (or data.sample_submission) or the
    test scans; `say` gets each line to print. Returns the files written, none for a task
    without a submission CSV."""
    if not Task.of(cfg).has_submission and pred_dir is None:
        say(
            f"export: task.kind={cfg.task.kind} has no submission CSV (the mean-Y CSV is the "
            "descanning competition's); skipped, `score` reports PSNR/SSIM"
        )
        return []
    preds = Path(pred_dir) if pred_dir else test_pred_dir(cfg)
    target = Path(out) if out else Path(cfg.export.out) if cfg.export.out else None
    if target is not None and target.suffix.lower() != ".csv":
        raise UserError(f"{target}: the submission must be a .csv file")
    images = list_images(preds, "restored images")
    order = check_test_ids(cfg, set(images), str(preds), sample)
    values = saved_mean_y(images, order, "export")
    check_values(values, str(preds))
    targets = [target] if target is not None else submission_targets(cfg)
    text = format_csv(values, order)
    for path in targets:
        write_text(path, text)
    say(f"export: {len(values)} rows -> {', '.join(map(str, targets))}")
    return targets
