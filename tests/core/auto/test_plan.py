"""How auto spends its minutes: candidates kept in order while their least cost fits, epochs
shortened where full ones do not fit, and each share set from the time really left."""

from __future__ import annotations

import pytest

from pipeline.core.auto.plan import (
    MARGIN,
    MIN_EPOCHS,
    MIN_STEPS,
    RESERVE,
    Cost,
    infer_seconds,
    make_plan,
    minutes_per_fold,
    plan_lines,
    shared_steps,
)


def cost(name="a", folds=1, step=1.0, steps=10, fixed=0.0, infer=0.0, batch=16) -> Cost:
    return Cost(name, folds, step, steps, batch, fixed, infer)


def test_inference_is_every_training_image_once_and_every_test_scan_per_fold_and_view():
    # 2e-6 s per pixel, 2 views, 5 folds: (1e6 + 5 x 2e5) pixels x 2 views x 2e-6 = 8 s
    assert infer_seconds(2e-6, 2, 5, 1_000_000, 200_000) == pytest.approx(8.0)


def test_least_cost_is_the_fewest_epochs_of_the_fewest_steps_and_inference():
    small = cost(folds=5, step=0.5, steps=8, fixed=1.0, infer=10.0)  # an epoch under MIN_STEPS
    assert small.epoch_seconds == 8 * 0.5 + 1.0
    assert small.least_seconds == 5 * MIN_EPOCHS * (8 * 0.5 + 1.0) + 10.0
    large = cost(folds=5, step=0.5, steps=400, fixed=1.0, infer=10.0)  # shortened to MIN_STEPS
    assert large.least_seconds == 5 * MIN_EPOCHS * (MIN_STEPS * 0.5 + 1.0) + 10.0


def test_candidates_are_kept_in_order_while_they_fit_and_a_cheaper_later_one_still_can():
    budget = 100.0  # 90 s after the reserve
    assert budget * (1 - RESERVE) == 90.0
    a = cost("a", step=1.0, steps=10, infer=10.0)  # least 3 x 10 + 10 = 40
    b = cost("b", step=2.0, steps=10)  # least 60: 100 > 90
    c = cost("c", step=0.5, steps=10, infer=20.0)  # least 35: 75 <= 90
    plan = make_plan([a, b, c], budget)
    assert [x.name for x in plan.kept] == ["a", "c"]
    assert [x.name for x in plan.dropped] == ["b"]
    assert plan.available_seconds == 90.0
    assert make_plan([b], 10.0).kept == []


def test_a_candidate_an_earlier_run_started_is_kept_whatever_this_runs_timing_says():
    """Run again on a busier machine, the timing can say a trained candidate does not fit: it
    is kept (its recorded schedule continues, so the submission is the same), and counted."""
    budget = 100.0  # 90 s after the reserve
    a = cost("a", step=1.0, steps=10, infer=10.0)  # least 40
    b = cost("b", step=2.0, steps=10)  # least 60: alone it fits, after a it does not
    c = cost("c", step=0.5, steps=10, infer=20.0)  # least 35
    big = cost("big", step=5.0, steps=10)  # least 150: never fits 90
    plan = make_plan([big, a, b, c], budget, frozenset({"big", "gone"}))
    assert [x.name for x in plan.kept] == ["big"]  # 150 used: nothing new fits after it
    assert [x.name for x in plan.dropped] == ["a", "b", "c"]
    assert plan.started == {"big"}  # only the kept ones
    assert "big (" in plan_lines(plan, budget / 60)[0]
    assert "started earlier, continues as it was" in plan_lines(plan, budget / 60)[0]
    plan = make_plan([a, b, c], budget, frozenset({"b"}))
    assert [x.name for x in plan.kept] == ["a", "b"] and plan.started == {"b"}
    assert "started earlier" not in plan_lines(make_plan([a], budget), budget / 60)[0]


def test_the_next_share_is_the_same_steps_for_every_candidate_from_the_time_left():
    a = cost("a", folds=3, step=0.1, steps=10, infer=30.0)  # 0.1 s a step
    b = cost("b", folds=3, step=0.2, steps=10, fixed=1.0, infer=60.0)  # 0.2 + 1/10 = 0.3 s
    assert b.fold_seconds(100) == pytest.approx(100 * 0.2 + 10 * 1.0)  # 10 full epochs
    # 600 s left, 90 s of it inference: 170 s per fold for both, 0.1 + 0.3 s a step each:
    # 425 steps each, so a gets 42.5 s per fold and b 127.5 s
    assert minutes_per_fold(600.0, [a, b]) == pytest.approx(42.5 / 60)
    assert minutes_per_fold(600.0, [b, a]) == pytest.approx(127.5 / 60)
    # the last candidate takes all that is left after its inference
    assert minutes_per_fold(600.0, [b]) == pytest.approx(540 / 3 / 60)
    # a first candidate that ran over leaves little: never under MIN_EPOCHS of b's epochs
    assert minutes_per_fold(70.0, [b]) == pytest.approx(MIN_EPOCHS * (10 * 0.2 + 1.0) / 60)


