"""Experiment tracking: Weights & Biases runs (offline unless asked) and the commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from .config import REPO_ROOT, to_dict


def wandb_mode(cfg: DictConfig) -> str:
    """WANDB_MODE in the environment wins over the config (tests set it to disabled)."""
    return os.environ.get("WANDB_MODE", cfg.wandb.mode)


class Tracker:
    """A W&B run, or nothing at all when W&B is disabled. Offline runs land in ./wandb and
    can be uploaded later with `wandb sync wandb/offline-run-*`."""

    def __init__(
        self,
        cfg: DictConfig,
        name: str | None,
        job_type: str,
        config: dict[str, Any] | None = None,
    ):
        """`name` None lets W&B name the run (a sweep agent does); `config` is what the run
        records as its config, the stage's `cfg` by default."""
        self.run = None
        mode = wandb_mode(cfg)
        if mode == "disabled":
            return
        import wandb

        self._wandb = wandb
        self.run = wandb.init(
            project=cfg.wandb.project,
            entity=cfg.wandb.entity,
            group=cfg.experiment,
            job_type=job_type,
            name=name,
            config=config if config is not None else to_dict(cfg),
            mode=mode,
            settings=wandb.Settings(console="off", silent=True),
        )

    def log(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if self.run is not None:
            self.run.log(metrics, step=step)

    def log_triplets(self, key: str, triplets: list[tuple[str, np.ndarray]], step: int) -> None:
        """Images already laid out side by side (scan | prediction | clean), with captions."""
        if self.run is not None and triplets:
            images = [self._wandb.Image(img, caption=caption) for caption, img in triplets]
            self.run.log({key: images}, step=step)

    def log_table(
        self, key: str, columns: list[str], rows: list[list[Any]], step: int | None = None
    ) -> None:
        """A table; numpy images in a cell become W&B images, None leaves a cell empty."""
        if self.run is None:
            return
        table = self._wandb.Table(columns=columns)
        for row in rows:
            table.add_data(*(self._wandb.Image(v) if isinstance(v, np.ndarray) else v for v in row))
        self.run.log({key: table}, step=step)

    def log_image_files(self, images: dict[str, Path], step: int | None = None) -> None:
        """Image files (PNG plots) under the given keys."""
        if self.run is not None and images:
            self.run.log({k: self._wandb.Image(str(p)) for k, p in images.items()}, step=step)

    def summary(self, values: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
