"""A fold's training state, one object: the stateful parts (model, optimizer, schedule,
scaler, EMA, and what a subclass trains beside them), where the fold stands (epochs planned and
done, step, the batch inside the epoch, the best score so far) and the random states, with
state_dict()/load_state_dict() as torch's own objects; and what every checkpoint says about
itself."""

from __future__ import annotations

import copy
from typing import Any

import torch
from omegaconf import DictConfig

from ..config.load import to_yaml
from ..data.store import PairStore
from ..models.factory import model_args

# Where the fold stands, as last.pt records it.
PROGRESS = (
    "epochs",
    "epoch",
    "step",
    "batch",
    "logged",
    "best",
    "best_epoch",
    "bad_epochs",
    "seconds",
)


class FoldState:
    """The stateful parts by name (None where a part is off: no EMA, no schedule) and the
    fold's progress."""

    def __init__(self, parts: dict[str, Any], epochs: int):
        self.parts = parts
        self.epochs = epochs  # what the schedule runs over; with a time budget, what fits
        self.epoch = 0  # epochs completed
        self.step = 0
        self.batch = 0  # batches done in the epoch under way (a checkpoint inside an epoch)
        self.logged: dict[str, list[float]] = {}  # the epoch's losses so far
        self.best: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        state = {k: v.state_dict() if v is not None else None for k, v in self.parts.items()}
        state |= {k: copy.deepcopy(getattr(self, k)) for k in PROGRESS}
        return state | {"rng": rng}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, part in self.parts.items():
            if part is not None and state.get(name) is not None:
                part.load_state_dict(state[name])
        for k in PROGRESS:
            setattr(self, k, copy.deepcopy(state[k]))
        torch.set_rng_state(state["rng"]["cpu"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])


def checkpoint_meta(
    cfg: DictConfig, store: PairStore, fold: int, task: str, params: int
) -> dict[str, Any]:
    """What every checkpoint says about itself: the model, the task, the experiment and the
    store it was trained on, with the fold of each image (infer and resume check it)."""
    return {
        "model_name": cfg.model.name,
        "model_args": model_args(cfg),
        "scale": cfg.task.scale,
        "bicubic_skip": cfg.model.bicubic_skip,
        "task": task,
        "params": params,
        "fold": fold,
        "experiment": cfg.experiment,
        "config": to_yaml(cfg),
        "store": {"name": store.root.name, "fingerprint": store.fingerprint},
        "folds": store.fold_map(),
    }
