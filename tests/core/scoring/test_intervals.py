"""Bootstrap intervals over titles: exact where the bootstrap distribution can be enumerated,
paired differences, the resampling unit, and coverage on simulated leaderboards."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from pipeline.core.scoring.held_out import held_out_interval
from pipeline.core.scoring.intervals import (
    bootstrap_interval,
    paired_difference,
    resampling_units,
)
from tests.conftest import run_cli


def test_units_of_equal_means_give_a_point():
    values = [1.0, 3.0, 2.0, 2.0, 2.5, 1.5]
    units = ["a", "a", "b", "b", "c", "c"]
    interval = bootstrap_interval(values, units)
    assert interval.low == interval.high == pytest.approx(2.0)
    assert (interval.units, interval.unit) == (3, "title")


def test_two_titles_of_unequal_size_weigh_their_images():
    # title a: 3 images of value -2; title b: 1 image of value 2 (observed mean -1). Draws of
    # two titles give aa -> -2 (p 1/4), ab -> (-6 + 2) / 4 = -1 (p 1/2), bb -> 2 (p 1/4):
    # percentiles -2 and 2, each side widened about -1 by t(1)/z * sqrt(2) for two titles.
    # (Signed values, as a difference has, so that nothing is clipped at zero.)
    interval = bootstrap_interval([-2.0, -2.0, -2.0, 2.0], ["a", "a", "a", "b"])
    widen = stats.t.ppf(0.975, 1) / stats.norm.ppf(0.975) * np.sqrt(2)
    assert interval.low == pytest.approx(-1 - 1 * widen)
    assert interval.high == pytest.approx(-1 + 3 * widen)


def test_an_error_interval_is_never_below_zero():
    # The same two titles as errors: the widened low side, 2 - 9.2, is below any error there
    # can be, and stops at zero; the high side is as before.
    interval = bootstrap_interval([1.0, 1.0, 1.0, 5.0], ["a", "a", "a", "b"])
    widen = stats.t.ppf(0.975, 1) / stats.norm.ppf(0.975) * np.sqrt(2)
    assert 2 - widen < 0
    assert interval.low == 0.0
    assert interval.high == pytest.approx(2 + 3 * widen)


def _exact_quantiles(sums, counts, qs):
    """The bootstrap distribution of the image mean, by enumerating every multiset of units."""
    n = len(sums)
    outcomes = []
    for combo in itertools.combinations_with_replacement(range(n), n):
        k = np.bincount(combo, minlength=n)
        p = math.factorial(n) / np.prod([math.factorial(int(c)) for c in k]) / n**n
        outcomes.append((float(k @ sums / (k @ counts)), p))
    outcomes.sort()
    values, probs = np.array(outcomes).T
    cdf = np.cumsum(probs)
    return [values[np.searchsorted(cdf, q)] for q in qs]


def test_the_interval_matches_the_enumerated_bootstrap_distribution():
    rng = np.random.default_rng(3)
    counts = np.array([2, 5, 3, 4, 1])
    values = np.concatenate(
        [rng.normal(m, 1.0, c) for m, c in zip([1, 4, 2, 6, 3], counts, strict=True)]
    )
    units = np.repeat(list("abcde"), counts)
    sums = np.array([values[units == u].sum() for u in "abcde"])
    low, high = _exact_quantiles(sums, counts, [0.025, 0.975])
    widen = stats.t.ppf(0.975, 4) / stats.norm.ppf(0.975) * np.sqrt(5 / 4)
    mean = values.mean()
    low, high = mean - (mean - low) * widen, mean + (high - mean) * widen
    interval = bootstrap_interval(values, units, draws=40_000)
    span = high - low
    assert interval.low == pytest.approx(low, abs=0.03 * span)
    assert interval.high == pytest.approx(high, abs=0.03 * span)


def test_the_same_predictions_always_give_the_same_interval():
    rng = np.random.default_rng(0)
    values, units = rng.random(40), rng.choice(list("abcdefgh"), 40)
    assert bootstrap_interval(values, units) == bootstrap_interval(values, units)


def test_a_paired_difference_sees_what_two_separate_intervals_cannot():
    # Titles differ a lot (wide intervals that overlap), but B is better by 0.5 on every image.
    rng = np.random.default_rng(1)
    units = np.repeat(list("abcdef"), 4)
    a = np.repeat(rng.uniform(1, 20, 6), 4) + rng.normal(0, 0.1, 24)
    b = a - 0.5
    ia, ib = bootstrap_interval(a, units), bootstrap_interval(b, units)
    assert ib.high > ia.low  # the separate intervals overlap
    paired = paired_difference(a, b, units)
    assert paired.mean == pytest.approx(-0.5)
    assert paired.interval.low == pytest.approx(-0.5) and paired.interval.high == pytest.approx(
        -0.5
    )
    assert paired.b_wins == 1.0
    assert paired_difference(a, b, units, lower_is_better=False).b_wins == 0.0


def test_a_coin_flip_difference_wins_about_half_the_draws():
    rng = np.random.default_rng(2)
    units = np.repeat([f"t{i}" for i in range(40)], 3)
    a = rng.random(120)
    b = a + np.repeat(rng.choice([-1.0, 1.0], 40), 3) * 0.1
    paired = paired_difference(a, b, units)
    assert paired.interval.low < 0 < paired.interval.high
    # the share of wins is the bootstrap's probability that the mean difference is negative
    assert paired.b_wins == pytest.approx(float(paired.mean < 0), abs=0.5)
    assert 0.05 < paired.b_wins < 0.95


def test_titles_are_the_unit_when_the_folds_were_drawn_by_title():
    stems = ["A.1", "A.2", "B.1", "C.1"]
    assert resampling_units(stems, ["A", "A", "B", "C"], [0, 0, 1, 1]) == (
        ["A", "A", "B", "C"],
        "title",
    )
    # title A on both sides of a fold boundary: folds were split by image
    assert resampling_units(stems, ["A", "A", "B", "C"], [0, 1, 1, 0]) == (stems, "image")


@pytest.mark.parametrize("titles", [5, 30])
def test_intervals_cover_the_true_mean_about_nine_times_in_ten(titles: int):
    """Simulated leaderboards: titles whose pages share an error level; the interval of each
    set's CV covers the mean error of the population it was drawn from close to 95% of the
    time (a plain percentile interval: 77% with 5 titles)."""
    rng = np.random.default_rng(7)
    truth, covered, sets = 3.0, 0, 400
    for _ in range(sets):
        title_means = rng.gamma(4.0, truth / 4.0, titles)  # population mean: truth
        counts = rng.integers(2, 8, titles)
        pages = [rng.exponential(m, c) for m, c in zip(title_means, counts, strict=True)]
        values = np.concatenate(pages)
        units = np.repeat(np.arange(titles).astype(str), counts)
        interval = bootstrap_interval(values, units, draws=1000)
        covered += interval.low <= truth <= interval.high
    assert 0.86 <= covered / sets <= 0.98, covered / sets


def test_score_prints_the_test_interval_over_the_titles_the_ids_name(tmp_path):
    sub, truth = tmp_path / "sub.csv", tmp_path / "truth.csv"
    ids = [f"{t}.{n:05d}.01" for t in "ABC" for n in range(2)]
    errors = [1.0, 2.0, 4.0, 6.0, 0.5, 1.5]
    sub.write_text("Image File,Y Channel Value\n" + "".join(f"{i},100\n" for i in ids))
    truth.write_text(
        "Image File,Y Channel Value\n"
        + "".join(f"{i},{100 + e}\n" for i, e in zip(ids, errors, strict=True))
    )
    result = run_cli("pipeline.score", str(sub), str(truth))
    assert result.code == 0, result.err
    expected = bootstrap_interval(errors, [i[0] for i in ids], "title")
    assert result.out.splitlines()[-2:] == [
        f"score: mean absolute error of mean Y over 6 images (95% interval {expected.low:.4f} "
        f"to {expected.high:.4f} over 3 titles)",
        repr(float(np.mean(errors))),
    ]
    # ids without a title: the images are resampled
    plain = held_out_interval({"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 2.5})
    assert (plain.units, plain.unit) == (2, "image")
