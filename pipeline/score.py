"""Stage 6: the leaderboard metric, for a submission file or for a whole experiment."""

from __future__ import annotations

from pathlib import Path

from .core.config import cli
from .core.config.load import load_config
from .core.data.layout import data_path, held_out_inputs, held_out_targets
from .core.runs.experiment import Experiment, submission_path, test_pred_dir
from .core.scoring.evaluation import score_images
from .core.task.submission import leaderboard_score, read_submission
from .core.task.task import Task
from .core.util.errors import UserError
from .core.util.images import read_rgb

DESCRIPTION = """\
  python -m pipeline.score SUBMISSION.csv TRUTH.csv
      Mean absolute error between the submitted and the true 'Y Channel Value', rows matched
      by 'Image File' (not by position). Missing, extra or duplicated ids are an error. The
      last line printed is the score alone.

  python -m pipeline.score [--config FILE] [key=value ...]
      The experiment's report: its CV score next to identity (from infer), and the score of
      submissions/<experiment>.csv against data.root/data.test_truth when that file exists.
      For task.kind other than descan (no submission CSV): the CV and the test predictions'
      PSNR and SSIM (sr: MATLAB Y, task.scale border; else RGB) next to the baseline's (the
      input unchanged, or MATLAB bicubic for sr) and the gain, against test/clean (or
      test/<sequence>/sharp) when the truth is there, as in the demos."""


def score_files(submission_csv: str, truth_csv: str) -> float:
    submission = read_submission(submission_csv)
    truth = read_submission(truth_csv, extra_columns=True)
    return leaderboard_score(submission, truth, submission_csv, truth_csv)


def _cv_report(cfg) -> None:
    run, task = Experiment.of(cfg), Task.of(cfg)
    cv = run.read_cv()
    if cv is None:
        print(
            f"{cfg.experiment}: no CV yet ({run.cv_path} is written by `python -m pipeline.infer`)"
        )
    elif task.is_competition:
        print(
            f"{cfg.experiment}: CV {cv['cv']:.4f} over {cv['images']} out-of-fold images "
            f"(folds {cv['fold_mean']:.4f} ± {cv['fold_std']:.4f})   identity {cv['identity']:.4f}"
            f"   (pixel Y-MAE {cv['y_mae']:.3f}, PSNR {cv['psnr']:.2f} dB)"
        )
    else:
        print(
            f"{cfg.experiment}: CV ({task.metric_names}, {cv['images']} out-of-fold images) "
            f"{task.metrics_line(cv)}"
        )


def _test_images(cfg, targets: dict[str, Path]):
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


def report(config: str, overrides: list[str]) -> None:
    """The experiment's CV and, where the held-out truth is known, its test score: the
    leaderboard metric of its submission CSV for descanning, PSNR/SSIM for the other tasks."""
    cfg = load_config(config, overrides)
    task = Task.of(cfg)
    _cv_report(cfg)
    if not task.has_submission:
        targets = held_out_targets(cfg)
        if targets is None or not test_pred_dir(cfg).is_dir():
            return
        test = score_images(_test_images(cfg, targets), task).summary
        print(
            f"{cfg.experiment}: test ({task.metric_names}, {test['images']} images) "
            f"{task.metrics_line(test)}"
        )
        return
    truth = data_path(cfg, "test_truth")
    submission = submission_path(cfg)
    if truth.is_file() and submission.is_file():
        n = len(read_submission(truth, extra_columns=True))
        print(
            f"{cfg.experiment}: test {score_files(str(submission), str(truth)):.4f} "
            f"({submission} against {truth}, {n} images)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.score", DESCRIPTION)
    parser.usage = (
        "python -m pipeline.score SUBMISSION.csv TRUTH.csv\n"
        "       python -m pipeline.score [--config FILE] [key=value ...]"
    )
    args = parser.parse_args(argv)
    files = [a for a in args.overrides if "=" not in a]
    overrides = [a for a in args.overrides if "=" in a]
    if not files:
        report(args.config, overrides)
        return 0
    if len(files) != 2 or overrides:
        parser.error("expected SUBMISSION.csv TRUTH.csv, or only key=value overrides")
    score = score_files(files[0], files[1])
    print(
        f"score: mean absolute error of mean Y over {len(read_submission(files[1], True))} images"
    )
    print(repr(score))
    return 0


if __name__ == "__main__":
    cli.run(main)
