"""The CV-against-test ranking on hand-made predictions: the scores, their Spearman
correlation, and the ranking by number of titles."""

from __future__ import annotations

import pytest

from pipeline.bench.ranking import ranking, report
from pipeline.core.util.errors import UserError


def _table(test_of_c: float = 3.0) -> dict:
    # 4 training titles of 2 images each, truth 100; method a errs by 1 everywhere, b by 2,
    # c by 3 on titles T1-T3 and by 0 on T4 (CV 2.25); the test: a 1, b 2, c test_of_c
    stems = [f"T{t}.{i}" for t in range(1, 5) for i in range(2)]
    oof = {
        "a": {s: 101.0 for s in stems},
        "b": {s: 98.0 for s in stems},
        "c": {s: 100.0 if s.startswith("T4") else 103.0 for s in stems},
    }
    test_truth = {"X.1": 50.0, "X.2": 60.0}
    test = {
        "a": {"X.1": 51.0, "X.2": 59.0},
        "b": {"X.1": 52.0, "X.2": 58.0},
        "c": {"X.1": 50.0 + test_of_c, "X.2": 60.0 + test_of_c},
    }
    return {
        "oof": oof,
        "test": test,
        "truth": {s: 100.0 for s in stems},
        "test_truth": test_truth,
        "titles": {s: s.split(".")[0] for s in stems},
    }


def test_scores_and_their_rank_correlation():
    result = ranking(_table(), ks=[1, 4], draws=200)
    assert result["cv"] == pytest.approx({"a": 1.0, "b": 2.0, "c": 2.25})
    assert result["test"] == pytest.approx({"a": 1.0, "b": 2.0, "c": 3.0})
    assert result["spearman"] == pytest.approx(1.0)
    assert (result["titles"], result["images"], result["test_images"]) == (4, 8, 2)
    # all 4 titles: the one CV there is; one title: T4 alone (a quarter of draws) ranks c first
    assert result["by_titles"][4] == {"spearman": pytest.approx(1.0), "best_is_test_best": 1.0}
    one = result["by_titles"][1]
    assert 0.6 < one["best_is_test_best"] < 0.9  # T4 alone picks c: about 3 draws in 4 are right
    # T1-T3: ranks agree (rho 1); T4: c 0, a 1, b 2 against the test a, b, c (rho -0.5)
    share_t4 = 1 - one["best_is_test_best"]
    assert one["spearman"] == pytest.approx((1 - share_t4) * 1.0 + share_t4 * -0.5)
    text = report(result)
    assert "| a | 1.0000 | 1.0000 | 1 | 1 |" in text and "over 3 methods: 1.000" in text


def test_a_method_reversed_by_the_test_lowers_the_correlation():
    result = ranking(_table(test_of_c=0.5), ks=[4])
    # CV a < b < c, test c < a < b: rho = 1 - 6 * (4 + 1 + 1) / (3 * 8) = -0.5
    assert result["spearman"] == pytest.approx(-0.5)
    assert result["by_titles"][4]["best_is_test_best"] == 0.0


def test_a_method_missing_test_images_is_refused():
    table = _table()
    del table["test"]["b"]["X.2"]
    with pytest.raises(UserError, match="b: no test value for 1 test image"):
        ranking(table, ks=[4])
