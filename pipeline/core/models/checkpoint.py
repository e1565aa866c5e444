"""Checkpoints: writing them atomically, reading them back safely, and the model one holds.

A checkpoint holds tensors and plain metadata (numbers, strings, lists, dicts) only, and is
read with torch.load(weights_only=True): a file shared by someone else cannot run code on
load. A file that would (a pickle of arbitrary objects), a truncated or damaged file, and a
file of another program are refused with one line saying which.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..util.errors import UserError
from ..util.files import atomic_path
from .factory import build_restorer

# What every checkpoint of this pipeline carries beside its weights.
REQUIRED = ("model_name", "model_args", "model")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, or a UserError that names it and says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise UserError(
                f"{path}: refused: it holds objects other than tensors and plain data, which "
                "could run code when loaded; a checkpoint of this pipeline never does"
            ) from None
        raise UserError(f"{path}: unreadable checkpoint (damaged: {_first_line(e)})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise UserError(
            f"{path}: unreadable checkpoint (truncated or not a checkpoint: {_first_line(e)})"
        ) from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED):
        raise UserError(
            f"{path}: not a checkpoint of this pipeline (it lacks the model's name, "
            "arguments or weights)"
        )
    return state


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def model_from_checkpoint(path: Path, state: dict[str, Any] | None = None) -> nn.Module:
    """Rebuild the model a checkpoint was trained as, whatever the current config says."""
    state = state if state is not None else load_checkpoint(path)
    try:
        model = build_restorer(
            state["model_name"],
            state["model_args"],
            state.get("scale", 1),
            state.get("bicubic_skip", False),
        )
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise UserError(f"{path}: its weights do not fit its model ({_first_line(e)})") from None
    return model.eval()
