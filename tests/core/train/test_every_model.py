"""Every guarantee for every model: weights, outputs or losses that are not numbers end
training with one `error:` line (fold, epoch, step, the files kept, the train.lr and
train.grad_clip hint), for each registered restorer and each shipped config's model, in the
time estimate as in training; a fold stopped and resumed ends as if it had never stopped, for
each shipped config; and the estimate never trains the model it times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.core.config.load import load_config
from pipeline.core.data.dataset import EpochDraws
from pipeline.core.data.store import PairStore
from pipeline.core.models.page import describer_of
from pipeline.core.models.registry import build_model, list_models
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.train.trainers import fold_trainer
from pipeline.core.util.errors import NonFiniteError
from tests.conftest import REPO, assert_user_error, make_dataset, make_sr, run_cli, tiny_folder

CONFIGS = sorted(
    p.name
    for p in (REPO / "configs").glob("*.yaml")
    if p.name != "sweep.yaml"  # a W&B sweep definition, not an experiment
    and load_config(str(p), []).model.name in list_models("restorer")
)


@pytest.mark.parametrize("name", list_models("restorer"))
def test_a_model_with_nan_weights_gives_a_nan_output_not_a_crash(name: str):
    """The trainer's check on the output can only catch what the forward pass lets through:
    no model may crash on (or hide) weights that are not numbers."""
    torch.manual_seed(0)
    model = build_model(name)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    x = torch.rand(2, 3, 32, 32)
    describe = describer_of(model)
    if describe is not None:
        pages = [describe((x[i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)) for i in (0, 1)]
        page = tuple(torch.from_numpy(np.stack(parts)) for parts in zip(*pages, strict=True))
        out = model(x, page=page)
    else:
        out = model(x)
    assert not torch.isfinite(out).all()


def _data(tmp_path: Path, config: str) -> list[str]:
    """Tiny data for a shipped config, and the overrides that keep its run small."""
    cfg = load_config(str(REPO / "configs" / config), [])
    extra = []
    if cfg.task.kind == "sr":
        root = make_sr(tmp_path / "data", cfg.task.scale, n=6, hr=24 * cfg.task.scale)
        extra = ["prepare.patch_size=16", "prepare.stride=8", "infer.tile=16", "infer.overlap=4"]
    else:
        root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=2, size=(32, 48))
        extra = ["prepare.patch_size=32", "prepare.stride=16", "infer.tile=32", "infer.overlap=8"]
    return [
        "--config",
        str(REPO / "configs" / config),
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        "prepare.folds=3",
        "augment.synthetic_p=0",
        "train.batch_size=2",
        "train.samples_per_epoch=4",
        "train.checkpoint_minutes=0",
        "train.num_workers=0",
        "train.device=cpu",
        "infer.tta=[0]",
        "wandb.mode=disabled",
        *extra,
    ]


@pytest.mark.parametrize("config", CONFIGS)
def test_an_exploding_learning_rate_ends_with_one_error_line_for_every_shipped_model(
    tmp_path: Path, config: str
):
    args = _data(tmp_path, config)
    prepared = run_cli("pipeline.prepare", *args)
    assert prepared.code == 0, prepared.err
    result = run_cli(
        "pipeline.train",
        *args,
        "experiment=nan",
        "train.fold=0",
        "train.epochs=2",
        "train.lr=1e30",
        "train.grad_clip=0",
        "train.agc=0",
    )
    assert_user_error(result, "fold 0, epoch 1, step ", "train.lr", "train.grad_clip")
    assert "kept as they were" in result.err or "nothing was written" in result.err
    fold = tmp_path / "runs" / "nan" / "fold0"
    for name in ("last.pt", "best.pt"):
        if (fold / name).is_file():
            state = torch.load(fold / name, weights_only=False)
            assert all(
                torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point()
            )


@pytest.mark.parametrize("config", CONFIGS)
def test_a_fold_stopped_and_resumed_ends_as_if_never_stopped_for_every_shipped_model(
    tmp_path: Path, config: str, monkeypatch
):
    args = _data(tmp_path, config)
    assert run_cli("pipeline.prepare", *args).code == 0
    overrides = [a for a in args[2:]] + ["train.fold=0", "train.epochs=2"]
    path = str(REPO / "configs" / config)
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    cpu = torch.device("cpu")
    full = fold_trainer(load_config(path, [*overrides, "experiment=full"]), store, 0, cpu)
    full.start(plan=False)
    full.run()

    cfg = load_config(path, [*overrides, "experiment=stopped"])
    first = fold_trainer(cfg, store, 0, cpu)
    first.start(plan=False)
    original, calls = FoldTrainer._train_epoch, []

    def dies_in_epoch_two(self):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(FoldTrainer, "_train_epoch", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        first.run()
    monkeypatch.setattr(FoldTrainer, "_train_epoch", original)
    resumed = fold_trainer(cfg, store, 0, cpu)
    resumed.resume()
    assert resumed.state.epoch == 1
    resumed.run()
    assert resumed.state.step == full.state.step
    for name, value in full.model.state_dict().items():
        assert torch.allclose(value, resumed.model.state_dict()[name], atol=1e-5), name
    assert len(resumed.history) == len(full.history) == 2
    for got, want in zip(resumed.history, full.history, strict=True):
        assert got.keys() == want.keys()
        for k in got:
            if k != "seconds":
                assert got[k] == pytest.approx(want[k], rel=1e-5, nan_ok=True), (k, got, want)


@pytest.fixture
def trainer(tmp_path: Path) -> FoldTrainer:
    overrides = [
        *tiny_folder(tmp_path, patch=32),
        "model.name=pagenet",
        "train.batch_size=2",
        "train.ema=0.9",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    assert run_cli("pipeline.prepare", *overrides).code == 0
    cfg = load_config(None, overrides)
    t = FoldTrainer(cfg, PairStore(next((tmp_path / "prepared").iterdir())), 0, torch.device("cpu"))
    t.start(plan=False)
    return t


def _weights(t: FoldTrainer) -> dict[str, torch.Tensor]:
    return {
        k: v.clone()
        for k, v in {
            **t.model.state_dict(),
            **{f"ema.{k}": v for k, v in t.ema.module.state_dict().items()},
        }.items()
    }


def test_the_estimate_never_trains_the_model_it_times(trainer: FoldTrainer):
    before, step = _weights(trainer), trainer.state.step
    optimizer = str(trainer.optimizer.state_dict())
    assert trainer.epoch_seconds() > 0
    after = _weights(trainer)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert trainer.state.step == step and str(trainer.optimizer.state_dict()) == optimizer


def test_the_estimate_meets_nan_weights_without_a_crash_and_training_reports_them(trainer):
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    trainer.epoch_seconds()  # the estimate stands; training proper reports the fault
    with pytest.raises(Exception, match=r"fold 0, epoch 1, step 0: .*non-finite"):
        trainer.run()


def test_a_non_finite_page_descriptor_is_named(trainer: FoldTrainer):
    draws = EpochDraws(len(trainer.dataset), trainer.samples, 0, 0)
    scan, clean, thumb, *rest = next(iter(trainer._loader(draws)))
    trainer._step(scan, clean, thumb, *rest)  # a real batch steps
    with pytest.raises(NonFiniteError, match="page descriptor"):
        trainer._step(scan, clean, thumb * float("nan"), *rest)


def test_the_weights_check_finds_a_nan_and_lets_huge_finite_weights_pass(trainer: FoldTrainer):
    weight = next(trainer.model.parameters())
    with torch.no_grad():
        weight.fill_(3e38)  # finite, though its norm overflows
    trainer.check_weights()
    with torch.no_grad():
        weight.view(-1)[0] = float("nan")
    with pytest.raises(NonFiniteError, match="weights of PageNet hold non-finite values"):
        trainer.check_weights()
