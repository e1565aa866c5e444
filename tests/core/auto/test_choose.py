"""The procedure's choice: nested (a fold's own images never choose its option), the rung
when the evidence does not show better, and the winner when it does."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.auto.choose import best_option, choose
from pipeline.core.auto.run import report
from pipeline.core.scoring.blending import fit_weights


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


def test_a_candidate_worse_than_the_rung_gives_the_rung_alone():
    stems, titles, folds, truth, rng = _folder()
    rung = truth + rng.normal(0, 3, len(truth))
    model = rung + (rung - truth)  # the rung's own errors, doubled: no blend of the two helps
    c = choose(np.stack([model, rung], axis=1), truth, folds, stems, titles, ["model", "gbt"])
    assert c.fallback and c.hedge == 0 and c.option == "gbt" and c.weights == [0.0, 1.0]
    assert c.cv == pytest.approx(np.mean(np.abs(rung - truth)))  # what is submitted is scored
    assert c.versus_rung["interval"]["high"] >= 0


def test_a_candidate_not_shown_better_is_blended_with_the_rung_where_that_beats_it():
    """A little better than the rung on average: too few titles to show it, but a blend of
    the two, its weights fitted out of fold, beats the rung's CV."""
    stems, titles, folds, truth, rng = _folder()
    rung = truth + rng.normal(0, 3, len(truth))
    model = truth + rng.normal(0, 2.5, len(truth))
    pred = np.stack([model, rung], axis=1)
    c = choose(pred, truth, folds, stems, titles, ["model", "gbt"])
    assert c.fallback and c.versus_rung["interval"]["high"] >= 0
    assert 0.2 < c.hedge < 0.8 and c.option.endswith("+gbt")
    _, recipe = best_option(pred, truth, ["model", "gbt"])
    np.testing.assert_allclose(c.weights, c.hedge * recipe + (1 - c.hedge) * np.array([0, 1]))
    # the reported CV is the hedged out-of-fold predictions', and beats the rung's own
    assert c.cv == pytest.approx(np.mean(np.abs(c.oof - truth)))
    assert c.cv < np.mean(np.abs(rung - truth))
    # by hand: each fold's option chosen on the other folds, then each fold's two weights
    # fitted on the other folds' nested predictions
    nested = np.empty(len(truth))
    for fold in range(3):
        mine = folds == fold
        nested[mine] = pred[mine] @ best_option(pred[~mine], truth[~mine], ["model", "gbt"])[1]
    pair = np.stack([nested, rung], axis=1)
    for fold in range(3):
        mine = folds == fold
        w = fit_weights(pair[~mine], truth[~mine])
        np.testing.assert_allclose(c.oof[mine], pair[mine] @ w, atol=1e-9)


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


def test_the_output_says_in_one_line_what_was_submitted_and_why():
    stems, titles, folds, truth, rng = _folder()
    rung = truth + rng.normal(0, 3, len(truth))
    model = truth + rng.normal(0, 2.5, len(truth))
    c = choose(np.stack([model, rung], 1), truth, folds, stems, titles, ["model", "gbt"])
    lines: list[str] = []
    report(c, "gbt", lines.append)
    (blend,) = [line for line in lines if "rung" in line and "runner-up" not in line]
    d, models = c.versus_rung["mean"], c.weights[0]  # the models' own weight, all told
    assert 0 < models < c.hedge <= 1  # the recipe, a blend, already held some of the rung
    assert blend.startswith(
        f"auto: the submission blends the models with the gbt rung, {models:.2f} / "
        f"{1 - models:.2f}: the nested CV does not show them better (procedure - gbt {d:+.4f}"
    )
    assert blend.endswith(f"give CV {c.cv:.4f} against the rung's {c.option_cvs['gbt']:.4f}")
    worse = choose(np.stack([2 * rung - truth, rung], 1), truth, folds, stems, titles, ["m", "gbt"])
    lines.clear()
    report(worse, "gbt", lines.append)
    assert sum("the submission is the gbt rung's" in line for line in lines) == 1
    assert not any("blends" in line for line in lines)
