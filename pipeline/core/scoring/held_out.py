"""The experiment's held-out test images: the submission CSV from their restored images
(`export`), and their score where their truth is known (the demos; `score`): the leaderboard
metric of the submission CSV for descanning, the task's image metrics for the other tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

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
from .evaluation import score_images


def _cv_report(cfg: DictConfig, say: Callable[[str], None]) -> None:
    run, task = Experiment.of(cfg), Task.of(cfg)
    cv = run.read_cv()
    if cv is None:
        say(f"{cfg.experiment}: no CV yet ({run.cv_path} is written by `python -m pipeline.infer`)")
    elif task.is_competition:
        say(
            f"{cfg.experiment}: CV {cv['cv']:.4f} over {cv['images']} out-of-fold images "
            f"(folds {cv['fold_mean']:.4f} ± {cv['fold_std']:.4f})   identity {cv['identity']:.4f}"
            f"   (pixel Y-MAE {cv['y_mae']:.3f}, PSNR {cv['psnr']:.2f} dB)"
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
        n = len(read_submission(truth, extra_columns=True))
        say(
            f"{cfg.experiment}: test {score_files(str(submission), str(truth)):.4f} "
            f"({submission} against {truth}, {n} images)"
        )


def export_submission(
    cfg: DictConfig, paths: list[str], sample: str | None, say: Callable[[str], None]
) -> list[Path]:
    """What `export` does: the submission CSV of the restored images in `paths[0]` (or the
    experiment's test predictions), written to `paths[1]` (or export.out, or the experiment's
    submission and its copy), ids checked against `sample` (or data.sample_submission) or the
    test scans; `say` gets each line to print. Returns the files written, none for a task
    without a submission CSV."""
    if not Task.of(cfg).has_submission and not paths:
        say(
            f"export: task.kind={cfg.task.kind} has no submission CSV (the mean-Y CSV is the "
            "descanning competition's); skipped, `score` reports PSNR/SSIM"
        )
        return []
    pred_dir = Path(paths[0]) if paths else test_pred_dir(cfg)
    out = Path(paths[1]) if len(paths) > 1 else None
    if out is None and cfg.export.out:
        out = Path(cfg.export.out)
    if out is not None and out.suffix.lower() != ".csv":
        raise UserError(f"{out}: the submission must be a .csv file")

    images = list_images(pred_dir, "restored images")
    sample_path = sample or cfg.data.sample_submission
    test_dir = data_path(cfg, "test_scan")
    if sample_path:
        sample = read_submission(sample_path)
        check_same_ids(set(images), set(sample), str(pred_dir), str(sample_path))
        order = list(sample)
    else:
        if test_dir.is_dir():
            check_same_ids(
                set(images), set(list_images(test_dir, "test scans")), str(pred_dir), str(test_dir)
            )
        order = sorted(images)
    values = {
        stem: mean_y(read_rgb(images[stem])) for stem in progress(order, desc="export", unit="img")
    }

    targets = [out] if out is not None else submission_targets(cfg)
    check_values(values, str(pred_dir))
    text = format_csv(values, order)
    for target in targets:
        write_text(target, text)
    say(f"export: {len(values)} rows -> {', '.join(map(str, targets))}")
    return targets
