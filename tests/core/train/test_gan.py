"""GAN training: the discriminator beside the model, its step, its losses and its resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from pipeline.core.models.checkpoint import save_checkpoint
from pipeline.core.train.gan import GAN_COLUMNS
from pipeline.core.train.trainer import TASK_COLUMNS
from pipeline.core.train.trainers import fold_trainer
from tests.conftest import assert_user_error, read_csv, run_cli, sr_trainer


def test_a_discriminator_is_not_a_model_name():
    result = run_cli("pipeline.train", "model.name=patchgan_discriminator")
    assert_user_error(result, "model.name", "patchgan_discriminator", "gan.discriminator")
    result = run_cli("pipeline.train", "gan.discriminator=dncnn")
    assert_user_error(result, "gan.discriminator", "dncnn is a restorer")


@pytest.mark.parametrize(
    "gan",
    [
        ["gan.discriminator=srgan_discriminator", "gan.args.base=8"],
        ["gan.discriminator=patchgan_discriminator", "gan.args.ndf=8", "gan.mode=lsgan"],
    ],
)
def test_gan_step_moves_both_networks_and_logs_losses_apart(tmp_path: Path, gan: list[str]):
    trainer = sr_trainer(tmp_path, [*gan, "gan.weight=0.5", "train.ema=0.9"])
    g0 = [p.detach().clone() for p in trainer.model.parameters()]
    d0 = [p.detach().clone() for p in trainer.disc.parameters()]
    losses = trainer._train_epoch()
    assert trainer.state.step == 2
    assert set(losses) == {"train_loss", *GAN_COLUMNS}
    assert all(math.isfinite(v) for v in losses.values())
    # The generator's loss is its content loss plus the weighted adversarial loss.
    assert losses["train_loss"] == pytest.approx(losses["g_content"] + 0.5 * losses["g_adv"])
    assert any(not torch.equal(a, b) for a, b in zip(g0, trainer.model.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d0, trainer.disc.parameters(), strict=True))
    # The EMA follows the generator only.
    assert sum(1 for _ in trainer.ema.module.parameters()) == len(g0)

    done = trainer.run()
    rows = read_csv(trainer.dir / "metrics.csv")
    assert list(rows[0])[-3:] == GAN_COLUMNS and TASK_COLUMNS[0] in rows[0]
    assert all(math.isfinite(float(rows[-1][k])) for k in [*GAN_COLUMNS, *TASK_COLUMNS])
    last = torch.load(trainer.dir / "last.pt", weights_only=False)
    best = torch.load(trainer.dir / "best.pt", weights_only=False)
    assert {"discriminator", "d_optimizer"} <= set(last) and "discriminator" not in best
    assert best["scale"] == 2 and done["gain"] == pytest.approx(float(rows[0]["val_gain"]))


def test_resume_restores_the_discriminator(tmp_path: Path):
    trainer = sr_trainer(
        tmp_path, ["gan.discriminator=srgan_discriminator", "gan.args.base=8", "train.epochs=2"]
    )
    trainer._train_epoch()
    trainer.state.epoch = 1
    save_checkpoint(trainer.dir / "last.pt", trainer.meta() | trainer.state.state_dict())
    again = fold_trainer(trainer.cfg, trainer.store, 0, torch.device("cpu"))
    again.resume()
    for a, b in zip(
        trainer.disc.state_dict().values(), again.disc.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert (
        again.d_optimizer.state_dict()["state"].keys()
        == trainer.d_optimizer.state_dict()["state"].keys()
    )
