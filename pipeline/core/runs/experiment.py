"""runs/<experiment>/: every file an experiment writes, where it lives and how it is read back.

  config.yaml        the resolved config the folds were trained with
  fold<k>/           last.pt, best.pt, final.pt, metrics.csv (one row per epoch), done.json
  .lock-fold<k>      held while a stage works on fold k (pid, host, stage; locks.py)
  pred/test/         the restored test images; pred/oof/ each fold's held-out training images
  cv.json            the CV summary; oof_scores.csv one row per out-of-fold image
  plots/             curves.png, errors.png, worst.png
and, beside the experiments, runs/leaderboard.csv (one row per experiment) and the submission
CSVs under `submissions`. Every stage, the plots, the W&B summary run, the notebooks,
`leaderboard` and `submit` go through this module for them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ..util.errors import UserError
from ..util.files import write_error, write_text
from ..util.images import read_rgb
from . import locks

OOF_FLOATS = ("abs_err", "identity_err", "mean_y_pred", "mean_y_true", "y_mae", "psnr")

# cv: the task's metric over all out-of-fold images; baseline: the same for the scans
# unchanged (or bicubic); fold_std: the spread of the folds' values.
LEADERBOARD_COLUMNS = [
    "experiment",
    "task",
    "model",
    "params",
    "folds",
    "images",
    "cv",
    "cv_low",
    "cv_high",
    "fold_std",
    "baseline",
    "best_baseline",
    "y_mae",
    "psnr",
    "wall_s",
    "commit",
    "finished",
]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Rows as a CSV with `columns` (keys beyond them are left out), written atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


class Experiment:
    """The folder of one experiment, runs/<name>/, and the files in it."""

    def __init__(self, runs: str | Path, name: str) -> None:
        self.runs = Path(runs)
        self.name = name
        self.root = self.runs / name

    @classmethod
    def of(cls, cfg: DictConfig) -> Experiment:
        return cls(cfg.runs, cfg.experiment)

    # -- paths ---------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    def fold_dir(self, fold: int) -> Path:
        return self.root / f"fold{fold}"

    def best(self, fold: int) -> Path:
        return self.fold_dir(fold) / "best.pt"

    def last(self, fold: int) -> Path:
        return self.fold_dir(fold) / "last.pt"

    def final(self, fold: int) -> Path:
        return self.fold_dir(fold) / "final.pt"

    def weights(self, fold: int, select: str) -> Path:
        """The weights a fold contributes: final.pt or best.pt (train.select)."""
        return self.final(fold) if select == "final" else self.best(fold)

    def checkpoints(self, fold: int) -> list[Path]:
        """The checkpoints the fold holds (a trained or partly trained fold has some)."""
        paths = (self.last(fold), self.best(fold), self.final(fold))
        return [p for p in paths if p.is_file()]

    def clear_fold(self, fold: int) -> None:
        """Empty the fold's folder for a fresh start (the caller has the user's leave)."""
        d = self.fold_dir(fold)
        try:
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        except OSError as e:
            raise write_error(d, e) from None

    def metrics_path(self, fold: int) -> Path:
        return self.fold_dir(fold) / "metrics.csv"

    def done_path(self, fold: int) -> Path:
        return self.fold_dir(fold) / "done.json"

    @property
    def oof_dir(self) -> Path:
        return self.root / "pred" / "oof"

    @property
    def test_dir(self) -> Path:
        return self.root / "pred" / "test"

    @property
    def cv_path(self) -> Path:
        return self.root / "cv.json"

    @property
    def oof_path(self) -> Path:
        return self.root / "oof_scores.csv"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def leaderboard_path(self) -> Path:
        return leaderboard_path(self.runs)

    def lock_path(self, fold: int) -> Path:
        return self.root / f".lock-fold{fold}"

    def locked(self, folds: list[int], stage: str) -> contextlib.AbstractContextManager[None]:
        """Hold the locks of `folds` for the block (core/runs/locks.py): a second stage that
        needs any of them stops with an error naming the holder."""
        return locks.holding(self.root, {fold: self.lock_path(fold) for fold in folds}, stage)

    # -- config --------------------------------------------------------------------------
    def write_config(self, yaml_text: str) -> None:
        write_text(self.config_path, yaml_text)

    def read_config(self) -> dict[str, Any]:
        """The resolved config the experiment was trained with."""
        if not self.config_path.is_file():
            raise UserError(
                f"{self.config_path}: not found; is '{self.name}' an experiment? "
                f"(`python -m pipeline.train experiment={self.name}` writes it)"
            )
        return OmegaConf.to_container(OmegaConf.load(self.config_path), resolve=True)  # type: ignore[return-value]

    # -- folds ---------------------------------------------------------------------------
    def write_metrics(self, fold: int, rows: list[dict[str, Any]], columns: list[str]) -> None:
        write_csv(self.metrics_path(fold), rows, columns)

    def read_metrics(self, fold: int) -> list[dict[str, Any]]:
        """A fold's metrics.csv, numbers as numbers; empty when there is none yet."""
        return read_metrics(self.metrics_path(fold))

    def write_done(self, fold: int, done: dict[str, Any]) -> None:
        write_text(self.done_path(fold), json.dumps(done, indent=1))

    def read_done(self, fold: int) -> dict[str, Any] | None:
        path = self.done_path(fold)
        return json.loads(path.read_text()) if path.is_file() else None

    def fold_histories(self) -> dict[int, list[dict[str, Any]]]:
        """Each fold's metrics.csv (one row per epoch), by fold index."""
        folds = {}
        for d in sorted(self.root.glob("fold*")):
            if d.name[4:].isdigit() and (d / "metrics.csv").is_file():
                folds[int(d.name[4:])] = read_metrics(d / "metrics.csv")
        return dict(sorted(folds.items()))

    def fold_table(self) -> list[dict[str, Any]]:
        """One row per fold: the validation score of the epoch whose weights it contributes
        (train.select: its last, or its best) from metrics.csv (one view, as training
        validates), next to its out-of-fold score from cv.json (with the TTA views)."""
        cv = self.read_cv()
        oof = {f["fold"]: f for f in cv["folds"]} if cv else {}
        rows = []
        for fold, history in self.fold_histories().items():
            done = self.read_done(fold)
            if done is None or not history:
                continue
            epoch = done.get("epoch", done["best_epoch"])
            chosen = next(r for r in history if r["epoch"] == epoch)
            f = oof.get(fold, {})
            rows.append(
                {
                    "fold": fold,
                    "images": f.get("images", float("nan")),
                    "select": done.get("select", "best"),
                    "epoch": epoch,
                    "best_epoch": done["best_epoch"],
                    "epochs": len(history),
                    "val_score": chosen["val_score"],
                    "oof_score": f.get("score", float("nan")),
                    "identity": chosen["val_identity"],
                    "val_psnr": chosen["val_psnr"],
                }
            )
        return rows

    # -- scores --------------------------------------------------------------------------
    def write_cv(self, summary: dict[str, Any]) -> None:
        write_text(self.cv_path, json.dumps(summary, indent=1))

    def read_cv(self) -> dict[str, Any] | None:
        """cv.json as `infer` wrote it, or None when the experiment has no CV yet."""
        return json.loads(self.cv_path.read_text()) if self.cv_path.is_file() else None

    def write_oof(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        write_csv(
            self.oof_path,
            [{k: _fmt(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
            columns,
        )

    def read_oof(self) -> list[dict[str, Any]]:
        """oof_scores.csv with numbers as numbers: one row per training image, scored by the
        model of the fold that held it out."""
        if not self.oof_path.is_file():
            raise UserError(
                f"{self.oof_path}: not found; run `python -m pipeline.infer` (infer.oof=true) first"
            )
        with open(self.oof_path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            r["fold"] = int(r["fold"])
            for k in OOF_FLOATS:
                if k in r:  # a blend's table has the leaderboard columns only
                    r[k] = float(r[k])
        return rows

    def baseline_submission(self, submissions: str | Path, rung: str) -> Path:
        """Where the `baselines` stage writes a rung's submission for this experiment's data."""
        return Path(submissions) / f"{self.name}-baseline-{rung}.csv"

    def record_leaderboard(self, row: dict[str, Any]) -> None:
        """Put the experiment on the local leaderboard CSV (rewritten atomically); a row of the
        same experiment from an earlier run is replaced, so re-inferring never duplicates."""
        rows = [
            r for r in read_leaderboard(self.leaderboard_path) if r.get("experiment") != self.name
        ]
        rows.append({k: row.get(k, "") for k in LEADERBOARD_COLUMNS} | {"experiment": self.name})
        write_csv(self.leaderboard_path, rows, LEADERBOARD_COLUMNS)


def _fmt(v: float) -> str:
    return repr(float(v)) if np.isfinite(v) else str(v)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [
            {k: int(v) if k in ("epoch", "step", "val_images") else float(v) for k, v in r.items()}
            for r in csv.DictReader(f)
        ]


def leaderboard_path(runs: str | Path) -> Path:
    """The local leaderboard of the experiments under `runs`, one row each."""
    return Path(runs) / "leaderboard.csv"


def read_leaderboard(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_pred_dir(cfg: DictConfig) -> Path:
    """The restored test images export reads: export.pred_dir, or the experiment's pred/test."""
    return Path(cfg.export.pred_dir) if cfg.export.pred_dir else Experiment.of(cfg).test_dir


def submission_path(cfg: DictConfig) -> Path:
    """The experiment's submission CSV: export.out, or submissions/<experiment>.csv."""
    return (
        Path(cfg.export.out) if cfg.export.out else Path(cfg.submissions) / f"{cfg.experiment}.csv"
    )


def submission_targets(cfg: DictConfig) -> list[Path]:
    """Where export writes: export.out alone, or submissions/<experiment>.csv and its copy
    submissions/submission.csv (what run_all.sh promises)."""
    if cfg.export.out:
        return [Path(cfg.export.out)]
    return [submission_path(cfg), Path(cfg.submissions) / "submission.csv"]


@dataclass
class Triplet:
    """One out-of-fold image: the scan (for super-resolution its MATLAB-bicubic upscale, the
    size of the others), the model's prediction, the clean page, its scores."""

    row: dict[str, Any]
    scan: np.ndarray
    pred: np.ndarray
    clean: np.ndarray


def load_triplets(cfg: DictConfig, rows: list[dict[str, Any]]) -> list[Triplet]:
    """The images behind OOF rows: scan and clean from the patch store (exactly the pixels that
    were scored), the prediction from runs/<experiment>/pred/oof."""
    from ..data.store import PairStore, store_dir  # here: the store is only needed for images
    from ..task.task import Task

    task = Task.of(cfg)
    store = PairStore(store_dir(cfg))
    index = {rec.stem: i for i, rec in enumerate(store.images)}
    oof_dir = Experiment.of(cfg).oof_dir
    triplets = []
    for r in rows:
        if r["stem"] not in index:
            raise UserError(
                f"{store.root}: no image '{r['stem']}'; the store was rebuilt after infer ran"
            )
        i = index[r["stem"]]
        pred = read_rgb(oof_dir / f"{r['stem']}.png")
        scan = task.baseline(np.asarray(store.scan(i)))
        triplets.append(Triplet(r, scan, pred, np.asarray(store.clean(i))))
    return triplets
