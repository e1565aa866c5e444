"""A fold's training state on disk: what every checkpoint says about itself, last.pt (all a
resumed run needs to continue at the same sample), the weights files, and the checks that
refuse a checkpoint trained on other folds or holding a weight that is not a number.

FoldState is a part of FoldTrainer (core/train/trainer.py), kept apart so the loop reads in one
sitting; it uses the trainer's model, optimizer, scheduler, EMA, scaler and counters.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..config.load import to_yaml
from ..data.store import check_trained_folds
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..models.factory import model_args
from ..util import distributed
from ..util.errors import NonFiniteError, UserError


class FoldState:
    """Checkpoints and resume of a FoldTrainer."""

    def _meta(self) -> dict[str, Any]:
        """What every checkpoint says about itself: the model, the task, the experiment and
        the store it was trained on, with the fold of each image (infer and resume check it)."""
        return {
            "model_name": self.cfg.model.name,
            "model_args": model_args(self.cfg),
            "scale": self.cfg.task.scale,
            "bicubic_skip": self.cfg.model.bicubic_skip,
            "task": self.task.kind,
            "params": self.params,
            "fold": self.fold,
            "experiment": self.cfg.experiment,
            "config": to_yaml(self.cfg),
            "store": {"name": self.store.root.name, "fingerprint": self.store.fingerprint},
            "folds": self.store.fold_map(),
        }

    def _state(self) -> dict[str, Any]:
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            **self._meta(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "epochs": self.epochs,
            "epoch": self.epoch,
            "step": self.step,
            "batch": self.batch,
            "logged": self.logged,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "seconds": self.seconds,
            "rng": rng,
            **self._extra_state(),
        }

    def _extra_state(self) -> dict[str, Any]:
        """What a subclass trains beside the model, for last.pt (the GAN's discriminator)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """The inverse of _extra_state, on resume."""

    def _load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self._load_extra_state(state)
        self.epoch, self.step, self.batch = state["epoch"], state["step"], state["batch"]
        self.logged = copy.deepcopy(state["logged"])
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.bad_epochs, self.seconds = state["bad_epochs"], state["seconds"]
        torch.set_rng_state(state["rng"]["cpu"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def check_store(self, meta: dict[str, Any], path: Any) -> None:
        """Refuse a checkpoint trained on other folds than this store's: its held-out images
        would include images it trained on."""
        check_trained_folds(
            self.store,
            meta.get("folds"),
            path,
            self.cfg.experiment,
            "; use the settings it was trained with, or train.overwrite=true to train it anew",
        )

    def resume(self) -> None:
        """Continue from last.pt: the same step of the same epoch, every state restored."""
        path = self.experiment.last(self.fold)
        state = load_checkpoint(path)
        if state["model_name"] != self.cfg.model.name:
            raise UserError(
                f"{path}: trained as '{state['model_name']}', "
                f"but model.name is '{self.cfg.model.name}'"
            )
        self.check_store(state, path)
        # A resumed fold may be asked to train for longer or shorter (train.epochs changed);
        # with a time budget it keeps the number of epochs planned when it started.
        self.epochs = state["epochs"] if self.cfg.train.time_budget > 0 else self.cfg.train.epochs
        self.scheduler = self._make_scheduler()
        self._load_state(state)
        # Rows of epochs after the checkpoint come from a run that died before saving it.
        history = self.experiment.read_metrics(self.fold)
        self.history = [r for r in history if r["epoch"] <= self.epoch]

    def _weights_finite(self) -> bool:
        models = [self.model] + ([self.ema.module] if self.ema is not None else [])
        return all(torch.isfinite(p).all() for m in models for p in m.parameters())

    def save_last(self) -> None:
        """last.pt as the trainer stands (rank 0 writes it), after checking the weights are
        still numbers: a checkpoint is never written with a NaN in it."""
        if not self._weights_finite():
            raise NonFiniteError("the weights hold non-finite values")
        if distributed.is_main():
            save_checkpoint(self.experiment.last(self.fold), self._state())

    def _weights_checkpoint(self, epoch: int, summary: dict[str, float]) -> dict[str, Any]:
        return {
            **self._meta(),
            "model": self.eval_model.state_dict(),
            "epoch": epoch,
            "validation": {k: summary[k] for k in ("score", "y_mae", "psnr")},
        }
