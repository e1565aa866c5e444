"""What `auto` does on a prepared competition folder: the plan and its time first, the ladder,
each candidate trained on every fold within its share of auto.minutes and inferred out of fold
and on the test scans, then the nested choice (choose.py) and the submission it gives, with
the recipe recorded beside the experiment (recipe.json)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from PIL import Image

from ..config.load import load_config, to_yaml
from ..data.layout import held_out_inputs, open_store
from ..infer.run import infer_experiment
from ..runs.experiment import Experiment, submission_path
from ..scoring.blending import blended_rows, out_of_fold, test_score_line, test_values
from ..scoring.evaluation import best_rung, cv_summary, leaderboard_row
from ..scoring.intervals import Interval
from ..scoring.ladder import ladder_of, predict_held_out
from ..task.submission import check_values, clamp_values, format_csv
from ..task.task import Task
from ..train.folds import train_experiment
from ..util.errors import UserError
from ..util.files import write_text
from .choose import Choice, choose
from .plan import (
    candidate_cost,
    make_plan,
    minutes_per_fold,
    plan_lines,
    schedule_of,
    started_earlier,
)


def check_plan(cfg: DictConfig) -> None:
    """The refusals that come before any work."""
    if not Task.of(cfg).is_competition:
        raise UserError(
            f"task.kind: auto chooses by the descanning leaderboard's metric, not {cfg.task.kind}"
        )
    if not cfg.auto.minutes > 0:
        raise UserError(f"auto.minutes: must be > 0, got {cfg.auto.minutes}")
    names = [c.name for c in cfg.auto.candidates]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise UserError(f"auto.candidates: give each candidate a name of its own, got {names}")


def candidate_config(
    config: str | None,
    overrides: list[str],
    cfg: DictConfig,
    candidate,
    schedule: list[str] | None = None,
) -> DictConfig:
    """A candidate's experiment: the config, the command line, the candidate's overrides,
    checked (a bad override is an error before any training); with its schedule once it starts
    (`schedule`: train.time_budget and, for shortened epochs, train.samples_per_epoch). The
    epoch each fold keeps is chosen on an inner split of its training titles
    (train.select=inner), never on the held-out images that give the CV, unless the command
    line or the candidate says otherwise."""
    return load_config(
        config,
        [
            "train.select=inner",
            "train.resume=auto",  # run again, auto continues its candidates' folds
            *overrides,
            *candidate.overrides,
            f"experiment={cfg.experiment}-{candidate.name}",
            "infer.oof=true",
            *(schedule or []),
        ],
    )


def auto_experiment(
    cfg: DictConfig, config: str | None, overrides: list[str], say: Callable[[str], None]
) -> Choice | dict:
    """The procedure for cfg's prepared folder (or, with auto.recipe, a recorded recipe's
    submission); `say` gets each line to print."""
    start = time.perf_counter()
    check_plan(cfg)
    store = open_store(cfg)
    if cfg.auto.recipe:
        return pinned(cfg, store, Path(cfg.auto.recipe), say)
    n_titles = len({r.title for r in store.images})
    candidates = {c.name: c for c in cfg.auto.candidates}
    configs = {n: candidate_config(config, overrides, cfg, c) for n, c in candidates.items()}
    say(
        f"auto: {len(store.images)} training pairs over {n_titles} titles, {store.folds} folds; "
        f"budget {cfg.auto.minutes:g} min; timing each candidate (a few steps, one prediction)"
    )
    test_pixels = sum(_pixels(p) for p in held_out_inputs(cfg).values())
    costs = [candidate_cost(name, c, store, test_pixels) for name, c in configs.items()]
    started = frozenset(n for n in candidates if started_earlier(cfg, n))
    plan = make_plan(costs, cfg.auto.minutes * 60, started)
    for line in plan_lines(plan, cfg.auto.minutes):
        say(line)
    ladder = ladder_of(store)
    rung = best_rung(ladder["cv"])
    say(f"auto: ladder: best rung {rung}, CV {ladder['cv'][rung]:.4f}")
    kept: dict[str, DictConfig] = {}  # each kept candidate's config, with its schedule
    for i, cost in enumerate(plan.kept):
        left = plan.available_seconds - (time.perf_counter() - start)
        schedule, words = schedule_of(cfg, cost, minutes_per_fold(left, plan.kept[i:]))
        ccfg = candidate_config(config, overrides, cfg, candidates[cost.name], schedule)
        kept[cost.name] = ccfg
        say(
            f"== auto: candidate {cost.name} ({ccfg.model.name}) -> experiment "
            f"{ccfg.experiment}, {words}"
        )
        train_experiment(ccfg, [], say)
        infer_experiment(ccfg, say)
    runs = [Experiment.of(c) for c in kept.values()]
    oof = out_of_fold(runs) if runs else _ladder_oof(store, ladder)
    rung_oof = np.array([ladder["oof"][rung][s] for s in oof["stems"]])
    columns = [*kept, rung]
    pred = np.column_stack([oof["pred"], rung_oof]) if runs else rung_oof[:, None]
    choice = choose(pred, oof["truth"], oof["folds"], oof["stems"], oof["titles"], columns)
    target, values = _write_submission(cfg, store, runs, rung, choice.weights)
    _write_recipe(cfg, choice, kept, ladder["cv"], target)
    report(choice, rung, say)
    seconds = time.perf_counter() - start
    _record(cfg, choice, oof, ladder["cv"], seconds)
    say(f"auto: submission -> {target}   ({seconds:.0f} s)")
    line = test_score_line(cfg, values, target)
    if line:
        say(line)
    return choice


def _pixels(path: Path) -> int:
    with Image.open(path) as img:  # the header only
        return img.width * img.height


def _ladder_oof(store, ladder: dict) -> dict:
    """The out-of-fold table `scoring.blending.out_of_fold` gives, from the ladder alone (no
    candidate fitted the budget): the scans unchanged as the identity."""
    stems = [r.stem for r in store.images]
    truth = np.array([ladder["truth"][s] for s in stems])
    return {
        "stems": stems,
        "titles": [r.title for r in store.images],
        "folds": np.array([r.fold for r in store.images]),
        "truth": truth,
        "identity": np.abs(np.array([ladder["oof"]["identity"][s] for s in stems]) - truth),
        "pred": np.empty((len(stems), 0)),
    }


def pinned(cfg: DictConfig, store, path: Path, say: Callable[[str], None]) -> dict:
    """The submission of a recorded recipe, made again from its experiments' saved test
    predictions and its weights: nothing is trained or chosen."""
    try:
        recipe = json.loads(path.read_text())
        experiments, weights = list(recipe["experiments"].values()), recipe["weights"]
        rung = recipe["columns"][-1]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"auto.recipe: {path}: not a recipe.json auto wrote ({e})") from None
    runs = [Experiment(cfg.runs, name) for name in experiments]
    target, _ = _write_submission(cfg, store, runs, rung, weights)
    say(f"auto: the pinned recipe {path} ({recipe.get('option')}): submission -> {target}")
    return recipe


def _write_submission(
    cfg, store, runs, rung: str, weights: list[float]
) -> tuple[Path, dict[str, float]]:
    w = np.asarray(weights)
    rung_values = predict_held_out(store, held_out_inputs(cfg))[rung]
    values = dict(rung_values)
    if w[:-1].any():  # candidates take part: their restored test images, as saved
        model_part = test_values(runs, w[:-1] / w[:-1].sum())
        values = {s: w[:-1].sum() * model_part[s] + w[-1] * rung_values[s] for s in model_part}
    values = clamp_values(values)
    check_values(values, "auto")
    target = submission_path(cfg)
    write_text(target, format_csv(values))
    return target, values


def _record(cfg, choice: Choice, oof: dict, ladder_cv: dict[str, float], seconds: float) -> None:
    """The procedure as an experiment of its own: its nested out-of-fold rows, cv.json (with
    the recipe and the ladder) and a leaderboard row, so `leaderboard` ranks it beside its
    candidates and `leaderboard --diff` compares it with any of them, paired."""
    rows = blended_rows(oof, choice.oof)
    cv = {
        "experiment": cfg.experiment,
        **cv_summary(rows, Task.of(cfg)),
        "auto": choice.record(),
        "ladder": ladder_cv,
    }
    run = Experiment.of(cfg)
    run.write_config(to_yaml(cfg))
    run.write_cv(cv)
    run.write_oof(rows, list(rows[0]))
    run.record_leaderboard(leaderboard_row(cv, f"auto: {choice.option}", seconds))


def _write_recipe(cfg, choice: Choice, configs, ladder_cv, target: Path) -> None:
    recipe = {
        "experiments": {name: c.experiment for name, c in configs.items()},
        "ladder_cv": ladder_cv,
        "submission": str(target),
        **choice.record(),
    }
    write_text(Experiment.of(cfg).root / "recipe.json", json.dumps(recipe, indent=1))


def report(choice: Choice, rung: str, say: Callable[[str], None]) -> None:
    interval = Interval(**choice.interval).text()
    recipe = ", ".join(
        f"{c} {w:.2f}" for c, w in zip(choice.columns, choice.weights, strict=True) if w > 0
    )
    say(f"auto: chosen {choice.option} ({recipe}): CV {choice.cv:.4f} ({interval})")
    runner = choice.runner_up
    cv = choice.option_cvs[runner]
    say(f"auto: runner-up {runner} (the best other option by its own CV): CV {cv:.4f}")
    if not choice.fallback:
        return
    d = choice.versus_rung
    evidence = (
        f"procedure - {rung} {d['mean']:+.4f}, {Interval(**d['interval']).text()}, "
        f"better in {d['b_wins']:.0%} of draws"
    )
    if choice.hedge == 0:
        say(
            f"auto: the submission is the {rung} rung's: the nested CV does not show the models "
            f"better ({evidence})"
        )
        return
    models = sum(choice.weights[:-1])
    say(
        f"auto: the submission blends the models with the {rung} rung, "
        f"{models:.2f} / {1 - models:.2f}: the nested CV does not show them "
        f"better ({evidence}); the blend's weights, fitted out of fold, give CV "
        f"{choice.cv:.4f} against the rung's {choice.option_cvs[rung]:.4f}"
    )
