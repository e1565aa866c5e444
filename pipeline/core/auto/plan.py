"""How `auto` spends auto.minutes: each candidate's cost timed before any training (the
trainer's own estimate of a step, an epoch's validation and one prediction); a candidate whose
epochs are too long for its share trains on shorter ones (train.samples_per_epoch), so it still
gets MIN_EPOCHS of them, each one a checkpoint the inner split can choose; one that cannot fit
even MIN_EPOCHS epochs of MIN_STEPS steps is left out, in the listed order. The training time
is shared so that the candidates train the same number of steps (a slow model gets more
seconds than a fast one), again from the time really left when each one starts, so an early
candidate that ran over is paid for by the later ones, not by the total."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from ..runs.experiment import Experiment
from ..train.folds import time_estimate
from ..util.progress import duration

# The fewest epochs a candidate trains on each fold: the checkpoints the inner split chooses from.
MIN_EPOCHS = 3
# The fewest training steps of a shortened epoch; a candidate that cannot fit MIN_EPOCHS of
# them is left out rather than submitted untrained.
MIN_STEPS = 10
# The share of auto.minutes kept for the ladder, the choice, start-up and the estimates.
RESERVE = 0.1
# Shortened epochs are fitted into this much of a share: they train exactly MIN_EPOCHS of
# them, whatever the time, so the margin is what covers a step that runs slower than timed.
MARGIN = 0.85


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

    def fold_seconds(self, steps: float) -> float:
        """One fold's training of `steps` steps: full epochs where MIN_EPOCHS of them fit in
        those steps, else MIN_EPOCHS shortened ones; every epoch pays its fixed cost."""
        epochs = max(MIN_EPOCHS, steps / self.steps_per_epoch)
        return steps * self.step_seconds + epochs * self.fixed_seconds

    @property
    def least_seconds(self) -> float:
        """MIN_EPOCHS of the shortest epochs on every fold, then inference."""
        shortest = min(self.steps_per_epoch, MIN_STEPS) * self.step_seconds + self.fixed_seconds
        return self.folds * MIN_EPOCHS * shortest + self.infer_seconds

    def steps_that_fit(self, minutes_per_fold: float) -> int:
        """The steps of an epoch such that MIN_EPOCHS of them fit a fold's minutes (with the
        MARGIN): a full epoch's when it fits, else fewer, never under MIN_STEPS."""
        per_epoch = MARGIN * minutes_per_fold * 60 / MIN_EPOCHS - self.fixed_seconds
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
    started: frozenset[str] = frozenset()  # the kept candidates an earlier run started

    @property
    def available_seconds(self) -> float:
        return self.budget_seconds * (1 - RESERVE)


def make_plan(
    costs: list[Cost], budget_seconds: float, started: frozenset[str] = frozenset()
) -> Plan:
    """Keep the candidates in their listed order while each one's least cost still fits what
    the budget leaves after the reserve and the candidates kept before it. A candidate an
    earlier run started (`started`, by name) is kept whatever this run's timing says: it
    continues with its recorded schedule, so a run made again keeps what the first one
    trained and makes the same submission."""
    available = budget_seconds * (1 - RESERVE)
    kept, dropped, used = [], [], 0.0
    for cost in costs:
        if cost.name in started or used + cost.least_seconds <= available:
            kept.append(cost)
            used += cost.least_seconds
        else:
            dropped.append(cost)
    return Plan(budget_seconds, kept, dropped, frozenset(started) & {c.name for c in kept})


def candidate_run(cfg: DictConfig, name: str) -> Experiment:
    """Candidate `name`'s experiment, `<experiment>-<name>`."""
    return Experiment(cfg.runs, f"{cfg.experiment}-{name}")


def started_earlier(cfg: DictConfig, name: str) -> bool:
    """Whether an earlier run of this experiment started candidate `name` (its config.yaml,
    written as its training starts, holds the schedule it trains with)."""
    return candidate_run(cfg, name).config_path.is_file()


def minutes_per_fold(left_seconds: float, remaining: list[Cost]) -> float:
    """The next candidate's train.time_budget (remaining[0]; the rest come after it): the time
    left, less the remaining candidates' inference, shared so that every remaining candidate
    trains the same number of steps on each fold (the same batches: models compared at the
    same training, not the same seconds, so a slow local restorer is not starved by a fast
    whole-page model), each with its epochs' fixed costs (MIN_EPOCHS of them where its epochs
    are shortened); never less than its least training (MIN_EPOCHS of its shortest epochs).
    A candidate that stops early (train.epochs) leaves its time to the next."""
    training = (left_seconds - sum(c.infer_seconds for c in remaining)) / remaining[0].folds
    steps = shared_steps(training, remaining)
    nxt = remaining[0]
    least = (nxt.least_seconds - nxt.infer_seconds) / nxt.folds
    return max(nxt.fold_seconds(steps), least) / 60.0


