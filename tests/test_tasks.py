"""The task section: super-resolution stores and crops, the GoPro layout, per-task metrics,
the composite loss and GAN training, and a short run of every shipped system config."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import export, infer, make_demo, prepare, score, train
from pipeline.core.config import load_config
from pipeline.core.data import PatchDataset
from pipeline.core.errors import UserError
from pipeline.core.evaluation import side_by_side
from pipeline.core.experiment import Experiment, load_triplets
from pipeline.core.gan import GAN_COLUMNS
from pipeline.core.models.build import BicubicInput, BicubicSkip, build_checked_model
from pipeline.core.models.checkpoint import save_checkpoint
from pipeline.core.pairing import held_out_inputs, training_pairs
from pipeline.core.resize import imresize, imresize_uint8
from pipeline.core.store import PairStore
from pipeline.core.training import TASK_COLUMNS, FoldTrainer, fold_trainer
from tests.conftest import REPO, assert_user_error, random_page, run_cli, save


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def make_sr(root: Path, scale: int, n: int = 4, hr: int = 48, seed: int = 0) -> Path:
    """LR/HR pairs in the input/target layout, LR made from HR with MATLAB bicubic."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", n), ("test", 2)):
        for i in range(count):
            page = random_page(rng, hr, hr)
            stem = f"T{i % 2}.{i:05d}.01"
            save(root / split / "clean" / f"{stem}.png", page)
            save(root / split / "scan" / f"{stem}.png", imresize_uint8(page, 1 / scale))
    return root


def sr_overrides(tmp_path: Path, root: Path, scale: int) -> list[str]:
    return [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        "task.kind=sr",
        f"task.scale={scale}",
        "augment.synthetic_p=0",
        "prepare.patch_size=16",
        "prepare.stride=4",
        "prepare.folds=2",
        "model.name=edsr",
        "model.args.n_blocks=1",
        "model.args.n_feats=8",
        "train.epochs=1",
        "train.batch_size=4",
        "train.samples_per_epoch=8",
        "train.monitor=psnr",
        "infer.tile=16",
        "infer.overlap=4",
        "wandb.mode=disabled",
    ]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("task.kind=inpaint", "task.kind"),
        ("task.scale=2", "set task.kind=sr"),
        ("train.optimizer=sgd", "train.optimizer"),
        ("train.agc=-1", "train.agc"),
        ("train.loss_terms.ssim=1", "train.loss_terms.ssim: unknown loss term"),
        ("train.loss_terms.perceptual=0.2", "train.vgg_weights"),
        ("gan.mode=wgan", "gan.mode"),
        ("gan.betas=[0.5]", "gan.betas"),
        ("data.layout=gopro", "data.layout"),
        ("demo.task=colorize", "demo.task"),
        ("model.bicubic_skip=true", "model.bicubic_skip"),
    ],
)
def test_task_loss_and_gan_config_errors(override: str, fragment: str):
    with pytest.raises(UserError) as info:
        load_config(None, [override])
    assert fragment in str(info.value)


