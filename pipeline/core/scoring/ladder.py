"""The baseline ladder: the cheap answers a model must beat, scored out of fold on the store's
folds with the leaderboard metric, like every experiment.

  identity   the scans unchanged
  colormap   one least-squares affine map from scan RGB to clean RGB (a 3x3 matrix and a bias,
             12 numbers), fitted on each fold's training pairs, applied to every pixel and
             rounded to uint8 as a saved image is
  regressor  a ridge regression of the clean page's mean Y from statistics of the scan
             (percentiles of Y, chroma means and percentiles, RGB means, the shares of near
             white and near black), its strength chosen by group CV over the titles of the
             fold's training images, its correction of the scan's mean Y held within the range
             the training pages span; its prediction is the submitted value
  gbt        gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor, absolute
             error, seeded) of the same correction from the scan's per-channel histograms
             (R, G, B, normalised) and Y percentiles, held within the training range as the
             regressor's; the rung a tabular Kaggler tries first, and one that follows a
             correction that is not linear in the scan's statistics

Each is fitted on the training images of the other folds and scored on the fold's own, as a
model is; for the test scans, on all training images.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from omegaconf import DictConfig
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.layout import data_path, held_out_inputs, open_store
from ..data.store import PairStore
from ..runs.experiment import Experiment
from ..task.metrics import mean_y
from ..task.submission import (
    check_values,
    clamp_values,
    format_csv,
    leaderboard_score,
    read_submission,
)
from ..task.task import Task
from ..util.errors import UserError
from ..util.files import write_text
from ..util.images import read_rgb, to_uint8
from ..util.progress import progress
from .evaluation import interval_text
from .intervals import bootstrap_interval, resampling_units

RUNGS = ("identity", "colormap", "regressor", "gbt")
# ladder.json's layout and rungs: a kept ladder of another version is computed again.
VERSION = 2
ALPHAS = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0)
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
# The trees' histogram: bins of 8 levels per channel.
HISTOGRAM_BINS = 32
Y_MEAN = 3 * HISTOGRAM_BINS  # the column of the scan's mean Y in `histogram_features`
# Fitting pixels: every `PIXEL_STEP`-th row and column (the map has 12 numbers; a page has
# hundreds of thousands of pixels).
PIXEL_STEP = 3


@dataclass
class Page:
    """What the ladder keeps of a page: a few numbers, never its pixels (a store of 18,000
    pages of 512 px would not fit in memory): its scan's features for the regressor and the
    trees, the scan's mean Y, and for a training page the clean mean Y and its colour-map
    normal equations (X^T X and X^T Y over its fitting pixels)."""

    stem: str
    title: str
    fold: int
    features: np.ndarray
    histogram: np.ndarray
    scan_y: float
    clean_y: float = float("nan")
    xtx: np.ndarray | None = None  # 4x4
    xty: np.ndarray | None = None  # 4x3

    @classmethod
    def of(
        cls, stem: str, title: str, fold: int, scan: np.ndarray, clean: np.ndarray | None = None
    ) -> Page:
        page = cls(stem, title, fold, scan_features(scan), histogram_features(scan), mean_y(scan))
        if clean is not None:
            page.clean_y = mean_y(clean)
            page.xtx, page.xty = ColourMap.normal_equations(scan, clean)
        return page


def store_pages(store: PairStore, desc: str = "ladder") -> list[Page]:
    """Every training page of the store, read one at a time (`Page`)."""
    return [
        Page.of(r.stem, r.title, r.fold, np.asarray(store.scan(i)), np.asarray(store.clean(i)))
        for i, r in enumerate(progress(store.images, desc=desc, unit="img", leave=False))
    ]


def _design(rgb: np.ndarray) -> np.ndarray:
    x = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    return np.hstack([x, np.ones((len(x), 1))])


class ColourMap:
    """scan RGB -> clean RGB by one affine map, least squares over the training pixels, solved
    from the normal equations summed page by page."""

    @staticmethod
    def normal_equations(scan: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X^T X and X^T Y of one page's fitting pixels (X: scan RGB and 1, Y: clean RGB)."""
        s = PIXEL_STEP
        a = _design(scan[::s, ::s])
        b = clean[::s, ::s].reshape(-1, 3).astype(np.float64) / 255.0
        return a.T @ a, a.T @ b

    def fit(self, pages: list[Page]) -> ColourMap:
        xtx = sum(p.xtx for p in pages)
        xty = sum(p.xty for p in pages)
        self.weights = np.linalg.lstsq(xtx, xty, rcond=None)[0]
        return self

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        return to_uint8((_design(rgb) @ self.weights).reshape(rgb.shape), 255.0)


