"""The model as the trainer, `infer` and the benchmark build it from a config: the registered
architecture with its arguments, wrapped for super-resolution, held to the parameter budget;
and the GAN discriminator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..util.errors import UserError
from ..util.resize import imresize
from .registry import (
    UnknownModelError,
    build_model,
    count_params,
    model_arguments,
    model_kind,
    needs_bicubic_input,
)


class BicubicInput(nn.Module):
    """A model that works at the output resolution (SRCNN, ARCNN), fed the low-resolution
    input upsampled by MATLAB bicubic (pipeline.core.resize.imresize), so it maps (B,3,h,w) to
    (B,3,h*scale,w*scale) like the upscaling models, for training, validation and tiling."""

    def __init__(self, model: nn.Module, scale: int) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(imresize(x, self.scale))


class BicubicSkip(nn.Module):
    """An upscaling model plus the MATLAB-bicubic upscale of its input (model.bicubic_skip):
    the model predicts only the residual over the baseline, so training starts near bicubic
    instead of from a blank image. A model that adds a mean colour back to its output (EDSR's
    `mean` buffer) has it taken off again: a residual has no mean colour."""

    def __init__(self, model: nn.Module, scale: int) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x) + imresize(x, self.scale)
        mean = getattr(self.model, "mean", None)
        return out if not isinstance(mean, torch.Tensor) else out - mean


def restorer_args(name: str, args: dict[str, Any], scale: int) -> dict[str, Any]:
    """`args` with `scale` set to task.scale for models that take one; a model that can neither
    upscale nor take a bicubic input cannot do super-resolution."""
    args = dict(args)
    if "scale" in model_arguments(name):
        if "scale" in args and args["scale"] != scale:
            raise UserError(
                f"model.args.scale: {args['scale']} differs from task.scale={scale}; "
                "set task.scale instead"
            )
        args["scale"] = scale
    elif scale > 1 and not needs_bicubic_input(name):
        raise UserError(
            f"model.name: {name} does not upscale (no scale argument, no bicubic input), "
            f"so it cannot train task.scale={scale}"
        )
    return args


def build_restorer(
    name: str, args: dict[str, Any], scale: int = 1, bicubic_skip: bool = False
) -> nn.Module:
    """The model as the trainer and `infer` run it: LR in, HR out for scale > 1."""
    model = build_model(name, **args)
    if scale > 1 and needs_bicubic_input(name):
        model = BicubicInput(model, scale)
    if scale > 1 and bicubic_skip:
        model = BicubicSkip(model, scale)
    return model


def _kind(key: str, name: str) -> str:
    try:
        return model_kind(name)
    except UnknownModelError as e:
        raise UserError(f"{key}: {e}") from None


def _args(section: Any) -> dict[str, Any]:
    return OmegaConf.to_container(section, resolve=True)  # type: ignore[return-value]


def model_args(cfg: DictConfig) -> dict[str, Any]:
    """model.args with `scale` = task.scale for the models that take one: what the model is
    built with and what checkpoints record."""
    if _kind("model.name", cfg.model.name) == "discriminator":
        raise UserError(
            f"model.name: {cfg.model.name} is a GAN discriminator, not a restorer; "
            f"name it as gan.discriminator beside a restorer"
        )
    return restorer_args(cfg.model.name, _args(cfg.model.args), cfg.task.scale)


def _built(key: str, name: str, args: dict[str, Any], build: Callable[[], nn.Module]) -> nn.Module:
    """`build()`, with a constructor's complaint turned into a user error on `key` (model.args
    or gan.args) that names an argument the model does not take."""
    try:
        return build()
    except (ValueError, TypeError) as e:
        known = model_arguments(name)
        unknown = [k for k in args if k not in known]
        if unknown:
            raise UserError(
                f"{key}.{unknown[0]}: {name} takes no argument '{unknown[0]}' "
                f"(it takes {', '.join(known) or 'none'})"
            ) from None
        raise UserError(f"{key}: cannot build {name}: {e}") from None


def build_checked_model(cfg: DictConfig) -> tuple[nn.Module, int]:
    """Build the configured model and hold it to the parameter budget. For super-resolution
    it maps LR to HR: models with a `scale` get task.scale, SRCNN and ARCNN a bicubic input."""
    m, args = cfg.model, model_args(cfg)
    model = _built(
        "model.args",
        m.name,
        args,
        lambda: build_restorer(m.name, args, cfg.task.scale, m.bicubic_skip),
    )
    params = count_params(model)
    if params > cfg.model.max_params:
        raise UserError(
            f"model.max_params: {cfg.model.name} has {params:,} parameters, "
            f"over the budget of {cfg.model.max_params:,}"
        )
    return model, params


def build_discriminator(cfg: DictConfig) -> nn.Module:
    """The GAN discriminator gan.discriminator names, with gan.args."""
    g = cfg.gan
    if _kind("gan.discriminator", g.discriminator) != "discriminator":
        raise UserError(
            f"gan.discriminator: {g.discriminator} is a restorer, not a discriminator "
            "(see `python -m pipeline.models`)"
        )
    args = _args(g.args)
    return _built("gan.args", g.discriminator, args, lambda: build_model(g.discriminator, **args))
