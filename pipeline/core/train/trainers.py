"""The trainer a config asks for: GanTrainer beside a discriminator (gan.discriminator), else
FoldTrainer."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from ..data.store import PairStore
from .gan import GanTrainer
from .trainer import FoldTrainer


def fold_trainer(cfg: DictConfig, store: PairStore, fold: int, device: torch.device) -> FoldTrainer:
    """The trainer of one fold: a GAN trainer with gan.discriminator, else the plain one."""
    cls = GanTrainer if cfg.gan.discriminator else FoldTrainer
    return cls(cfg, store, fold, device)
