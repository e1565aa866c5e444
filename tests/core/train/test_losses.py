"""Losses: VGG16 perceptual loss from a local file, total variation, composite, GAN losses, and
a training step with the composite loss, Adam and adaptive gradient clipping."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.vgg import cfgs, make_layers

from pipeline.core.config.load import load_config
from pipeline.core.train.losses import (
    CompositeLoss,
    PerceptualLoss,
    build_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    total_variation,
    vgg16_layer_indices,
)
from pipeline.core.util.errors import UserError
from tests.conftest import sr_trainer


@pytest.fixture(scope="module")
def vgg_features() -> torch.nn.Sequential:
    """torchvision's own VGG16 feature stack, randomly initialised (no download)."""
    torch.manual_seed(0)
    return make_layers(cfgs["D"]).eval()


@pytest.fixture(scope="module")
def vgg_file(vgg_features, tmp_path_factory) -> Path:
    """Saved as torchvision's vgg16().state_dict() names it: features.N.weight."""
    path = tmp_path_factory.mktemp("vgg") / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in vgg_features.state_dict().items()}, path)
    return path


def test_layer_names_are_the_relus_after_those_convs():
    indices = vgg16_layer_indices()
    assert len(indices) == 13
    assert [indices[n] for n in ("conv1_2", "conv2_2", "conv3_3", "conv5_3")] == [3, 8, 15, 29]


def test_perceptual_loss_compares_torchvision_vgg16_activations(vgg_file, vgg_features):
    loss = PerceptualLoss(vgg_file)
    torch.manual_seed(1)
    pred = torch.rand(2, 3, 32, 40, requires_grad=True)
    target = torch.rand(2, 3, 32, 40)
    value = loss(pred, target)
    # The same thing through torchvision's module: ImageNet normalisation, then the MSE of the
    # activations after relu1_2, relu2_2 and relu3_3, averaged.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        a, b = (pred - mean) / std, (target - mean) / std
        terms = []
        for i, layer in enumerate(vgg_features[:16]):
            a, b = layer(a.clone()), layer(b.clone())
            if i in (3, 8, 15):
                terms.append(F.mse_loss(a, b))
    torch.testing.assert_close(value, torch.stack(terms).mean())
    assert loss(target, target).item() == 0.0
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.parameters())
    # Only the layers up to conv3_3 are kept.
    assert len(loss.features) == 16


def test_a_features_only_state_dict_loads_too(vgg_features, tmp_path: Path):
    path = tmp_path / "features.pth"
    torch.save(vgg_features.state_dict(), path)
    assert PerceptualLoss(path, layers=("conv1_1",)).taps == [1]


def test_missing_weights_file_says_what_to_do(tmp_path: Path):
    with pytest.raises(UserError) as info:
        PerceptualLoss(tmp_path / "vgg16.pth", key="loss.vgg")
    message = str(info.value)
    assert message.startswith(f"loss.vgg: VGG16 weights file {tmp_path / 'vgg16.pth'} not found")
    assert "never downloads" in message and "vgg16-397923af.pth" in message
    assert "\n" not in message
    with pytest.raises(
        UserError, match=re.escape("train.vgg_weights: no VGG16 weights file given")
    ):
        PerceptualLoss(None)


def test_files_that_are_not_vgg16_weights_are_refused(tmp_path: Path):
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(UserError, match="not a PyTorch state dict"):
        PerceptualLoss(text)
    other = tmp_path / "other.pth"
    torch.save(
        {"features.0.weight": torch.zeros(64, 1, 3, 3), "features.0.bias": torch.zeros(64)}, other
    )
    with pytest.raises(UserError, match=r"not VGG16 weights \('0.weight' is \(64, 1, 3, 3\)"):
        PerceptualLoss(other, layers=("conv1_1",))
    partial = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, partial)
    with pytest.raises(UserError, match=re.escape("not VGG16 weights (no '0.bias'")):
        PerceptualLoss(partial, layers=("conv1_1",))


