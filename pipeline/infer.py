"""Stage 4: fold ensemble x TTA x tiled inference on the test scans, and the out-of-fold CV."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from .core import cli
from .core import metrics as M
from .core.config import fold_list
from .core.distributed import configure_threads
from .core.errors import UserError
from .core.experiment import Experiment
from .core.fsutil import atomic_dir
from .core.imageio import read_rgb, write_png
from .core.models import count_params
from .core.models.checkpoint import load_checkpoint, model_from_checkpoint
from .core.pairing import held_out_inputs
from .core.progress import progress
from .core.report import report_experiment
from .core.store import PairStore, store_dir
from .core.task import (
    TASK_METRICS,
    baseline,
    finite_mean,
    metric_names,
    metrics_line,
    task_metrics,
)
from .core.tiling import TiledPredictor
from .core.tracking import git_commit
from .core.training import resolve_device

DESCRIPTION = """\
Restore the test scans with the average of the folds' best models over the TTA views
(infer.tta, default all 8 dihedral views), tile by tile (infer.tile, infer.overlap) so memory
does not grow with image size. Writes PNGs to runs/<experiment>/pred/test.

With infer.oof=true (the default) each fold's model also restores its own held-out training
images (runs/<experiment>/pred/oof): their leaderboard metric is the cross-validation score,
printed next to the score of submitting the scans unchanged ("identity"), written to
runs/<experiment>/cv.json and oof_scores.csv, and added to runs/leaderboard.csv. Then the
plots (runs/<experiment>/plots/: curves, error distribution, worst images) are drawn and a
W&B summary run is logged beside the fold runs (see `python -m pipeline.report`).

Other tasks (task.kind): the same files, and the task's metrics beside the leaderboard one:
PSNR and SSIM (sr: MATLAB BT.601 Y with task.scale pixels cropped at the border; deblur,
denoise, deflare: RGB), of the prediction and of the baseline (the input unchanged, or MATLAB
bicubic for sr), and the mean per-image PSNR gain. With task.scale=S the tiles are cut in
input pixels (infer.tile, infer.overlap) and the outputs are S times the input's size. The
gopro layout's test inputs are test/<sequence>/blur, written as <sequence>.<frame>.png."""

OOF_COLUMNS = [
    "stem",
    "title",
    "fold",
    "abs_err",
    "identity_err",
    "mean_y_pred",
    "mean_y_true",
    "y_mae",
    "psnr",
]


def run_oof(cfg, models: dict[int, torch.nn.Module], device: torch.device) -> dict:
    """Each fold's model on its held-out images; returns the CV summary."""
    store = PairStore(store_dir(cfg))
    if store.scale != cfg.task.scale:
        raise UserError(
            f"{store.root}: prepared for scale {store.scale}, but task.scale={cfg.task.scale}; "
            "run `python -m pipeline.prepare` with this config"
        )
    i, kind, scale = cfg.infer, cfg.task.kind, cfg.task.scale
    rows = []
    run = Experiment.of(cfg)
    with atomic_dir(run.oof_dir) as out:
        for fold, model in models.items():
            predictor = TiledPredictor(
                [model], i.tta, i.tile, i.overlap, i.batch, device, amp=cfg.train.amp, scale=scale
            )
            indices = store.image_indices([fold])
            for idx in progress(indices, desc=f"oof fold {fold}", unit="img", leave=False):
                scan, clean = np.asarray(store.scan(idx)), np.asarray(store.clean(idx))
                pred = predictor(scan)
                base = baseline(scan, scale)
                rec = store.images[idx]
                write_png(out / f"{rec.stem}.png", pred)
                rows.append(
                    {
                        "stem": rec.stem,
                        "title": rec.title,
                        "fold": fold,
                        "identity_err": M.abs_error_of_means(base, clean),
                        **M.image_metrics(pred, clean),
                        **task_metrics(pred, clean, base, kind, scale),
                    }
                )
    columns = OOF_COLUMNS + (list(TASK_METRICS) if kind != "descan" else [])
    run.write_oof(sorted(rows, key=lambda r: r["stem"]), columns)

    per_fold = []
    for fold in models:
        fr = [r for r in rows if r["fold"] == fold]
        per_fold.append(
            {
                "fold": fold,
                "images": len(fr),
                "score": float(np.mean([r["abs_err"] for r in fr])),
                "identity": float(np.mean([r["identity_err"] for r in fr])),
                "y_mae": float(np.mean([r["y_mae"] for r in fr])),
                "psnr": finite_mean([r["psnr"] for r in fr]),
                **(
                    {
                        "ssim": float(np.mean([r["ssim"] for r in fr])),
                        "baseline_psnr": finite_mean([r["baseline_psnr"] for r in fr]),
                        "baseline_ssim": float(np.mean([r["baseline_ssim"] for r in fr])),
                        "gain": finite_mean([r["gain"] for r in fr]),
                    }
                    if kind != "descan"
                    else {}
                ),
            }
        )
    scores = [f["score"] for f in per_fold]
    summary = {
        "experiment": cfg.experiment,
        "tta": list(i.tta),
        "cv_mean": float(np.mean(scores)),
        "cv_std": float(np.std(scores)),
        "identity": float(np.mean([f["identity"] for f in per_fold])),
        "y_mae": float(np.mean([f["y_mae"] for f in per_fold])),
        "psnr": float(np.mean([f["psnr"] for f in per_fold])),
        **(
            {
                "task": kind,
                "scale": scale,
                **{k: float(np.mean([f[k] for f in per_fold])) for k in TASK_METRICS},
            }
            if kind != "descan"
            else {}
        ),
        "folds": per_fold,
    }
    run.write_cv(summary)
    return summary


