"""Stage 4: fold ensemble x TTA x tiled inference on the test scans, and the out-of-fold CV."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .core.config import cli
from .core.config.load import fold_list
from .core.data.layout import open_store
from .core.infer.predict import finish_oof, finish_test, fold_models, predict_oof, predict_test
from .core.models import count_params
from .core.report.summary import report_experiment
from .core.runs.experiment import Experiment
from .core.runs.tracking import git_commit
from .core.scoring.evaluation import cv_line, cv_summary, fold_line, ladder_columns, ladder_line
from .core.scoring.ladder import ladder_of
from .core.task.task import Task
from .core.util.distributed import configure_threads, resolve_device
from .core.util.errors import UserError

DESCRIPTION = """\
Restore the test scans with the average of the folds' models (train.select: each fold's
final weights, or its best epoch's) over the TTA views
(infer.tta, default all 8 dihedral views), tile by tile (infer.tile, infer.overlap) so memory
does not grow with image size. Writes PNGs to runs/<experiment>/pred/test.

With infer.oof=true (the default) each fold's model also restores its own held-out training
images (runs/<experiment>/pred/oof). Their leaderboard metric over all those images is the
cross-validation score `cv` (what a leaderboard computes from the out-of-fold predictions),
printed next to the score of submitting the scans unchanged ("identity") and the folds' mean
and spread, written to runs/<experiment>/cv.json and oof_scores.csv (one row per image), and
added to runs/leaderboard.csv. Then the plots (runs/<experiment>/plots/: curves, error
distribution, worst images) are drawn and a W&B summary run is logged beside the fold runs
(see `python -m pipeline.report`).

For descanning the CV is printed beside the baseline ladder on the same folds (identity, a
colour map, a regressor; see `python -m pipeline.baselines`). infer.finish=true moves each
restored image's mean Y to a blend of its own and the regressor's, the weight fitted out of
fold and the CV nested (each fold finished with the weight fitted on the others).

Other tasks (task.kind): the same files; the CV is the task's PSNR over the out-of-fold
images, beside SSIM (sr: MATLAB BT.601 Y with task.scale pixels cropped at the border; deblur,
denoise, deflare: RGB), the baseline's (the input unchanged, or MATLAB bicubic for sr), and
the mean per-image PSNR gain. With task.scale=S the tiles are cut in input pixels
(infer.tile, infer.overlap) and the outputs are S times the input's size. The gopro layout's
test inputs are test/<sequence>/blur, written as <sequence>.<frame>.png."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.infer", DESCRIPTION), argv)
    configure_threads()  # the usable CPUs, not all the machine's (a container's CPU quota)
    start = time.perf_counter()
    task, run = Task.of(cfg), Experiment.of(cfg)
    folds = fold_list(cfg.infer.folds, "infer.folds", cfg.prepare.folds)
    if cfg.infer.finish and not (task.is_competition and cfg.infer.oof and len(folds) > 1):
        raise UserError(
            "infer.finish: fits the leaderboard's mean Y (descan) out of fold, so it needs "
            "infer.oof=true and two or more folds (infer.folds)"
        )
    device = resolve_device(cfg.train.device)
    with run.locked(list(range(cfg.prepare.folds)), "infer"):
        return _infer(cfg, task, run, folds, device, start)


def _infer(cfg, task: Task, run: Experiment, folds: list[int], device, start: float) -> int:
    store = open_store(cfg) if cfg.infer.oof else None
    models = fold_models(cfg, run, folds, device, store)
    print(
        f"infer: {len(models)} fold model(s) x {len(cfg.infer.tta)} TTA view(s), "
        f"{cfg.infer.tile}px tiles on {device}"
    )
    summary, finishing = None, None
    if cfg.infer.oof:
        rows = predict_oof(cfg, run, store, models, device)
        summary = {"experiment": cfg.experiment, "tta": list(cfg.infer.tta)}
        if task.is_competition:  # the cheap answers, on the same folds
            ladder = ladder_of(store)
            summary["ladder"] = ladder["cv"]
            if cfg.infer.finish:
                raw = cv_summary(rows, task)["cv"]
                rows, finishing = finish_oof(cfg, run, store, rows, ladder)
                summary["finishing"] = {"cv_raw": raw, **finishing}
        run.write_oof(rows, ["stem", "title", "fold", *task.image_metrics])
        summary |= cv_summary(rows, task)
        run.write_cv(summary)
        for f in summary["folds"]:
            print(f"  {fold_line(f, task)}")
    print(f"infer: test predictions -> {predict_test(cfg, run, list(models.values()), device)}")
    if finishing is not None:
        finish_test(cfg, run, store, finishing["weight"])
        w = finishing["weight"]
        per_fold = ", ".join(f"{v:.2f}" for v in finishing["fold_weights"].values())
        print(
            f"infer: finishing: each image's mean Y moved to {w:.2f} x its own + {1 - w:.2f} x "
            f"the regressor's (fitted out of fold); CV {summary['finishing']['cv_raw']:.4f} -> "
            f"{summary['cv']:.4f} (each fold's weight fitted on the other folds: {per_fold})"
        )
    if summary is not None:
        train_seconds = sum(d["seconds"] for f in folds if (d := run.read_done(f)) is not None)
        run.record_leaderboard(
            {
                "task": task.kind,
                "model": cfg.model.name,
                "params": count_params(models[folds[0]]),
                "folds": len(folds),
                "images": summary["images"],
                "cv": f"{summary['cv']:.6f}",
                "fold_std": f"{summary['fold_std']:.6f}",
                "baseline": f"{summary['baseline']:.6f}",
                **ladder_columns(summary),
                "y_mae": f"{summary['y_mae']:.4f}",
                "psnr": f"{summary['psnr']:.3f}",
                "wall_s": f"{train_seconds + time.perf_counter() - start:.0f}",
                "commit": git_commit(),
                "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            },
        )
        print(cv_line(summary, task))
        if "ladder" in summary:
            print(ladder_line(summary))
        plots = report_experiment(cfg)
        print(f"infer: plots -> {plots[0].parent} ({', '.join(p.name for p in plots)})")
    return 0


if __name__ == "__main__":
    cli.run(main)
