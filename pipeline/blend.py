"""Blend experiments: weights fitted out of fold, a blended CV, a blended submission."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np

from .core.config import cli
from .core.config.load import load_config, to_yaml
from .core.data.layout import data_path
from .core.runs.experiment import Experiment, submission_targets
from .core.runs.tracking import git_commit
from .core.scoring.blending import nested_blend, out_of_fold
from .core.scoring.evaluation import ladder_columns, ladder_line
from .core.task.metrics import mean_y
from .core.task.submission import check_same_ids, format_csv, leaderboard_score, read_submission
from .core.task.task import Task
from .core.util.errors import UserError
from .core.util.files import write_text
from .core.util.images import list_images, read_rgb

DESCRIPTION = """\
  python -m pipeline.blend EXP_A EXP_B [...] [experiment=NAME] [--config FILE] [key=value ...]

Blend finished experiments for the leaderboard metric: each image's value is a weighted mean
of the experiments' mean Y of it, the weights non-negative and summing to one, fitted to the
out-of-fold predictions (least absolute error, a linear programme). The blend's CV is nested:
each fold is blended with weights fitted on the other folds only, so it is not chosen on the
images it scores. The experiments must share their folds (one store).

Writes runs/<NAME>/cv.json and oof_scores.csv, the submission (submissions/<NAME>.csv and
submission.csv, or export.out) from the experiments' test predictions, and a leaderboard row
like any experiment's. NAME defaults to blend-EXP_A+EXP_B..."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.blend", DESCRIPTION)
    parser.usage = "python -m pipeline.blend EXP_A EXP_B [...] [--config FILE] [key=value ...]"
    args = parser.parse_args(argv)
    names = [a for a in args.overrides if "=" not in a]
    overrides = [a for a in args.overrides if "=" in a]
    if len(names) < 2 or len(set(names)) != len(names):
        parser.error("name two or more different experiments to blend")
    if not any(o.startswith("experiment=") for o in overrides):
        overrides.append(f"experiment=blend-{'+'.join(names)}")
    cfg = load_config(args.config, overrides)
    if not Task.of(cfg).is_competition:
        raise UserError("task.kind: blending fits the leaderboard's mean-Y metric (descan)")
    start = time.perf_counter()
    runs = [Experiment(cfg.runs, name) for name in names]
    for run in runs:
        if run.read_cv() is None:
            raise UserError(f"{run.cv_path}: not found; run `python -m pipeline.infer` for it")
    oof = out_of_fold(runs)
    fit = nested_blend(oof)
    blended, folds, truth = fit["blended"], oof["folds"], oof["truth"]
    errors = np.abs(blended - truth)
    per_fold = [
        {
            "fold": int(f),
            "images": int((folds == f).sum()),
            "score": float(errors[folds == f].mean()),
        }
        for f in sorted(set(folds.tolist()))
    ]
    fold_scores = [f["score"] for f in per_fold]
    blend = Experiment.of(cfg)
    cv = {
        "experiment": cfg.experiment,
        "task": "descan",
        "scale": 1,
        "metric": "score",
        "cv": float(errors.mean()),
        "images": len(errors),
        "identity": float(oof["identity"].mean()),
        "fold_mean": float(np.mean(fold_scores)),
        "fold_std": float(np.std(fold_scores)),
        "folds": per_fold,
        "blend": {
            "experiments": names,
            "weights": fit["weights"].tolist(),
            "fold_weights": fit["fold_weights"],
        },
    }
    ladder = runs[0].read_cv().get("ladder")  # the experiments share one store, so one ladder
    if ladder:
        cv["ladder"] = ladder
    blend.write_config(to_yaml(cfg))
    blend.write_cv(cv)
    rows = [
        {
            "stem": s,
            "title": t,
            "fold": int(f),
            "abs_err": float(e),
            "identity_err": float(i),
            "mean_y_pred": float(b),
            "mean_y_true": float(y),
        }
        for s, t, f, e, i, b, y in zip(
            oof["stems"], oof["titles"], folds, errors, oof["identity"], blended, truth, strict=True
        )
    ]
    blend.write_oof(
        rows, ["stem", "title", "fold", "abs_err", "identity_err", "mean_y_pred", "mean_y_true"]
    )
    values = test_values(runs, fit["weights"])
    targets = submission_targets(cfg)
    for target in targets:
        write_text(target, format_csv(values))
    weights = "  ".join(f"{n} {w:.3f}" for n, w in zip(names, fit["weights"], strict=True))
    print(f"blend: weights fitted on all out-of-fold images: {weights}")
    print(
        f"CV score (leaderboard metric over {len(errors)} out-of-fold images, each fold blended "
        f"with weights fitted on the others): {cv['cv']:.4f}   folds {cv['fold_mean']:.4f} ± "
        f"{cv['fold_std']:.4f}   identity (scans unchanged): {cv['identity']:.4f}"
    )
    for run in runs:
        print(f"  {run.name}: CV {run.read_cv()['cv']:.4f}")
    if ladder:
        print(ladder_line(cv))
    print(f"blend: {len(values)} rows -> {', '.join(map(str, targets))}")
    truth_csv = data_path(cfg, "test_truth")
    if truth_csv.is_file():
        score = leaderboard_score(values, read_submission(truth_csv, extra_columns=True))
        print(f"{cfg.experiment}: test {score:.4f} ({targets[0]} against {truth_csv})")
    blend.record_leaderboard(
        {
            "task": "descan",
            "model": "blend of " + "+".join(names),
            "folds": len(per_fold),
            "images": len(errors),
            "cv": f"{cv['cv']:.6f}",
            "fold_std": f"{cv['fold_std']:.6f}",
            "baseline": f"{cv['identity']:.6f}",
            **ladder_columns(cv),
            "wall_s": f"{time.perf_counter() - start:.0f}",
            "commit": git_commit(),
            "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        }
    )
    return 0


def test_values(runs: list[Experiment], weights: np.ndarray) -> dict[str, float]:
    """The blended value of each test image: the weighted mean of the experiments' mean Y of
    their restored test images, exactly as saved."""
    images = [list_images(run.test_dir, "restored test images") for run in runs]
    for run, found in zip(runs[1:], images[1:], strict=True):
        check_same_ids(set(found), set(images[0]), str(run.test_dir), str(runs[0].test_dir))
    stems = sorted(images[0])
    means = np.array([[mean_y(read_rgb(found[s])) for found in images] for s in stems])
    return {s: float(min(max(v, 0.0), 255.0)) for s, v in zip(stems, means @ weights, strict=True)}


if __name__ == "__main__":
    cli.run(main)
