"""How `auto` spends auto.minutes: each candidate's cost timed before any training (the
trainer's own estimate of an epoch and of one prediction), the candidates that cannot train
even a few epochs on every fold within the budget left out in their listed order, and each
candidate's training time shared out again from the time really left when it starts, so an
early candidate that ran over is paid for by the later ones, not by the total."""

from __future__ import annotations

from dataclasses import dataclass

# The fewest epochs a candidate is worth training on each fold; one that cannot fit them is
# left out rather than submitted half-trained.
MIN_EPOCHS = 3
# The share of auto.minutes kept for the ladder, the choice, start-up and the estimates.
RESERVE = 0.1


@dataclass(frozen=True)
class Cost:
    """One candidate's timed cost on this folder."""

    name: str
    folds: int
    epoch_seconds: float  # one epoch of one fold
    infer_seconds: float  # out of fold and on the test scans, every fold's model and view

    @property
    def least_seconds(self) -> float:
        """MIN_EPOCHS on every fold, then inference."""
        return self.folds * MIN_EPOCHS * self.epoch_seconds + self.infer_seconds


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
    folds; never less than MIN_EPOCHS of its epochs."""
    training = left_seconds - sum(c.infer_seconds for c in remaining)
    nxt = remaining[0]
    share = training / len(remaining) / nxt.folds
    return max(share, MIN_EPOCHS * nxt.epoch_seconds) / 60.0