def test_shortened_epochs_pay_their_fixed_cost_min_epochs_times_and_the_steps_stay_equal():
    """Epochs of 1000 steps, far more than fit: each candidate trains MIN_EPOCHS shortened
    epochs, paying its fixed cost (validation, the loader's start) three times, not a share
    of one full epoch's, so the fast model's share still buys it the same steps."""
    fast = cost("fast", folds=3, step=0.1, steps=1000, fixed=2.0)
    slow = cost("slow", folds=3, step=1.0, steps=1000, fixed=10.0)
    assert fast.fold_seconds(150) == pytest.approx(150 * 0.1 + MIN_EPOCHS * 2.0)
    # 600 s left, no inference: 200 s per fold; 0.1 N + 6 + 1.0 N + 30 = 200, N = 164 / 1.1
    n = 164 / 1.1
    assert shared_steps(200.0, [fast, slow]) == pytest.approx(n)
    assert minutes_per_fold(600.0, [fast, slow]) == pytest.approx((0.1 * n + 6) / 60)
    assert minutes_per_fold(600.0, [slow, fast]) == pytest.approx((1.0 * n + 30) / 60)
    # their shares buy both the same steps: MIN_EPOCHS epochs of n / 3 steps, with the margin
    shares = [minutes_per_fold(600.0, [c, fast if c is slow else slow]) for c in (fast, slow)]
    steps = [c.steps_that_fit(m / MARGIN) for c, m in zip((fast, slow), shares, strict=True)]
    assert steps[0] == steps[1] == int(n / MIN_EPOCHS + 1e-9)
    # even the fixed costs do not fit: no steps, and the share is the least training
    assert shared_steps(30.0, [fast, slow]) == 0.0


def test_epochs_too_long_for_the_share_are_shortened_to_what_fits_never_below_min_steps():
    c = cost(step=1.0, steps=200, fixed=6.0)  # a full epoch: 206 s
    assert c.steps_that_fit(MIN_EPOCHS * 206 / 60 / MARGIN) == 200  # full epochs just fit
    assert c.steps_that_fit(MIN_EPOCHS * 206 / 60) == 169  # 0.85 x 206 - 6 s: 169 steps
    assert c.steps_that_fit(100.0) == 200  # more time: still a full epoch, more of them
    # 3 min per fold: 0.85 x 180 / 3 = 51 s an epoch, 6 s of it validation and the loader
    assert c.steps_that_fit(3.0) == 45
    assert c.steps_that_fit(0.01) == MIN_STEPS


def test_a_candidate_schedule_shortens_epochs_and_a_started_one_keeps_its_own(tmp_path):
    from omegaconf import OmegaConf

    from pipeline.core.auto.plan import schedule_of

    cfg = OmegaConf.create({"runs": str(tmp_path), "experiment": "x"})
    c = cost("slow", step=1.0, steps=200, fixed=6.0, batch=16)
    schedule, words = schedule_of(cfg, c, 3.0)
    # shortened: exactly MIN_EPOCHS epochs, no time budget for the trainer to re-estimate
    assert schedule == [
        "train.time_budget=0",
        f"train.epochs={MIN_EPOCHS}",
        f"train.samples_per_epoch={45 * 16}",
    ]
    assert f"in {MIN_EPOCHS} epochs shortened to 720 samples (45 of 200 steps)" in words
    fast = cost("fast", step=0.01, steps=200, fixed=0.0)
    assert schedule_of(cfg, fast, 3.0) == (["train.time_budget=3"], "3 min per fold")
    # an earlier run's candidate: its recorded schedule, whatever time is left now
    (tmp_path / "x-slow").mkdir()
    (tmp_path / "x-slow" / "config.yaml").write_text(
        "train: {time_budget: 0, samples_per_epoch: 320, epochs: 3}\n"
    )
    schedule, words = schedule_of(cfg, c, 0.5)
    assert schedule == ["train.time_budget=0", "train.samples_per_epoch=320", "train.epochs=3"]
    assert words == "the schedule of its earlier run"
