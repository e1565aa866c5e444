"""The model registry: every architecture registers itself by name and is built by name."""

from __future__ import annotations

# Imported for their side effect: each module registers its architecture.
from . import (  # noqa: F401
    arcnn,
    dncnn,
    edsr,
    nafnet,
    pagenet,
    patchgan_discriminator,
    pix2pix_unet,
    rdn,
    resunet,
    srcnn,
    srgan_discriminator,
    srresnet,
    unet_smp,
)
from .registry import (
    KINDS,
    UnknownModelError,
    build_model,
    count_params,
    list_models,
    model_arguments,
    model_defaults,
    model_kind,
    needs_bicubic_input,
    register,
)

__all__ = [
    "KINDS",
    "UnknownModelError",
    "build_model",
    "count_params",
    "list_models",
    "model_arguments",
    "model_defaults",
    "model_kind",
    "needs_bicubic_input",
    "register",
]