def shared_steps(fold_seconds: float, costs: list[Cost]) -> float:
    """The steps N that every candidate of `costs` can train on a fold within `fold_seconds`
    together: the sum of their fold_seconds(N) is rising in N, so halving finds it (0 where
    even their epochs' fixed costs do not fit)."""

    def total(n: float) -> float:
        return sum(c.fold_seconds(n) for c in costs)

    if total(0.0) >= fold_seconds:
        return 0.0
    low, high = 0.0, fold_seconds / max(min(c.step_seconds for c in costs), 1e-9)
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) <= fold_seconds else (low, mid)
    return low


def schedule_of(cfg: DictConfig, cost: Cost, minutes: float) -> tuple[list[str], str]:
    """The candidate's schedule, with the words its line says: full epochs, as many as fit
    train.time_budget (the trainer times them again as each fold starts); or, where
    MIN_EPOCHS full epochs do not fit it, exactly MIN_EPOCHS epochs shortened to what fits
    (train.samples_per_epoch, train.epochs; no time budget, so the trainer's second estimate
    cannot take a checkpoint away). A candidate an earlier run started keeps the schedule it
    was trained with (its config.yaml), so its folds continue as they were."""
    if started_earlier(cfg, cost.name):
        train = candidate_run(cfg, cost.name).read_config().get("train", {})
        budget, samples = train.get("time_budget", minutes), train.get("samples_per_epoch", 0)
        schedule = [f"train.time_budget={budget}", f"train.samples_per_epoch={samples}"]
        if "epochs" in train:
            schedule.append(f"train.epochs={train['epochs']}")
        return schedule, "the schedule of its earlier run"
    steps = cost.steps_that_fit(minutes)
    if steps >= cost.steps_per_epoch:
        return [f"train.time_budget={minutes:.4g}"], f"{minutes:.2g} min per fold"
    samples = steps * cost.samples_per_step
    schedule = ["train.time_budget=0", f"train.epochs={MIN_EPOCHS}"]
    schedule.append(f"train.samples_per_epoch={samples}")
    return schedule, (
        f"{minutes:.2g} min per fold, in {MIN_EPOCHS} epochs shortened to {samples} samples "
        f"({steps} of {cost.steps_per_epoch} steps) to fit it; a larger auto.minutes trains "
        "full epochs"
    )


def candidate_cost(name: str, cfg: DictConfig, store, test_pixels: int) -> Cost:
    """A candidate's timed cost on this store: an epoch and its inference."""
    timed = time_estimate(cfg)
    train_pixels = sum(r.height * r.width for r in store.images)
    infer = infer_seconds(
        timed.predict_seconds_per_pixel, len(cfg.infer.tta), store.folds, train_pixels, test_pixels
    )
    return Cost(
        name,
        store.folds,
        timed.step_seconds,
        timed.steps_per_epoch,
        timed.samples_per_step,
        timed.fixed_seconds,
        infer,
    )


def plan_lines(plan: Plan, minutes: float) -> list[str]:
    kept = ", ".join(
        f"{c.name} ({duration(c.epoch_seconds)}/epoch/fold, inference {duration(c.infer_seconds)}"
        + ("; started earlier, continues as it was" if c.name in plan.started else "")
        + ")"
        for c in plan.kept
    )
    lines = [
        f"auto: plan for {minutes:g} min: the ladder; "
        + (f"{len(plan.kept)} candidates: {kept}" if plan.kept else "no candidate")
        + f"; {duration(plan.available_seconds)} for them, less inference, shared so that each "
        "trains the same steps, set again from the time left as each starts; then the choice "
        "by nested CV, never below the best rung on its own evidence"
    ]
    for c in plan.dropped:
        lines.append(
            f"auto: plan: {c.name} left out: {MIN_EPOCHS} epochs of {MIN_STEPS} steps on each "
            f"of {c.folds} folds and its inference need {duration(c.least_seconds)}, more than "
            "the budget leaves it (raise auto.minutes to try it)"
        )
    return lines
