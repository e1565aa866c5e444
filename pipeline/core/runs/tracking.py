"""Experiment tracking: Weights & Biases runs (offline unless asked), the artifacts that trace a
submission to the checkpoints and config that made it, and the commit.

Artifacts: each fold's run logs its weights (`<experiment>-fold<k>`, type `model`); the
summary run logs the out-of-fold table and CV (`<experiment>-cv`, type `oof`) and uses the
fold models; `export` logs the submission CSV (`<experiment>-submission`, type `submission`)
and uses the OOF artifact and the fold models. Each version carries the alias `sha-<digest>`,
so a user names exactly the files it was made from. W&B cannot resolve another run's
artifact offline, so an offline run records what it used in its config (`inputs`: name,
type, digest) and the W&B lineage is drawn online (WANDB_MODE=online, or after
`wandb sync`, `python -m pipeline.report wandb.mode=online`)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from ..config.load import REPO_ROOT, to_dict
from .experiment import Experiment


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

    @property
    def offline(self) -> bool:
        return self.run is not None and self.run.settings.mode == "offline"

    def log_artifact(
        self, name: str, kind: str, files: list[Path], metadata: dict[str, Any] | None = None
    ) -> dict[str, str] | None:
        """Log `files` as a version of artifact `name` of type `kind`; returns its reference
        (name, type, digest), None when W&B is off."""
        if self.run is None:
            return None
        artifact, ref = artifact_of(name, kind, files, metadata)
        self.run.log_artifact(artifact, aliases=["latest", f"sha-{ref['digest'][:16]}"])
        return ref

    def use_artifacts(self, refs: list[dict[str, str]]) -> None:
        """Record the artifacts this run was made from: in its config (`inputs`), and online
        as W&B lineage, each exact version by its digest alias."""
        if self.run is None or not refs:
            return
        self.run.config.update({"inputs": refs}, allow_val_change=True)
        if not self.offline:
            for ref in refs:
                self.run.use_artifact(f"{ref['name']}:sha-{ref['digest'][:16]}", type=ref["type"])

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


def artifact_of(
    name: str, kind: str, files: list[Path], metadata: dict[str, Any] | None = None
) -> tuple[Any, dict[str, str]]:
    """The W&B artifact of `files` and its reference (name, type, digest): the digest is a
    function of the files' contents, so another run computes the same reference for the same
    files without asking W&B (which it cannot do offline)."""
    import wandb

    artifact = wandb.Artifact(name, type=kind, metadata=metadata or {})
    for path in files:
        artifact.add_file(str(path), name=Path(path).name)
    return artifact, {"name": name, "type": kind, "digest": artifact.manifest.digest()}


def artifact_name(experiment: str, what: str) -> str:
    """W&B artifact names allow letters, digits, '-', '_' and '.'."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"{experiment}-{what}")


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


def fold_model(cfg: DictConfig, fold: int) -> tuple[str, list[Path], dict[str, Any]]:
    """A fold's model artifact: its name, files (the weights it contributes, done.json) and
    metadata."""
    run = Experiment.of(cfg)
    done = run.read_done(fold) or {}
    files = [run.weights(fold, cfg.train.select), run.done_path(fold)]
    meta = {"experiment": cfg.experiment, "fold": fold, "model": cfg.model.name, **done}
    return artifact_name(cfg.experiment, f"fold{fold}"), files, meta