def test_sr_needs_a_scale_and_no_synthetic_scans():
    with pytest.raises(UserError, match=r"task\.scale"):
        load_config(None, ["task.kind=sr", "augment.synthetic_p=0"])
    with pytest.raises(UserError, match=r"augment\.synthetic_p"):
        load_config(None, ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0.25"])


def test_perceptual_weights_file_is_checked_at_config_time(tmp_path: Path):
    missing = tmp_path / "vgg.pth"
    with pytest.raises(UserError, match=f"VGG16 weights file {missing} not found"):
        load_config(None, ["train.loss_terms.perceptual=0.2", f"train.vgg_weights={missing}"])
    missing.write_bytes(b"")
    cfg = load_config(None, ["train.loss_terms.perceptual=0.2", f"train.vgg_weights={missing}"])
    assert cfg.train.loss_terms.perceptual == 0.2


def test_hr_that_is_not_scale_times_lr_names_the_file(tmp_path: Path):
    root = make_sr(tmp_path / "sr", 2)
    bad = root / "train" / "clean" / "T1.00001.01.png"
    save(bad, np.zeros((47, 48, 3), np.uint8))
    result = run_cli("pipeline.prepare", *sr_overrides(tmp_path, root, 2))
    assert_user_error(result, "T1.00001.01.png", "24x24", "48x47", "2x the scan's size")


def test_sr_crops_are_taken_at_matching_coordinates(tmp_path: Path):
    scale = 3
    root = make_sr(tmp_path / "sr", scale, hr=72)
    assert run_cli("pipeline.prepare", *sr_overrides(tmp_path, root, scale)).code == 0
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    assert store.scale == 3 and store.manifest["settings"]["patch_size"] == 16
    assert store.clean(0).shape == (72, 72, 3) and store.scan(0).shape == (24, 24, 3)
    data = PatchDataset(store, store.patches, 16, False, False, False, jitter=3)
    checked = 0
    for i in range(len(data)):
        lr, hr = (t.numpy().transpose(1, 2, 0) for t in data[(i, i)])
        assert lr.shape == (16, 16, 3) and hr.shape == (48, 48, 3)
        # Away from the crop's border (the bicubic kernel reads 2 LR pixels around), the HR
        # crop shrunk by MATLAB bicubic is the LR crop, bit for bit.
        down = imresize_uint8(np.ascontiguousarray(hr), 1 / scale)
        np.testing.assert_array_equal(down[2:-2, 2:-2], lr[2:-2, 2:-2])
        checked += 1
    assert checked == len(store.patches) > 4


def test_sr_models_get_the_scale_or_a_bicubic_input():
    x = torch.rand(1, 3, 10, 12)
    sr = ["task.kind=sr", "task.scale=3", "augment.synthetic_p=0"]
    for name, arg in (("edsr", "model.args.n_blocks=1"), ("srcnn", "model.args.n1=8")):
        cfg = load_config(None, [f"model.name={name}", arg, *sr])
        model, _ = build_checked_model(cfg)
        assert model(x).shape == (1, 3, 30, 36)
        assert isinstance(model, BicubicInput) == (name == "srcnn")


@pytest.mark.parametrize("name", ["edsr", "rdn", "srresnet"])
def test_bicubic_skip_starts_the_model_at_bicubic(name: str):
    """With the weights zeroed the model adds nothing (EDSR: nothing beyond the mean colour
    it adds back, which the skip takes off), so the output is exactly MATLAB bicubic."""
    sr = ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0", "model.bicubic_skip=true"]
    model, _ = build_checked_model(load_config(None, [f"model.name={name}", *sr]))
    assert isinstance(model, BicubicSkip)
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        assert (model(x) - imresize(x, 2)).abs().max() > 0.01  # initialised: not bicubic yet
        for p in model.model.parameters():
            p.zero_()
        torch.testing.assert_close(model(x), imresize(x, 2))


def test_a_discriminator_is_not_a_model_name():
    result = run_cli("pipeline.train", "model.name=patchgan_discriminator")
    assert_user_error(result, "model.name", "patchgan_discriminator", "gan.discriminator")
    result = run_cli("pipeline.train", "gan.discriminator=dncnn")
    assert_user_error(result, "gan.discriminator", "dncnn is a restorer")


def test_a_model_that_cannot_upscale_is_refused_for_sr():
    sr = ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0"]
    result = run_cli("pipeline.train", *sr, "model.name=dncnn")
    assert_user_error(result, "model.name", "dncnn does not upscale", "task.scale=2")


def make_gopro(root: Path) -> Path:
    rng = np.random.default_rng(1)
    train = ("GOPR0001_00", "GOPR0002_00", "GOPR0003_00")
    for split, seqs in (("train", train), ("test", ("GOPR9_00",))):
        for seq in seqs:
            for frame in ("000001", "000002"):  # the same frame names in every sequence
                sharp = random_page(rng, 32, 40)
                save(root / split / seq / "sharp" / f"{frame}.png", sharp)
                save(root / split / seq / "blur" / f"{frame}.png", sharp // 2)
    return root


def test_gopro_layout_pairs_by_sequence_and_frame(tmp_path: Path):
    root = make_gopro(tmp_path / "gopro")
    cfg = load_config(None, [f"data.root={root}", "task.kind=deblur", "augment.synthetic_p=0"])
    pairs = training_pairs(cfg)
    assert [p.stem for p in pairs] == [f"GOPR000{s}_00.00000{f}" for s in (1, 2, 3) for f in (1, 2)]
    assert all(p.scan.parent.name == "blur" and p.clean.parent.name == "sharp" for p in pairs)
    assert all(p.scan.parts[-3] == p.stem.split(".")[0] for p in pairs)
    assert sorted(held_out_inputs(cfg)) == ["GOPR9_00.000001", "GOPR9_00.000002"]
    (root / "train" / "GOPR0002_00" / "sharp" / "000002.png").unlink()
    with pytest.raises(UserError, match="GOPR0002_00/sharp: no clean image for scan"):
        training_pairs(cfg)


def test_gopro_prepare_groups_folds_by_sequence(tmp_path: Path):
    root = make_gopro(tmp_path / "gopro")
    args = [
        f"data.root={root}",
        "task.kind=deblur",
        "augment.synthetic_p=0",
        f"data.prepared={tmp_path / 'p'}",
        "prepare.patch_size=16",
    ]
    result = run_cli("pipeline.prepare", *args)
    assert result.code == 0, result.err
    assert "gopro layout" in result.out
    store = PairStore(next((tmp_path / "p").iterdir()))
    folds = {}
    for rec in store.images:
        folds.setdefault(rec.title, set()).add(rec.fold)
    assert sorted(folds) == ["GOPR0001_00", "GOPR0002_00", "GOPR0003_00"]
    assert all(len(f) == 1 for f in folds.values())


def _gan_trainer(tmp_path: Path, extra: list[str]) -> FoldTrainer:
    root = make_sr(tmp_path / "sr", 2, n=4, hr=32)
    overrides = sr_overrides(tmp_path, root, 2) + extra
    assert run_cli("pipeline.prepare", *overrides).code == 0
    cfg = load_config(None, overrides)
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    trainer = fold_trainer(cfg, store, 0, torch.device("cpu"))
    trainer.start()
    return trainer


@pytest.mark.parametrize(
    "gan",
    [
        ["gan.discriminator=srgan_discriminator", "gan.args.base=8"],
        ["gan.discriminator=patchgan_discriminator", "gan.args.ndf=8", "gan.mode=lsgan"],
    ],
)
def test_gan_step_moves_both_networks_and_logs_losses_apart(tmp_path: Path, gan: list[str]):
    trainer = _gan_trainer(tmp_path, [*gan, "gan.weight=0.5", "train.ema=0.9"])
    g0 = [p.detach().clone() for p in trainer.model.parameters()]
    d0 = [p.detach().clone() for p in trainer.disc.parameters()]
    losses = trainer._train_epoch()
    assert trainer.step == 2
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
    trainer = _gan_trainer(
        tmp_path, ["gan.discriminator=srgan_discriminator", "gan.args.base=8", "train.epochs=2"]
    )
    trainer._train_epoch()
    trainer.epoch = 1
    save_checkpoint(trainer.dir / "last.pt", trainer._state())
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


def test_agc_and_adam_and_composite_loss_train(tmp_path: Path):
    trainer = _gan_trainer(
        tmp_path,
        [
            "train.agc=0.01",
            "train.grad_clip=0",
            "train.optimizer=adam",
            "train.loss_terms={l1: 1.0, tv: 0.0001}",
        ],
    )
    assert type(trainer.optimizer) is torch.optim.Adam
    loss = trainer._train_epoch()["train_loss"]
    assert math.isfinite(loss)
    assert set(trainer.loss_fn.last_terms) == {"l1", "tv"}


SYSTEMS = [
    "descan_dncnn",
    "denoise_dncnn",
    "deblur_resunet",
    "srgan_x4",
    "sr_edsr_deconv_x2",
    "sr_rdn_light_x2",
    "sr_srcnn_deconv_x3",
    "pix2pix_deflare",
]


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_system_config_runs_end_to_end(tmp_path: Path, name: str, monkeypatch, capsys):
    """Each system's config through every stage on a tiny demo of its task, a few steps."""
    monkeypatch.setenv("WANDB_MODE", "disabled")
    config = str(REPO / "configs" / f"{name}.yaml")
    overrides = [
        f"data.root={tmp_path / 'data'}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'subs'}",
        "demo.titles=2",
        "demo.pages_per_title=2",
        "demo.test_pages=2",
        "demo.size=64",
        "train.epochs=1",
        "train.samples_per_epoch=4",
        "train.batch_size=4",
        "infer.tta=[0]",
        "wandb.mode=disabled",
    ]
    for stage in (make_demo, prepare, train, infer, export, score):
        assert stage.main(["--config", config, *overrides]) in (0, None), stage.__name__
    out = capsys.readouterr().out
    cfg = load_config(config, overrides)
    # another dataset than the config's: an experiment of its own, named after both
    assert cfg.experiment == f"{name}-data"
    run = tmp_path / "runs" / cfg.experiment
    rows = read_csv(run / "fold0" / "metrics.csv")
    assert len(rows) == 1
    keys = ["train_loss", "val_psnr", "val_score"]
    if cfg.task.kind != "descan":
        keys += TASK_COLUMNS
    if cfg.gan.discriminator:
        keys += GAN_COLUMNS
    assert set(keys) <= set(rows[0])
    assert all(math.isfinite(float(rows[0][k])) for k in keys), rows[0]
    cv = json.loads((run / "cv.json").read_text())
    assert len(cv["folds"]) == cfg.prepare.folds
    preds = sorted((run / "pred" / "test").glob("*.png"))
    assert len(preds) == 2
    if cfg.task.kind == "descan":
        assert (tmp_path / "subs" / f"{cfg.experiment}.csv").is_file() and "test " in out
    else:
        assert not (tmp_path / "subs").exists()
        assert 0 < cv["psnr"] < 100 and 0 < cv["ssim"] <= 1
        assert cv["gain"] == pytest.approx(cv["psnr"] - cv["baseline_psnr"], abs=1e-6)
        assert f"{cfg.experiment}: test (" in out and "gain" in out
        from PIL import Image

        side = 64 - 64 % cfg.task.scale
        assert Image.open(preds[0]).size == (side, side)
    # The worst-first grid and the W&B OOF table show scan | prediction | clean side by side:
    # for sr the scan is its bicubic upscale, the size of the others.
    (triplet,) = load_triplets(cfg, Experiment(run.parent, run.name).read_oof()[:1])
    assert triplet.scan.shape == triplet.pred.shape == triplet.clean.shape
    assert side_by_side(triplet.scan, triplet.pred, triplet.clean).shape[1] > triplet.scan.shape[1]
