"""How sure a score is: 95% intervals from a bootstrap over the unit the folds are drawn by
(magazine titles; images when folds split titles), for one score and for the paired difference
of two scores over the same images.

A CV over a handful of titles moves a lot with which titles happened to be there; resampling
images alone would ignore that pages of one title err together and give intervals too narrow.
Each draw takes as many units as there are, with replacement, and the statistic is the mean
over all the images of the drawn units, as the CV is the mean over images. Draws come from a
fixed seed, so the same predictions always give the same interval.

With few units a plain percentile interval is too narrow (the bootstrap's spread is biased low
by (n-1)/n, and a mean of n units is t-distributed, not normal): on simulated leaderboards it
covered the true mean 77% of the time with 5 titles and 83% with 10. Each side is therefore
widened about the observed mean by t(n-1)/z * sqrt(n/(n-1)), which brought coverage to 84-92%
with 3 to 30 titles (tests/core/scoring/test_intervals.py). On the ladder's own CVs over
simulated competitions of 5, 10 and 30 titles (`python -m pipeline.bench coverage --seeds 0
1`), the intervals held the error on a large population of other titles 93-95% of the time for
the scans unchanged and 78-89% for the fitted rungs, whose CV fits on fewer titles than the
final model (docs/studies.md#intervals has the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DRAWS = 4000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A 95% bootstrap interval of a mean, over `units` resampled units of kind `unit`."""

    low: float
    high: float
    units: int
    unit: str

    def text(self, digits: int = 4) -> str:
        return f"95% interval {self.low:.{digits}f} to {self.high:.{digits}f}"

    def record(self) -> dict[str, float | int | str]:
        return {"low": self.low, "high": self.high, "units": self.units, "unit": self.unit}


@dataclass(frozen=True)
class PairedDifference:
    """B's score minus A's over the same images: its mean, interval, and the share of draws in
    which B does better (lower, or higher where higher is better)."""

    mean: float
    interval: Interval
    b_wins: float

    def record(self) -> dict[str, object]:
        return {"mean": self.mean, "interval": self.interval.record(), "b_wins": self.b_wins}


def resampling_units(
    stems: Sequence[str], titles: Sequence[str], folds: Sequence[int]
) -> tuple[list[str], str]:
    """The unit each image is resampled with: its title when every title sits in one fold (the
    folds were drawn by title), else the image itself (prepare.group=image, or fewer titles
    than folds)."""
    fold_of: dict[str, set[int]] = {}
    for title, fold in zip(titles, folds, strict=True):
        fold_of.setdefault(title, set()).add(int(fold))
    if all(len(f) == 1 for f in fold_of.values()):
        return list(titles), "title"
    return list(stems), "image"


def _draw_means(
    values: np.ndarray, units: Sequence[str], draws: int, seed: int
) -> tuple[np.ndarray, int]:
    """The mean over images of `draws` bootstrap samples of the units (rows: draws)."""
    names, index = np.unique(np.asarray(units), return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=len(names))
    counts = np.bincount(index, minlength=len(names)).astype(np.float64)
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(names), size=(draws, len(names)))
    return sums[picked].sum(1) / counts[picked].sum(1), len(names)


def _bounds(means: np.ndarray, observed: float, units: int, level: float) -> tuple[float, float]:
    """The percentile interval of the draws' means, each side widened about the observed mean
    for a small number of units (see the module's docstring)."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    if units < 2:
        return float(low), float(high)
    widen = (
        stats.t.ppf(1 - tail, units - 1) / stats.norm.ppf(1 - tail) * np.sqrt(units / (units - 1))
    )
    return float(observed - (observed - low) * widen), float(observed + (high - observed) * widen)


def bootstrap_interval(
    values: Sequence[float],
    units: Sequence[str],
    unit: str = "title",
    draws: int = DRAWS,
    seed: int = 0,
    level: float = LEVEL,
) -> Interval:
    """The percentile interval of the mean of `values` (one per image) when the units they
    belong to are resampled with replacement; not below zero when no value is (an error)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        raise ValueError("no values to bootstrap")
    means, n = _draw_means(v, units, draws, seed)
    low, high = _bounds(means, float(v.mean()), n, level)
    if (v >= 0).all():  # errors: widening for few units must not give a mean below zero
        low = max(low, 0.0)
    return Interval(low, high, n, unit)


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    units: Sequence[str],
    unit: str = "title",
    lower_is_better: bool = True,
    draws: int = DRAWS,
    seed: int = 0,
    level: float = LEVEL,
) -> PairedDifference:
    """B minus A over the same images (a[i] and b[i] score image i), resampled by unit: the
    mean difference, its interval and the share of draws in which B is better."""
    diff = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if len(diff) == 0:
        raise ValueError("no values to compare")
    means, n = _draw_means(diff, units, draws, seed)
    wins = means < 0 if lower_is_better else means > 0
    mean = float(diff.mean())
    return PairedDifference(
        mean, Interval(*_bounds(means, mean, n, level), n, unit), float(wins.mean())
    )
