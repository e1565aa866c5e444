"""How `auto` spends auto.minutes: each candidate's cost timed before any training (the
trainer's own estimate of a step, an epoch's validation and one prediction); a candidate whose
epochs are too long for its share trains on shorter ones (train.samples_per_epoch), so it still
gets MIN_EPOCHS of them, each one a checkpoint the inner split can choose; one that cannot fit
even MIN_EPOCHS epochs of MIN_STEPS steps is left out, in the listed order. Each candidate's
training time is shared out again from the time really left when it starts, so an early
candidate that ran over is paid for by the later ones, not by the total."""

from __future__ import annotations

from dataclasses import dataclass

# The fewest epochs a candidate trains on each fold: the checkpoints the inner split chooses from.
MIN_EPOCHS = 3
# The fewest training steps of a shortened epoch; a candidate that cannot fit MIN_EPOCHS of
# them is left out rather than submitted untrained.
MIN_STEPS = 10
# The share of auto.minutes kept for the ladder, the choice, start-up and the estimates.
RESERVE = 0.1


@dataclass(frozen=True)
class Cost:
    """One candidate's timed cost on this folder."""

    name: str
    folds: int
    step_seconds: float  # one training step
    steps_per_epoch: int  # a full epoch's
    samples_per_step: int
    fixed_seconds: float  # what an epoch costs beside its steps: validation, the loader's start
    infer_seconds: float  # out of fold and on the test scans, every fold's model and view

    @property
    def epoch_seconds(self) -> float:
        return self.steps_per_epoch * self.step_seconds + self.fixed_seconds

    @property
    def least_seconds(self) -> float:
        """MIN_EPOCHS of the shortest epochs on every fold, then inference."""
        shortest = min(self.steps_per_epoch, MIN_STEPS) * self.step_seconds + self.fixed_seconds
        return self.folds * MIN_EPOCHS * shortest + self.infer_seconds

    def steps_that_fit(self, minutes_per_fold: float) -> int:
        """The steps of an epoch such that MIN_EPOCHS of them fit a fold's minutes: a full
        epoch's when it fits, else fewer, never under MIN_STEPS."""
        per_epoch = minutes_per_fold * 60 / MIN_EPOCHS - self.fixed_seconds
        fit = int(per_epoch // max(self.step_seconds, 1e-9))
        return max(min(self.steps_per_epoch, MIN_STEPS), min(self.steps_per_epoch, fit))


def infer_seconds(
    predict_seconds_per_pixel: float, views: int, folds: int, train_pixels: int, test_pixels: int
) -> float:
    """Inference's time: every training image once by its fold's model, every test scan by
    every fold's model, each in every TTA view."""
    return predict_seconds_per_pixel * views * (train_pixels + folds * test_pixels)


@dataclass(frozen=True)
class Plan:
    budget_seconds: float
    kept: list[Cost]
    dropped: list[Cost]

    @property
    def available_seconds(self) -> float:
        return self.budget_seconds * (1 - RESERVE)


def make_plan(costs: list[Cost], budget_seconds: float) -> Plan:
    """Keep the candidates in their listed order while each one's least cost still fits what
    the budget leaves after the reserve and the candidates kept before it."""
    available = budget_seconds * (1 - RESERVE)
    kept, dropped, used = [], [], 0.0
    for cost in costs:
        if used + cost.least_seconds <= available:
            kept.append(cost)
            used += cost.least_seconds
        else:
            dropped.append(cost)
    return Plan(budget_seconds, kept, dropped)


def minutes_per_fold(left_seconds: float, remaining: list[Cost]) -> float:
    """The next candidate's train.time_budget (remaining[0]; the rest come after it): the time
    left, less the remaining candidates' inference, shared equally among them and over the
    folds; never less than its least training (MIN_EPOCHS of its shortest epochs)."""
    training = left_seconds - sum(c.infer_seconds for c in remaining)
    nxt = remaining[0]
    share = training / len(remaining) / nxt.folds
    least = (nxt.least_seconds - nxt.infer_seconds) / nxt.folds
    return max(share, least) / 60.0