def scan_features(rgb: np.ndarray) -> np.ndarray:
    """What the regressor sees of a scan: Y's mean, spread and percentiles, the chroma's means
    and percentiles, the RGB means, the shares of near-white and near-black pixels, all from
    OpenCV's full-range YUV of the uint8 scan (the leaderboard's conversion)."""
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb[..., ::-1]), cv2.COLOR_BGR2YUV).reshape(-1, 3)
    y, u, v = (yuv[:, c].astype(np.float64) for c in range(3))
    return np.array(
        [
            y.mean(),
            y.std(),
            *np.percentile(y, PERCENTILES),
            u.mean(),
            v.mean(),
            *np.percentile(u, (10, 50, 90)),
            *np.percentile(v, (10, 50, 90)),
            *rgb.reshape(-1, 3).mean(0),
            (y > 200).mean(),
            (y < 60).mean(),
        ]
    )


class MeanYRegressor:
    """A page's clean mean Y from its scan's statistics: ridge on the correction (clean mean Y
    minus the scan's), standardised features, the ridge strength by group CV over titles, the
    correction held to the range the training pages span."""

    def fit(self, features: np.ndarray, titles: list[str], truths: np.ndarray) -> MeanYRegressor:
        target = np.asarray(truths) - features[:, 0]
        groups = np.asarray(titles)
        splits = min(len(set(titles)), 5)
        model = make_pipeline(StandardScaler(), Ridge())
        if splits >= 2:
            search = GridSearchCV(
                model,
                {"ridge__alpha": ALPHAS},
                cv=GroupKFold(n_splits=splits),
                scoring="neg_mean_absolute_error",
            )
            search.fit(features, target, groups=groups)
            model = search.best_estimator_
        else:
            model.set_params(ridge__alpha=1.0).fit(features, target)
        self.model = model
        # A linear model extrapolates without bound on a page unlike the training pages (a dark
        # one among white ones); the correction stays within those seen in training.
        self.limits = float(target.min()), float(target.max())
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features[:, 0] + np.clip(self.model.predict(features), *self.limits)


def histogram_features(rgb: np.ndarray) -> np.ndarray:
    """What the trees see of a scan: the share of its pixels in each of `HISTOGRAM_BINS` bins
    of R, G and B, then its Y's mean and percentiles (the leaderboard's Y)."""
    pixels = rgb.reshape(-1, 3)
    shares = [
        np.bincount(pixels[:, c] // (256 // HISTOGRAM_BINS), minlength=HISTOGRAM_BINS) / len(pixels)
        for c in range(3)
    ]
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb[..., ::-1]), cv2.COLOR_BGR2YUV)
    y = yuv[..., 0].astype(np.float64)
    return np.concatenate([*shares, [y.mean()], np.percentile(y, PERCENTILES)])


