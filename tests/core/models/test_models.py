"""The model registry and every architecture: shapes on odd sizes, budgets, the CLI listing."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from pipeline.core.models import (
    UnknownModelError,
    build_model,
    count_params,
    list_models,
    model_arguments,
    model_defaults,
    model_kind,
    register,
)
from pipeline.core.models.checkpoint import model_from_checkpoint, save_checkpoint
from pipeline.core.models.factory import build_restorer, restorer_args
from pipeline.core.models.registry import pad_to_multiple
from tests.conftest import run_cli

DISCRIMINATORS = ["patchgan_discriminator", "srgan_discriminator"]
RESTORERS = [
    "arcnn",
    "dncnn",
    "edsr",
    "nafnet",
    "pagenet",
    "pix2pix_unet",
    "rdn",
    "resunet",
    "srcnn",
    "srresnet",
    "unet_smp",
]
NAMES = sorted(RESTORERS + DISCRIMINATORS)
BUDGET = 10_000_000


def test_every_architecture_is_registered_with_its_kind():
    assert list_models() == NAMES
    assert list_models("restorer") == RESTORERS
    assert list_models("discriminator") == DISCRIMINATORS
    assert model_kind("srresnet") == "restorer"
    assert model_kind("srgan_discriminator") == "discriminator"
    with pytest.raises(ValueError, match="kind must be one of"):
        register("critic", kind="critic")


@pytest.mark.parametrize("name", RESTORERS)
def test_shapes_budget_and_a_training_step(name: str):
    # Super-resolution models (a `scale` argument) map h x w to h*scale x w*scale.
    scale = model_defaults(name).get("scale", 1)
    torch.manual_seed(0)
    model = build_model(name)
    assert count_params(model) < BUDGET
    model.eval()
    with torch.no_grad():
        for b, h, w in [(1, 37, 53), (2, 32, 32)]:
            out = model(torch.rand(b, 3, h, w))
            assert out.shape == (b, 3, h * scale, w * scale)
            assert torch.isfinite(out).all()
    model.train()
    x = torch.rand(2, 3, 37, 53)
    target = torch.rand(2, 3, 37 * scale, 53 * scale)
    loss = (model(x) - target).abs().mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(
    ("name", "scale", "bicubic_skip"),
    [(name, 1, False) for name in RESTORERS]
    + [("edsr", 2, True), ("srcnn", 3, False), ("rdn", 2, True)],
)
def test_a_saved_checkpoint_rebuilds_the_model_that_was_saved(
    tmp_path, name: str, scale: int, bicubic_skip: bool
):
    """model_from_checkpoint on a checkpoint as the trainer writes it: the model it rebuilds
    (wrapped for super-resolution as it was) gives the saved model's outputs exactly."""
    torch.manual_seed(0)
    args = restorer_args(name, {}, scale)
    model = build_restorer(name, args, scale, bicubic_skip)
    with torch.no_grad():  # every weight and running statistic away from its initial value
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(0.01 * torch.rand_like(t)).mul_(1 + 0.1 * torch.rand_like(t))
    path = tmp_path / "final.pt"
    state = {"model_name": name, "model_args": args, "scale": scale, "bicubic_skip": bicubic_skip}
    save_checkpoint(path, {**state, "model": model.state_dict()})

    torch.manual_seed(1)
    loaded = model_from_checkpoint(path)
    fresh = build_restorer(name, args, scale, bicubic_skip).eval()
    model.eval()
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        expected, got, other = model(x), loaded(x), fresh(x)
    assert not loaded.training
    assert type(loaded) is type(model) and count_params(loaded) == count_params(model)
    assert got.shape == (2, 3, 32 * scale, 40 * scale)
    assert torch.equal(got, expected)
    assert not torch.allclose(other, expected)  # the weights, not the architecture, decide


def test_dncnn_layers_and_parameter_count():
    model = build_model("dncnn")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 17
    c, k = 64, 3 * 3
    first = 3 * c * k + c  # conv with bias, then ReLU
    middle = 15 * (c * c * k + 2 * c)  # conv without bias, BN weight and bias
    last = c * 3 * k + 3  # conv with bias
    assert count_params(model) == first + middle + last == 558_403
    shallow = build_model("dncnn", depth=5)
    assert len([m for m in shallow.modules() if isinstance(m, nn.Conv2d)]) == 5


