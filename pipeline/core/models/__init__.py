"""The model registry: every architecture registers itself by name and is built by name."""

from __future__ import annotations

# Imported for their side effect: each module registers its architecture.
from . import dncnn, nafnet, resunet, unet_smp  # noqa: F401
from .common import (
    UnknownModelError,
    build_model,
    count_params,
    list_models,
    model_arguments,
    register,
)

__all__ = [
    "UnknownModelError",
    "build_model",
    "count_params",
    "list_models",
    "model_arguments",
    "register",
]