class MeanYTrees:
    """A page's clean mean Y from its scan's histograms: gradient-boosted trees on the
    correction (clean mean Y minus the scan's, the histogram features' column `Y_MEAN`), the
    absolute error as the loss (the leaderboard's metric), leaves of at least a tenth of the
    pages (at least 2, at most 20) so that 25 pages and thousands alike are fitted without
    memorising; the correction held to the training range."""

    def fit(self, features: np.ndarray, truths: np.ndarray) -> MeanYTrees:
        target = np.asarray(truths) - features[:, Y_MEAN]
        self.model = HistGradientBoostingRegressor(
            loss="absolute_error",
            learning_rate=0.1,
            max_iter=100,
            max_leaf_nodes=8,
            min_samples_leaf=int(np.clip(len(target) // 10, 2, 20)),
            early_stopping=False,
            random_state=0,
        ).fit(features, target)
        self.limits = float(target.min()), float(target.max())
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features[:, Y_MEAN] + np.clip(self.model.predict(features), *self.limits)


class Ladder:
    """The rungs fitted on `train` pages; `predict` gives each rung's mean Y of pages, but the
    colour map's, which needs the scan's pixels (`colour_mapped`)."""

    def __init__(self, train: list[Page]):
        self.colormap = ColourMap().fit(train)
        feats = np.stack([p.features for p in train])
        truths = np.array([p.clean_y for p in train])
        self.regressor = MeanYRegressor().fit(feats, [p.title for p in train], truths)
        self.trees = MeanYTrees().fit(np.stack([p.histogram for p in train]), truths)

    def colour_mapped(self, scan: np.ndarray) -> float:
        return mean_y(self.colormap.apply(scan))

    def predict(self, pages: list[Page]) -> dict[str, list[float]]:
        feats = np.stack([p.features for p in pages])
        hists = np.stack([p.histogram for p in pages])
        return {
            "identity": [p.scan_y for p in pages],
            "regressor": [float(v) for v in self.regressor.predict(feats)],
            "gbt": [float(v) for v in self.trees.predict(hists)],
        }


def out_of_fold(store: PairStore) -> dict[str, Any]:
    """Each rung's out-of-fold mean Y of every training image (fitted on the other folds), and
    its CV: the leaderboard metric over all of them, as an experiment's CV is computed, with its
    95% interval (a bootstrap over titles, or images where folds split titles). The store is
    read twice, a page at a time: once for the pages' numbers, once to apply each fold's colour
    map to its own scans."""
    result = pages_out_of_fold(store_pages(store), lambda i: np.asarray(store.scan(i)))
    return result | {"fingerprint": store.fingerprint}


def pages_out_of_fold(pages: list[Page], scan: Callable[[int], np.ndarray]) -> dict[str, Any]:
    """`out_of_fold` of pages (`scan(i)` gives page i's scan pixels, for the colour map)."""
    truth = {p.stem: p.clean_y for p in pages}
    oof: dict[str, dict[str, float]] = {rung: {} for rung in RUNGS}
    ladders = {}
    for fold in sorted({p.fold for p in pages}):
        held = [p for p in pages if p.fold == fold]
        ladders[fold] = Ladder([p for p in pages if p.fold != fold])
        for rung, values in ladders[fold].predict(held).items():
            oof[rung].update({p.stem: v for p, v in zip(held, values, strict=True)})
    for i, p in enumerate(progress(pages, desc="ladder colormap", unit="img", leave=False)):
        oof["colormap"][p.stem] = ladders[p.fold].colour_mapped(scan(i))
    oof = {rung: {s: oof[rung][s] for s in truth} for rung in RUNGS}
    errors = {rung: [abs(oof[rung][s] - truth[s]) for s in truth] for rung in RUNGS}
    units, unit = resampling_units(list(truth), [p.title for p in pages], [p.fold for p in pages])
    return {
        "version": VERSION,
        "cv": {rung: float(np.mean(errors[rung])) for rung in RUNGS},
        "intervals": {
            rung: bootstrap_interval(errors[rung], units, unit).record() for rung in RUNGS
        },
        "oof": oof,
        "truth": truth,
    }


def ladder_of(store: PairStore) -> dict[str, Any]:
    """The store's ladder, computed once and kept beside it (ladder.json), recomputed when the
    store was rebuilt or the ladder has changed since (`VERSION`)."""
    path = store.root / "ladder.json"
    if path.is_file():
        kept = json.loads(path.read_text())
        if kept.get("fingerprint") == store.fingerprint and kept.get("version") == VERSION:
            return kept
    result = out_of_fold(store)
    write_text(path, json.dumps(result, indent=1))
    return result


def predict_held_out(store: PairStore, scans: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Each rung fitted on all the store's training pairs, applied to the held-out scans (test
    inputs, by stem): {rung: {stem: predicted mean Y}}."""
    stems = sorted(scans)
    ladder = Ladder(store_pages(store))
    pages, mapped = [], []
    for stem in progress(stems, desc="ladder test", unit="img", leave=False):
        scan = read_rgb(scans[stem])
        pages.append(Page.of(stem, stem, -1, scan))
        mapped.append(ladder.colour_mapped(scan))
    predicted = ladder.predict(pages) | {"colormap": mapped}
    return {rung: dict(zip(stems, values, strict=True)) for rung, values in predicted.items()}


def score_baselines(cfg: DictConfig, say: Callable[[str], None]) -> None:
    """What `baselines` does: the ladder of the config's store (computed once, kept beside
    it), each rung's submission for the test scans (fitted on all training pairs), scored
    against data.test_truth when that exists; `say` gets each line to print."""
    if not Task.of(cfg).is_competition:
        raise UserError(
            f"task.kind: the ladder is the descanning competition's; {cfg.task.kind} reports "
            "its own baseline beside every score"
        )
    store = open_store(cfg)
    ladder = ladder_of(store)
    predicted = predict_held_out(store, held_out_inputs(cfg))
    truth_csv = data_path(cfg, "test_truth")
    truth = read_submission(truth_csv, extra_columns=True) if truth_csv.is_file() else None
    run = Experiment.of(cfg)
    n_test = len(predicted["identity"])
    say(f"baselines: {len(ladder['truth'])} training images out of fold, {n_test} test scans")
    for rung in RUNGS:
        values = clamp_values(predicted[rung])
        check_values(values, rung)
        target = run.baseline_submission(cfg.submissions, rung)
        write_text(target, format_csv(values))
        test = ""
        if truth is not None:
            test = f"   test {leaderboard_score(values, truth, str(target), str(truth_csv)):.4f}"
        interval = interval_text(ladder["intervals"][rung])
        say(f"  {rung:<10} CV {ladder['cv'][rung]:.4f}{interval}{test}   -> {target}")