def test_unknown_vgg_layer_is_a_value_error(vgg_file):
    with pytest.raises(ValueError, match="unknown VGG16 layer"):
        PerceptualLoss(vgg_file, layers=("conv6_1",))


def test_total_variation_by_hand():
    x = torch.zeros(2, 3, 5, 6)
    x[0, 1, 2, 3] = 1.0  # an interior spike: two vertical and two horizontal steps of 1
    x[1, :, :, 3:] = 0.5  # a vertical edge, 3 channels x 5 rows, step 0.5
    assert total_variation(x).item() == pytest.approx((4.0 + 3 * 5 * 0.5) / 2)


def test_composite_is_the_weighted_sum_and_reports_its_terms(vgg_file):
    loss = CompositeLoss({"l1": 1.0, "perceptual": 0.2, "tv": 5e-5, "mse": 0}, vgg_file)
    torch.manual_seed(2)
    pred, target = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    value = loss(pred, target)
    l1 = F.l1_loss(pred, target)
    perceptual = PerceptualLoss(vgg_file)(pred, target)
    tv = total_variation(pred)
    torch.testing.assert_close(value, l1 + 0.2 * perceptual + 5e-5 * tv)
    assert set(loss.last_terms) == {"l1", "perceptual", "tv"}  # weight 0 is left out
    torch.testing.assert_close(loss.last_terms["tv"], tv)


def test_composite_user_errors(tmp_path: Path):
    with pytest.raises(UserError, match=r"train.loss_terms.ssim: unknown loss term"):
        CompositeLoss({"l1": 1.0, "ssim": 1.0})
    with pytest.raises(UserError, match="no loss term with a non-zero weight"):
        CompositeLoss({"l1": 0})
    with pytest.raises(
        UserError, match=re.escape("train.vgg_weights: no VGG16 weights file given")
    ):
        CompositeLoss({"perceptual": 1.0})
    assert CompositeLoss({"charbonnier": 1.0}).perceptual is None  # no VGG needed


def test_gan_losses_by_hand():
    zero = torch.zeros(4, 1)
    ln2 = math.log(2)
    assert gan_generator_loss(zero).item() == pytest.approx(ln2)
    assert gan_discriminator_loss(zero, zero).item() == pytest.approx(ln2)
    sure = torch.full((4, 1), 20.0)
    assert gan_discriminator_loss(sure, -sure).item() == pytest.approx(0.0, abs=1e-8)
    assert gan_generator_loss(-sure).item() == pytest.approx(20.0, abs=1e-6)  # fooled nobody
    half = torch.full((2, 1, 3, 3), 0.5)  # a PatchGAN-shaped map
    assert gan_generator_loss(half, "lsgan").item() == pytest.approx(0.25)
    assert gan_discriminator_loss(half, half, "lsgan").item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="vanilla, lsgan"):
        gan_generator_loss(zero, "wgan")


def test_pixel_losses_by_name_still_work():
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert build_loss("l1")(a, b).item() == 0.5
    assert build_loss("mse")(a, b).item() == 0.25
    with pytest.raises(UserError, match=re.escape("train.loss: unknown loss 'perceptual'")):
        build_loss("perceptual")


def test_perceptual_weights_file_is_checked_at_config_time(tmp_path: Path):
    missing = tmp_path / "vgg.pth"
    with pytest.raises(UserError, match=f"VGG16 weights file {missing} not found"):
        load_config(None, ["train.loss_terms.perceptual=0.2", f"train.vgg_weights={missing}"])
    missing.write_bytes(b"")
    cfg = load_config(None, ["train.loss_terms.perceptual=0.2", f"train.vgg_weights={missing}"])
    assert cfg.train.loss_terms.perceptual == 0.2


def test_agc_and_adam_and_composite_loss_train(tmp_path: Path):
    trainer = sr_trainer(
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