def run_test(cfg, models: list[torch.nn.Module], device: torch.device) -> Path:
    scans = held_out_inputs(cfg)
    i = cfg.infer
    predictor = TiledPredictor(
        models, i.tta, i.tile, i.overlap, i.batch, device, amp=cfg.train.amp, scale=cfg.task.scale
    )
    target = Experiment.of(cfg).test_dir
    with atomic_dir(target) as out:
        for stem, path in progress(scans.items(), desc="test", unit="img"):
            write_png(out / f"{stem}.png", predictor(read_rgb(path)))
    return target


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.infer", DESCRIPTION), argv)
    configure_threads()  # the usable CPUs, not all the machine's (a container's CPU quota)
    start = time.perf_counter()
    folds = fold_list(cfg.infer.folds, "infer.folds", cfg.prepare.folds)
    device = resolve_device(cfg.train.device)
    run = Experiment.of(cfg)
    checkpoints = {f: run.best(f) for f in folds}
    for f, path in checkpoints.items():
        if not path.is_file():
            raise UserError(
                f"{path}: no checkpoint for fold {f}; run `python -m pipeline.train` first"
            )
        trained = load_checkpoint(path).get("scale", 1)
        if trained != cfg.task.scale:
            raise UserError(f"{path}: trained for scale {trained}, but task.scale={cfg.task.scale}")
    models = {f: model_from_checkpoint(path).to(device) for f, path in checkpoints.items()}
    views = len(cfg.infer.tta)
    print(
        f"infer: {len(models)} fold model(s) x {views} TTA view(s), "
        f"{cfg.infer.tile}px tiles on {device}"
    )

    summary = None
    if cfg.infer.oof:
        summary = run_oof(cfg, models, device)
        for f in summary["folds"]:
            if "gain" not in f:  # descan: the leaderboard metric
                print(
                    f"  fold {f['fold']}: CV {f['score']:.4f}  identity {f['identity']:.4f}  "
                    f"({f['images']} images, y_mae {f['y_mae']:.3f}, psnr {f['psnr']:.2f})"
                )
            else:
                print(
                    f"  fold {f['fold']}: {cfg.task.kind} {metrics_line(f, cfg.task.scale)}  "
                    f"({f['images']} images)"
                )
    target = run_test(cfg, list(models.values()), device)
    print(f"infer: test predictions -> {target}")

    if summary is not None:
        train_seconds = 0.0
        for f in folds:
            done = run.read_done(f)
            if done is not None:
                train_seconds += done["seconds"]
        params = count_params(models[folds[0]])
        run.record_leaderboard(
            {
                "experiment": cfg.experiment,
                "model": cfg.model.name,
                "params": params,
                "folds": len(folds),
                "cv_mean": f"{summary['cv_mean']:.6f}",
                "cv_std": f"{summary['cv_std']:.6f}",
                "identity": f"{summary['identity']:.6f}",
                "y_mae": f"{summary['y_mae']:.4f}",
                "psnr": f"{summary['psnr']:.3f}",
                "wall_s": f"{train_seconds + time.perf_counter() - start:.0f}",
                "commit": git_commit(),
                "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            },
        )
        if cfg.task.kind == "descan":
            print(
                f"CV score (leaderboard metric, mean of {len(folds)} folds): "
                f"{summary['cv_mean']:.4f} ± {summary['cv_std']:.4f}   "
                f"identity (scans unchanged): {summary['identity']:.4f}"
            )
        else:
            print(
                f"CV {cfg.task.kind} ({metric_names(cfg.task.kind, cfg.task.scale)}, mean of "
                f"{len(folds)} folds): {metrics_line(summary, cfg.task.scale)}"
            )
        plots = report_experiment(cfg)
        print(f"infer: plots -> {plots[0].parent} ({', '.join(p.name for p in plots)})")
    return 0


if __name__ == "__main__":
    cli.run(main)
