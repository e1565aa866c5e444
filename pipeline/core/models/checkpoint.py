"""Checkpoints: writing them atomically, reading them back, and the model a checkpoint holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UserError
from ..fsutil import atomic_path
from .build import build_restorer


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise UserError(f"{path}: checkpoint not found") from None
    except Exception as e:  # a damaged pickle can raise nearly anything
        raise UserError(f"{path}: unreadable checkpoint ({e})") from None


def model_from_checkpoint(path: Path) -> nn.Module:
    """Rebuild the model a checkpoint was trained as, whatever the current config says."""
    state = load_checkpoint(path)
    model = build_restorer(
        state["model_name"],
        state["model_args"],
        state.get("scale", 1),
        state.get("bicubic_skip", False),
    )
    model.load_state_dict(state["model"])
    return model.eval()