def test_resunet_output_is_clamped_even_with_wild_weights():
    torch.manual_seed(0)
    model = build_model("resunet").eval()
    with torch.no_grad():
        # A large output layer makes the residual reach far outside [0, 1].
        model.head[-1].weight.mul_(100)
        out = model(torch.rand(2, 3, 37, 53))
    assert out.min() >= 0 and out.max() <= 1
    assert (out == 0).any() and (out == 1).any()  # the clamp did something


@pytest.mark.parametrize("args", [{"norm": "none"}, {"dropout": 0.1, "base": 8}])
def test_resunet_options(args: dict):
    out = build_model("resunet", **args)(torch.rand(2, 3, 33, 20))
    assert out.shape == (2, 3, 33, 20)


def test_nafnet_takes_lists_from_a_config_and_checks_them():
    model = build_model("nafnet", width=8, enc_blocks=[1, 2], middle_blocks=2, dec_blocks=[1, 1])
    assert model(torch.rand(1, 3, 7, 9)).shape == (1, 3, 7, 9)
    with pytest.raises(ValueError, match="same length"):
        build_model("nafnet", enc_blocks=[1, 1], dec_blocks=[1])


def test_unet_smp_takes_a_timm_encoder():
    model = build_model("unet_smp", encoder="tu-efficientnet_b0").eval()
    assert count_params(model) < BUDGET
    with torch.no_grad():
        assert model(torch.rand(1, 3, 37, 53)).shape == (1, 3, 37, 53)
    with pytest.raises(ValueError, match="not a timm model"):
        build_model("unet_smp", encoder="tu-no_such_net")
    with pytest.raises(ValueError, match="not an smp encoder"):
        build_model("unet_smp", encoder="no_such_net")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownModelError) as info:
        build_model("resnut")
    message = str(info.value)
    assert "'resnut'" in message and all(name in message for name in NAMES)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_model_arguments_are_the_constructor_keywords():
    assert model_arguments("dncnn") == ["depth", "channels", "in_channels", "attention"]
    assert model_arguments("resunet") == ["base", "dropout", "norm", "attention"]
    assert model_defaults("edsr")["scale"] == 2 and model_defaults("srresnet")["scale"] == 4
    with pytest.raises(UnknownModelError):
        model_arguments("resnut")


def test_a_name_cannot_be_taken_twice():
    with pytest.raises(ValueError, match="already registered"):
        register("dncnn")(nn.Identity)


@pytest.mark.parametrize("size", [(37, 53), (1, 1), (3, 40), (32, 32)])
def test_padding_reaches_the_multiple_and_keeps_the_image(size: tuple[int, int]):
    x = torch.rand(1, 3, *size)
    y = pad_to_multiple(x, 16)
    assert y.shape[-2] % 16 == 0 and y.shape[-1] % 16 == 0
    assert torch.equal(y[..., : size[0], : size[1]], x)


def test_cli_json_lists_every_model_with_its_parameters():
    result = run_cli("pipeline.models", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["name"] for r in rows] == NAMES
    for r in rows:
        assert r["params"] == count_params(build_model(r["name"]))
        assert r["kind"] == ("discriminator" if r["name"] in DISCRIMINATORS else "restorer")
    by_name = {r["name"]: r for r in rows}
    assert [n for n, r in by_name.items() if r["bicubic_input"]] == ["arcnn", "srcnn"]
    assert {n: r["scale"] for n, r in by_name.items() if r["scale"]} == {
        "edsr": 2,
        "rdn": 2,
        "srresnet": 4,
    }


def test_cli_table_gives_each_model_one_line_with_its_summary():
    result = run_cli("pipeline.models")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["name", "kind", "params", "scale", "bicubic", "about"]
    assert [line.split()[0] for line in lines[1:]] == NAMES  # one line per model, nothing else
    pagenet = next(line for line in lines if line.startswith("pagenet "))
    # the docstring's first paragraph, joined: not its first line cut mid-sentence
    assert pagenet.endswith("with an optional light local network on top.")
