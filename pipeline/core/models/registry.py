"""What every architecture shares: the name registry and padding to the downsampling factor."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_KINDS: dict[str, str] = {}

# "restorer": maps a degraded image to a restored one, what model.name names (with a `scale`
# argument for super-resolution). "discriminator": scores images for GAN training.
KINDS = ("restorer", "discriminator")


class UnknownModelError(KeyError, ValueError):
    """A model name that nothing registered. Both a KeyError (a failed lookup) and a ValueError
    (a bad config value), so either kind of handler catches it."""

    def __str__(self) -> str:
        # KeyError would show the message as a quoted repr.
        return str(self.args[0])


def register(name: str, kind: str = "restorer") -> Callable[[Builder], Builder]:
    """Decorator: make a builder function or nn.Module class buildable as `name`, of `kind`
    (one of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"model '{name}': kind must be one of {', '.join(KINDS)}, got '{kind}'")

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ValueError(f"model '{name}' is already registered")
        _REGISTRY[name] = builder
        _KINDS[name] = kind
        return builder

    return decorate


def list_models(kind: str | None = None) -> list[str]:
    """The registered model names, sorted; only those of `kind` when it is given."""
    return sorted(name for name in _REGISTRY if kind is None or _KINDS[name] == kind)


def _builder(name: str) -> Callable[..., nn.Module]:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(list_models())
        raise UnknownModelError(f"unknown model '{name}' (known models: {known})") from None


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as `name`, passing `kwargs` to its constructor."""
    return _builder(name)(**kwargs)


def model_kind(name: str) -> str:
    """ "restorer" or "discriminator": what the model registered as `name` is for."""
    _builder(name)
    return _KINDS[name]


def needs_bicubic_input(name: str) -> bool:
    """True for models that work at the output resolution (SRCNN, ARCNN): for super-resolution
    they take the low-resolution image upsampled by MATLAB bicubic (pipeline.core.resize), and
    have no `scale` argument. Read from the class attribute `bicubic_input`."""
    return bool(getattr(_builder(name), "bicubic_input", False))


def model_defaults(name: str) -> dict[str, Any]:
    """The keyword arguments the model registered as `name` takes, in signature order, with
    their defaults (inspect.Parameter.empty for one without)."""
    # For a class, signature() reads __init__ and leaves out self.
    parameters = inspect.signature(_builder(name)).parameters.values()
    return {
        p.name: p.default for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def model_arguments(name: str) -> list[str]:
    """The keyword arguments the model registered as `name` takes, in signature order."""
    return list(model_defaults(name))


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (B,C,H,W) on the bottom and right so H and W are multiples of `multiple`, as NAFNet's
    check_image_size does. The caller crops its output back to [..., :H, :W].

    Reflection keeps the padded border looking like image content; it needs the pad to be
    smaller than the side, so tiny inputs fall back to replicating the edge."""
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
