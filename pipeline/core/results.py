"""An experiment's results read back from runs/<experiment>/: the CV summary, the per-image
out-of-fold scores, the per-fold training curves and the resolved config. Plots, the W&B
summary run, the notebooks, `leaderboard --diff` and `submit` all read them from here."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .errors import UserError
from .imageio import read_rgb
from .layout import oof_dir, store_dir
from .store import PairStore
from .task import baseline
from .training import read_metrics

OOF_FLOATS = ("abs_err", "identity_err", "mean_y_pred", "mean_y_true", "y_mae", "psnr")


def read_cv(run: Path) -> dict[str, Any] | None:
    """cv.json as `infer` wrote it, or None when the experiment has no CV yet."""
    path = run / "cv.json"
    return json.loads(path.read_text()) if path.is_file() else None


def read_oof(run: Path) -> list[dict[str, Any]]:
    """oof_scores.csv with numbers as numbers: one row per training image, scored by the model
    of the fold that held it out."""
    path = run / "oof_scores.csv"
    if not path.is_file():
        raise UserError(f"{path}: not found; run `python -m pipeline.infer` (infer.oof=true) first")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["fold"] = int(r["fold"])
        for k in OOF_FLOATS:
            r[k] = float(r[k])
    return rows


def worst_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ranked by the leaderboard error, worst first (ties by stem, so the order is fixed)."""
    return sorted(rows, key=lambda r: (-r["abs_err"], r["stem"]))


def fold_histories(run: Path) -> dict[int, list[dict[str, Any]]]:
    """Each fold's metrics.csv (one row per epoch), by fold index."""
    folds = {}
    for d in sorted(run.glob("fold*")):
        if d.name[4:].isdigit() and (d / "metrics.csv").is_file():
            folds[int(d.name[4:])] = read_metrics(d / "metrics.csv")
    return dict(sorted(folds.items()))


def fold_table(run: Path) -> list[dict[str, Any]]:
    """One row per fold: its best epoch's validation score from metrics.csv (one view, as
    training validates) next to its out-of-fold score from cv.json (with the TTA views)."""
    cv = read_cv(run)
    oof = {f["fold"]: f for f in cv["folds"]} if cv else {}
    rows = []
    for fold, history in fold_histories(run).items():
        done_file = run / f"fold{fold}" / "done.json"
        if not done_file.is_file() or not history:
            continue
        best_epoch = json.loads(done_file.read_text())["best_epoch"]
        best = next(r for r in history if r["epoch"] == best_epoch)
        f = oof.get(fold, {})
        rows.append(
            {
                "fold": fold,
                "images": f.get("images", math.nan),
                "best_epoch": best_epoch,
                "epochs": len(history),
                "val_score": best["val_score"],
                "oof_score": f.get("score", math.nan),
                "identity": best["val_identity"],
                "val_psnr": best["val_psnr"],
            }
        )
    return rows


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
    store = PairStore(store_dir(cfg))
    index = {rec.stem: i for i, rec in enumerate(store.images)}
    triplets = []
    for r in rows:
        if r["stem"] not in index:
            raise UserError(
                f"{store.root}: no image '{r['stem']}'; the store was rebuilt after infer ran"
            )
        i = index[r["stem"]]
        pred = read_rgb(oof_dir(cfg) / f"{r['stem']}.png")
        scan = baseline(np.asarray(store.scan(i)), store.scale)
        triplets.append(Triplet(r, scan, pred, np.asarray(store.clean(i))))
    return triplets


def run_config(run: Path) -> dict[str, Any]:
    """The resolved config an experiment was trained with (runs/<experiment>/config.yaml)."""
    path = run / "config.yaml"
    if not path.is_file():
        raise UserError(
            f"{path}: not found; is '{run.name}' an experiment? "
            f"(`python -m pipeline.train experiment={run.name}` writes it)"
        )
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)  # type: ignore[return-value]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"train.lr": 0.002, ...}, the keys as `key=value` overrides name them.
    An empty mapping (model.args: {}) adds no key, so setting one argument is one difference."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


MISSING = "(unset)"
# Keys that name an experiment rather than change what it does.
IDENTITY_KEYS = ("experiment",)


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every setting that differs, sorted by key. A key
    present on one side only (a model argument, say) shows as MISSING on the other."""
    fa, fb = flatten(a), flatten(b)
    return [
        (key, fa.get(key, MISSING), fb.get(key, MISSING))
        for key in sorted(fa.keys() | fb.keys())
        if key not in IDENTITY_KEYS and fa.get(key, MISSING) != fb.get(key, MISSING)
    ]
