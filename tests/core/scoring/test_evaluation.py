"""One CV summary and one leaderboard row for every experiment, a blend's too."""

from __future__ import annotations

import pytest

from pipeline.core.runs.experiment import LEADERBOARD_COLUMNS
from pipeline.core.scoring.evaluation import (
    best_rung,
    cv_line,
    cv_summary,
    leaderboard_row,
    score_interval,
)
from pipeline.core.scoring.intervals import bootstrap_interval
from pipeline.core.task.task import Task

# A blend's out-of-fold rows: mean Y only, no pixels.
BLEND_ROWS = [
    {"stem": "a", "fold": 0, "abs_err": 1.0, "identity_err": 4.0},
    {"stem": "b", "fold": 0, "abs_err": 3.0, "identity_err": 2.0},
    {"stem": "c", "fold": 1, "abs_err": 8.0, "identity_err": 6.0},
]


def test_a_blends_cv_is_the_mean_over_images_without_pixel_metrics():
    cv = cv_summary(BLEND_ROWS, Task("descan"))
    assert cv["cv"] == pytest.approx(4.0) and cv["baseline"] == pytest.approx(4.0)
    assert cv["fold_mean"] == pytest.approx(5.0) and cv["fold_std"] == pytest.approx(3.0)
    assert [(f["fold"], f["images"], f["score"]) for f in cv["folds"]] == [(0, 2, 2.0), (1, 1, 8.0)]
    assert "y_mae" not in cv and "psnr" not in cv
    # no titles in the rows: the interval resamples images
    interval = bootstrap_interval([1.0, 3.0, 8.0], ["a", "b", "c"], "image")
    assert cv["interval"] == interval.record() and interval.low < 4.0 < interval.high
    line = cv_line(cv, Task("descan"), ", each fold blended with weights fitted on the others")
    assert line == (
        "CV score (leaderboard metric over 3 out-of-fold images, each fold blended with weights "
        f"fitted on the others): 4.0000 (95% interval {interval.low:.4f} to {interval.high:.4f} "
        "over 3 images)   folds 5.0000 ± 3.0000   identity (scans unchanged): 4.0000"
    )


def test_the_cv_interval_resamples_titles_when_the_folds_hold_whole_titles():
    rows = [
        {"stem": f"{t}.{n}", "title": t, "fold": f, "abs_err": e}
        for t, f, errs in (("A", 0, (1.0, 2.0)), ("B", 1, (5.0, 7.0)), ("C", 2, (3.0, 3.5)))
        for n, e in enumerate(errs)
    ]
    interval = score_interval(rows, Task("descan"))
    assert (interval.unit, interval.units) == ("title", 3)
    errs = [r["abs_err"] for r in rows]
    assert interval == bootstrap_interval(errs, [r["title"] for r in rows], "title")
    # a title split over two folds: the images are the unit
    rows[1]["fold"] = 1
    assert (
        score_interval(rows, Task("descan")).unit,
        score_interval(rows, Task("descan")).units,
    ) == (
        "image",
        6,
    )


def test_the_leaderboard_row_of_a_cv_summary(monkeypatch):
    monkeypatch.setattr("pipeline.core.scoring.evaluation.git_commit", lambda: "abc1234")
    cv = cv_summary(BLEND_ROWS, Task("descan")) | {"ladder": {"identity": 4.0, "regressor": 3.5}}
    row = leaderboard_row(cv, "blend of a+b", 12.4)
    assert set(row) <= set(LEADERBOARD_COLUMNS)
    assert {k: v for k, v in row.items() if k != "finished"} == {
        "task": "descan",
        "model": "blend of a+b",
        "params": "",
        "folds": 2,
        "images": 3,
        "cv": "4.000000",
        "cv_low": f"{cv['interval']['low']:.6f}",
        "cv_high": f"{cv['interval']['high']:.6f}",
        "fold_std": "3.000000",
        "baseline": "4.000000",
        "best_baseline": "regressor 3.5000",
        "wall_s": "12",
        "commit": "abc1234",
    }
    pixels = cv | {"y_mae": 1.23456, "psnr": 30.12345}
    row = leaderboard_row(pixels, "dncnn", 99.6, params=1234)
    assert (row["params"], row["y_mae"], row["psnr"], row["wall_s"]) == (
        1234,
        "1.2346",
        "30.123",
        "100",
    )


def test_the_best_rung_is_the_lowest_error():
    assert best_rung({"identity": 9.0, "colormap": 2.5, "regressor": 3.0}) == "colormap"
