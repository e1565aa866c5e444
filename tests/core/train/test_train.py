"""Training: the parameter budget, resume from the saved step, validation and checkpoints."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from pipeline import train as train_stage
from pipeline.core.config.load import load_config
from pipeline.core.data.store import PairStore
from pipeline.core.models.checkpoint import model_from_checkpoint
from pipeline.core.scoring.evaluation import evaluate
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.util.progress import duration
from tests.conftest import assert_user_error, make_dataset, run_cli, run_stage, tiny_folder


def test_budget_error_names_the_count():
    result = run_cli("pipeline.train", "model.max_params=1000")
    assert_user_error(result, "model.max_params", "parameters", "1,000")
    count = result.err.split(" has ")[1].split(" parameters")[0]
    assert int(count.replace(",", "")) > 1000


@pytest.fixture
def tiny(tmp_path: Path):
    """A prepared store and the overrides that train on it in a second or two."""
    overrides = [
        *tiny_folder(tmp_path),
        "model.name=dncnn",
        "model.args.depth=3",
        "model.args.channels=8",
        "train.epochs=3",
        "train.batch_size=4",
        "train.patience=0",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    assert run_cli("pipeline.prepare", *overrides).code == 0
    cfg = load_config(None, overrides)
    return cfg, PairStore(next((tmp_path / "prepared").iterdir())), overrides


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def test_resume_continues_from_the_saved_step(tiny, monkeypatch):
    cfg, store, overrides = tiny
    full = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    full.start()
    full.run()

    cfg_b = load_config(None, [*overrides, "experiment=interrupted"])
    first = FoldTrainer(cfg_b, store, 0, torch.device("cpu"))
    first.start()
    calls = {"n": 0}
    original = FoldTrainer._train_epoch

    def dies_in_epoch_three(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(FoldTrainer, "_train_epoch", dies_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        first.run()
    monkeypatch.setattr(FoldTrainer, "_train_epoch", original)

    resumed = FoldTrainer(cfg_b, store, 0, torch.device("cpu"))
    resumed.resume()
    assert resumed.state.epoch == 2 and resumed.state.step == 2 * full.steps_per_epoch
    resumed.run()
    assert resumed.state.step == full.state.step == 3 * full.steps_per_epoch
    for name, value in full.model.state_dict().items():
        assert torch.allclose(value, resumed.model.state_dict()[name], atol=1e-6), name
    assert _rows(resumed.dir / "metrics.csv") == _rows(full.dir / "metrics.csv")
    assert [r["epoch"] for r in _rows(full.dir / "metrics.csv")] == ["1", "2", "3"]


@pytest.mark.parametrize("select", ["final", "best"])
def test_best_and_final_checkpoints_hold_what_their_rows_say(tiny, select):
    cfg, store, overrides = tiny
    cfg = load_config(None, [*overrides, f"train.select={select}"])
    trainer = FoldTrainer(cfg, store, 1, torch.device("cpu"))
    trainer.start()
    done = trainer.run()
    rows = _rows(trainer.dir / "metrics.csv")
    scores = [float(r["val_score"]) for r in rows]
    assert done["best_epoch"] == 1 + scores.index(min(scores))
    assert done["best"]["score"] == pytest.approx(min(scores))
    assert done["final"]["score"] == pytest.approx(scores[-1])
    # done.json's score is the selected weights': nothing chosen on the held-out images
    # unless train.select=best asks for it
    chosen = min(scores) if select == "best" else scores[-1]
    assert done["select"] == select and done["score"] == pytest.approx(chosen)
    # each checkpoint reproduces its logged validation score through the inference path
    for name, expected in (("best.pt", min(scores)), ("final.pt", scores[-1])):
        model = model_from_checkpoint(trainer.dir / name)
        again = evaluate(trainer.predictor(model), trainer.validation_images(), trainer.task)
        assert again.summary["score"] == pytest.approx(expected, abs=1e-9), name


def test_resume_without_checkpoint_is_a_user_error(tiny):
    _, _, overrides = tiny
    result = run_cli("pipeline.train", *overrides, "experiment=never_trained", "train.resume=true")
    assert_user_error(result, "train.resume=true", "no checkpoint")


def test_a_time_budget_plans_the_epochs_that_fit(tiny, monkeypatch):
    _cfg, store, overrides = tiny
    monkeypatch.setattr(FoldTrainer, "epoch_seconds", lambda self, steps=2: 10.0)
    budget = load_config(None, [*overrides, "train.time_budget=1", "train.epochs=50"])
    trainer = FoldTrainer(budget, store, 0, torch.device("cpu"))
    trainer.start()
    assert trainer.state.epochs == 6  # 60 s of 10 s epochs
    lam = trainer.scheduler.lr_lambdas[0]
    assert lam(6 * trainer.steps_per_epoch) == pytest.approx(0.01)  # the schedule ends with it
    capped = load_config(None, [*overrides, "train.time_budget=1", "train.epochs=4"])
    trainer = FoldTrainer(capped, store, 0, torch.device("cpu"))
    trainer.start()
    assert trainer.state.epochs == 4  # train.epochs is the most it runs


@pytest.mark.parametrize(
    ("epoch", "said"),
    [(0.02, "0.02 s per epoch"), (0.0234, "0.023 s per epoch"), (95.4, "95 s per epoch")],
)
def test_train_says_how_long_an_epoch_and_the_run_will_take(tiny, monkeypatch, epoch, said):
    # The timing is injected: what is checked is the plan and how it is printed, at any scale,
    # not how fast this machine is today.
    _, _, overrides = tiny
    monkeypatch.setattr(FoldTrainer, "epoch_seconds", lambda self, steps=2: epoch)
    args = [*overrides, f"experiment=timed{epoch}", "train.epochs=2", "train.fold=0"]
    result = run_stage(train_stage.main, *args)
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("train: about "))
    assert line.startswith(f"train: about {said} (")
    assert line.endswith(f" + validation), 2 epoch(s) x 1 fold(s): about {duration(epoch * 2)}")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0 s"),
        (0.00004, "under 0.0001 s"),
        (0.02, "0.02 s"),
        (0.12, "0.12 s"),
        (3.21, "3.2 s"),
        (95.4, "95 s"),
        (192.0, "3.2 min"),
        (9000.0, "2.5 h"),
    ],
)
def test_a_duration_reads_well_at_every_scale_and_a_positive_one_is_never_zero(seconds, shown):
    assert duration(seconds) == shown


def test_select_inner_never_validates_on_the_held_out_fold(tiny, monkeypatch):
    """train.select=inner: the epoch is chosen on titles split off the training folds, whose
    patches are not trained on; no held-out image reaches validation, and the chosen epoch is
    the best of the inner scores."""
    from pipeline.core.train import trainer as trainer_module

    cfg, store, overrides = tiny
    cfg = load_config(None, [*overrides, "train.select=inner", "experiment=inner"])
    seen: list[str] = []
    scores: list[float] = []

    def recording(predictor, images, task, log_images=0):
        images = list(images)
        seen.extend(stem for stem, _, _ in images)
        val = evaluate(predictor, iter(images), task, log_images)
        scores.append(val.summary["score"])
        return val

    monkeypatch.setattr(trainer_module, "evaluate", recording)
    trainer = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    held_out = {store.images[i].stem for i in store.image_indices([0])}
    inner = {store.images[i].stem for i in trainer.val_indices}
    inner_titles = {s.split(".")[0] for s in inner}
    assert len(inner_titles) == 1 and not inner & held_out
    trained = {store.images[i].stem for i in trainer.dataset.rows[:, 0]}
    assert not trained & inner and not trained & held_out and trained
    trainer.start()
    done = trainer.run()
    assert seen and set(seen) == inner
    assert scores == [r["val_score"] for r in trainer.history]
    assert done["epoch"] == 1 + scores.index(min(scores))
    assert done["validated_on"] == "inner" and set(done["validation_images"]) == inner
    assert [r["val_images"] for r in trainer.history] == [len(inner)] * 3
    best = torch.load(trainer.experiment.best(0), weights_only=False)
    assert best["epoch"] == done["epoch"]


def test_select_inner_needs_two_training_titles(tmp_path):
    root = make_dataset(tmp_path / "data", titles=("A", "B"), pages=2, size=(32, 48))
    overrides = [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        "prepare.folds=2",
        "prepare.patch_size=16",
        "prepare.stride=16",
        "model.name=dncnn",
        "model.args.depth=3",
        "model.args.channels=8",
        "train.select=inner",
        "train.epochs=1",
    ]
    assert run_cli("pipeline.prepare", *overrides).code == 0
    result = run_cli("pipeline.train", *overrides, "train.fold=0")
    assert_user_error(result, "train.select=inner", "needs two", "train.select=final")


def test_validation_at_scale_every_n_epochs_on_a_fixed_subset_and_all_at_the_end(tiny, monkeypatch):
    from pipeline.core.train import trainer as trainer_module

    cfg, store, overrides = tiny
    args = [*overrides, "train.val_every=2", "train.val_images=1", "train.epochs=5"]
    cfg = load_config(None, [*args, "experiment=scale"])
    calls: list[list[str]] = []

    def recording(predictor, images, task, log_images=0):
        images = list(images)
        calls.append([stem for stem, _, _ in images])
        return evaluate(predictor, iter(images), task, log_images)

    monkeypatch.setattr(trainer_module, "evaluate", recording)
    trainer = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    trainer.start()
    done = trainer.run()
    held_out = sorted(store.images[i].stem for i in store.image_indices([0]))
    assert len(held_out) == 2
    # epochs 2 and 4 on the same one image, epoch 5 (the last) on both; 1 and 3 not at all
    assert len(calls) == 3 and calls[0] == calls[1] and len(calls[0]) == 1
    assert sorted(calls[2]) == held_out and calls[0][0] in held_out
    rows = trainer.history
    assert [r["val_images"] for r in rows] == [0, 1, 0, 1, 2]
    assert [math.isnan(r["val_score"]) for r in rows] == [True, False, True, False, False]
    assert done["epoch"] == 5 and done["best_epoch"] in (2, 4, 5)
    again = FoldTrainer(load_config(None, [*args, "experiment=again"]), store, 0, trainer.device)
    assert again.val_subset == trainer.val_subset  # the subset is seeded, the same every run
    # the default validates a small fold on every image, every epoch
    assert FoldTrainer(load_config(None, overrides), store, 0, trainer.device).val_subset == (
        store.image_indices([0])
    )


def test_a_time_budget_times_the_steps_once(tiny, monkeypatch):
    """The plan and the printed estimate share one timing: the steps are not taken twice."""
    _, _, overrides = tiny
    calls = []
    monkeypatch.setattr(FoldTrainer, "epoch_seconds", lambda self, steps=2: calls.append(1) or 6.0)
    args = [*overrides, "experiment=once", "train.fold=0", "train.time_budget=0.2"]
    result = run_stage(train_stage.main, *args, "train.epochs=5")
    assert result.code == 0, result.err
    assert len(calls) == 1
    assert "train.time_budget=0.2 min: 2 epoch(s) x 1 fold(s)" in result.out  # 12 s of 6 s


def test_the_fold_state_round_trips_through_its_state_dict(tiny):
    cfg, store, _ = tiny
    trainer = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    trainer.start()
    trainer._end_epoch(trainer._train_epoch(), None)
    state = trainer.state.state_dict()
    assert {"model", "optimizer", "scheduler", "scaler", "ema", "epoch", "rng"} <= set(state)
    again = FoldTrainer(cfg, store, 0, torch.device("cpu"))
    again.state.load_state_dict(state)
    s, a = trainer.state, again.state
    assert (
        (a.epoch, a.step, a.best, a.best_epoch)
        == (s.epoch, s.step, s.best, s.best_epoch)
        == (
            1,
            trainer.steps_per_epoch,
            trainer.history[0]["val_score"],
            1,
        )
    )
    assert all(
        torch.equal(v, again.model.state_dict()[k]) for k, v in trainer.model.state_dict().items()
    )
    assert again.scheduler.state_dict() == trainer.scheduler.state_dict()
