"""The procedure's choice: nested (a fold's own images never choose its option), the rung
when the evidence does not show better, and the winner when it does."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.auto.choose import best_option, choose


def _folder(titles_per_fold: int = 2, pages: int = 4, folds: int = 3):
    """Images of `folds` folds, each of whole titles; truth 100 + a spread."""
    rng = np.random.default_rng(0)
    titles = [
        f"T{f}{t}" for f in range(folds) for t in range(titles_per_fold) for _ in range(pages)
    ]
    fold = np.array([int(t[1]) for t in titles])
    stems = [f"{t}_{i}" for i, t in enumerate(titles)]
    truth = 100 + rng.normal(0, 10, len(titles))
    return stems, titles, fold, truth, rng


def test_a_clearly_better_candidate_is_chosen_with_its_honest_cv():
    stems, titles, folds, truth, rng = _folder(titles_per_fold=4)
    good = truth + rng.normal(0, 0.5, len(truth))
    rung = truth + rng.normal(0, 5, len(truth))
    pred = np.stack([good, rung], axis=1)
    c = choose(pred, truth, folds, stems, titles, ["model", "gbt"])
    assert not c.fallback
    assert c.option in ("model", "blend") and c.weights[0] > 0.5
    assert c.fold_options == {0: c.fold_options[0], 1: c.fold_options[1], 2: c.fold_options[2]}
    # the reported CV is the nested predictions' error, computed by hand
    assert c.cv == pytest.approx(np.mean(np.abs(c.oof - truth)))
    assert c.versus_rung["interval"]["high"] < 0 and c.versus_rung["b_wins"] > 0.95
    assert c.option_cvs["model"] == pytest.approx(np.mean(np.abs(good - truth)))
    assert c.interval["low"] <= c.cv <= c.interval["high"]


def test_a_candidate_not_shown_better_gives_the_rung_alone():
    stems, titles, folds, truth, rng = _folder()
    # the candidate is as good as the rung on average: no evidence either way
    rung = truth + rng.normal(0, 3, len(truth))
    model = truth + rng.normal(0, 3, len(truth))
    c = choose(np.stack([model, rung], axis=1), truth, folds, stems, titles, ["model", "gbt"])
    assert c.fallback and c.option == "gbt" and c.weights == [0.0, 1.0]
    assert c.cv == pytest.approx(np.mean(np.abs(rung - truth)))  # what is submitted is scored
    assert c.versus_rung["interval"]["high"] >= 0


def test_a_folds_own_images_never_choose_its_option():
    """Fold 0's images favour candidate A, the other folds' favour B: fold 0 gets B (chosen on
    the others); choosing on all the images, or on fold 0's own, would give A there."""
    stems, titles, folds, truth, _ = _folder(titles_per_fold=2, pages=4, folds=3)
    zero = folds == 0
    a = np.where(zero, truth + 0.1, truth + 3.0)
    b = np.where(zero, truth + 30.0, truth + 1.0)
    rung = truth + 50.0
    pred = np.stack([a, b, rung], axis=1)
    columns = ["A", "B", "gbt"]
    assert best_option(pred[zero], truth[zero], columns)[0] != "B"  # its own images: not B
    c = choose(pred, truth, folds, stems, titles, columns)
    assert c.fold_options[0] in ("B", "blend")
    blend_w = c.fold_options[0] == "blend"
    if not blend_w:
        np.testing.assert_allclose(c.oof[zero], b[zero])
    # and the nested error on fold 0 is the chosen option's, far worse than A's there
    assert np.mean(np.abs(c.oof[zero] - truth[zero])) > 5


def test_the_runner_up_is_the_best_other_option_by_its_honest_cv():
    stems, titles, folds, truth, rng = _folder(titles_per_fold=4)
    good = truth + rng.normal(0, 0.5, len(truth))
    fair = truth + rng.normal(0, 2, len(truth))
    rung = truth + rng.normal(0, 6, len(truth))
    c = choose(np.stack([good, fair, rung], 1), truth, folds, stems, titles, ["g", "f", "gbt"])
    others = {k: v for k, v in c.option_cvs.items() if k != c.option}
    assert c.runner_up == min(others, key=others.__getitem__)
    assert c.record()["runner_up"] == c.runner_up


def test_one_fold_or_mismatched_predictions_are_refused():
    stems, titles, folds, truth, _ = _folder()
    pred = np.stack([truth, truth], 1)
    with pytest.raises(ValueError, match="two or more folds"):
        choose(pred, truth, np.zeros(len(truth), int), stems, titles, ["m", "gbt"])
    with pytest.raises(ValueError, match="images x"):
        choose(pred, truth, folds, stems, titles, ["m", "x", "gbt"])
