"""How auto spends its minutes: candidates kept in order while their least cost fits, and each
one's share of training set from the time really left."""

from __future__ import annotations

import pytest

from pipeline.core.auto.plan import (
    MIN_EPOCHS,
    RESERVE,
    Cost,
    infer_seconds,
    make_plan,
    minutes_per_fold,
)


def test_inference_is_every_training_image_once_and_every_test_scan_per_fold_and_view():
    # 2e-6 s per pixel, 2 views, 5 folds: (1e6 + 5 x 2e5) pixels x 2 views x 2e-6 = 8 s
    assert infer_seconds(2e-6, 2, 5, 1_000_000, 200_000) == pytest.approx(8.0)


def test_least_cost_is_the_fewest_epochs_on_every_fold_and_inference():
    cost = Cost("a", folds=5, epoch_seconds=4.0, infer_seconds=10.0)
    assert cost.least_seconds == 5 * MIN_EPOCHS * 4.0 + 10.0


def test_candidates_are_kept_in_order_while_they_fit_and_a_cheaper_later_one_still_can():
    budget = 100.0  # 90 s after the reserve
    assert budget * (1 - RESERVE) == 90.0
    a = Cost("a", 1, epoch_seconds=10.0, infer_seconds=10.0)  # least 40
    b = Cost("b", 1, epoch_seconds=20.0, infer_seconds=0.0)  # least 60: 100 > 90
    c = Cost("c", 1, epoch_seconds=5.0, infer_seconds=20.0)  # least 35: 75 <= 90
    plan = make_plan([a, b, c], budget)
    assert [x.name for x in plan.kept] == ["a", "c"]
    assert [x.name for x in plan.dropped] == ["b"]
    assert plan.available_seconds == 90.0
    assert make_plan([b], 10.0).kept == []


def test_the_next_share_is_the_time_left_less_inference_over_candidates_and_folds():
    a = Cost("a", 3, epoch_seconds=1.0, infer_seconds=30.0)
    b = Cost("b", 3, epoch_seconds=2.0, infer_seconds=60.0)
    # 600 s left, 90 s of it inference: 510 / 2 candidates / 3 folds = 85 s = 1.41667 min
    assert minutes_per_fold(600.0, [a, b]) == pytest.approx(85 / 60)
    # the last candidate takes all that is left after its inference
    assert minutes_per_fold(600.0, [b]) == pytest.approx(540 / 3 / 60)
    # a first candidate that ran over leaves little: never under MIN_EPOCHS of its epochs
    assert minutes_per_fold(50.0, [b]) == pytest.approx(MIN_EPOCHS * 2.0 / 60)
