"""The parts a fold trains with, built in one place: the model (and its DDP wrapper), the EMA,
the loss, the optimizer, the gradient scaler and mixed precision, the patch dataset; and the
learning-rate schedule, made again when the number of epochs is known (a time budget, a
resumed fold asked for more)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from ..config.load import synth_ranges, to_dict
from ..data.augment import Augmenter
from ..data.dataset import PatchDataset
from ..data.store import PairStore
from ..models.factory import build_checked_model
from ..models.page import describer_of
from ..util import distributed
from .ema import ModelEMA
from .losses import CompositeLoss, build_loss


@dataclass
class Parts:
    model: nn.Module
    params: int
    net: nn.Module  # what the training step runs: the model, or under torchrun its DDP wrapper
    ema: ModelEMA | None  # the weight average that is validated and saved (G only, with a GAN)
    loss_fn: Any
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    dataset: PatchDataset


def build_parts(
    cfg: DictConfig, store: PairStore, fold: int, device: torch.device, rows: np.ndarray
) -> Parts:
    """The fold's parts, seeded by (train.seed, fold), training on the patch `rows`."""
    t, a = cfg.train, cfg.augment
    settings = store.manifest["settings"]
    torch.manual_seed(t.seed + fold)
    model, params = build_checked_model(cfg)
    # A model that restores by its whole page learns from patches that carry their page;
    # augment.scan_only degrades its whole page, before the patch is cut and described.
    dataset = PatchDataset(
        store,
        rows,
        settings["patch_size"],
        Augmenter(a.pipeline, a.scan_only, store.scale, a.hflip, a.vflip, a.rot90),
        t.seed,
        jitter=settings["stride"] // 2 if a.jitter else 0,
        synthetic_p=a.synthetic_p,
        synth_ranges=synth_ranges(cfg),
        describe=describer_of(model),
    )
    model.to(device)
    net = distributed.wrap(model, device)
    ema = ModelEMA(model, t.ema) if t.ema > 0 else None
    loss_fn = (
        CompositeLoss(to_dict(t.loss_terms), t.vgg_weights) if t.loss_terms else build_loss(t.loss)
    )
    if isinstance(loss_fn, nn.Module):
        loss_fn.to(device)
    optimizer_class = torch.optim.Adam if t.optimizer == "adam" else torch.optim.AdamW
    optimizer = optimizer_class(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    amp_dtype = None
    if t.amp and device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    return Parts(model, params, net, ema, loss_fn, optimizer, scaler, amp_dtype, dataset)


def lr_lambda(total_steps: int):
    def cosine(step: int) -> float:
        # Cosine decay to 1% of the base rate over the whole run.
        done = min(step / max(total_steps, 1), 1.0)
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * done))

    return cosine


def make_scheduler(
    cfg: DictConfig, optimizer: torch.optim.Optimizer, total_steps: int, lower_is_better: bool
):
    """train.scheduler over `total_steps` (cosine), on the monitor (plateau), or None."""
    t = cfg.train
    if t.scheduler == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total_steps))
    if t.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min" if lower_is_better else "max",
            factor=t.plateau_factor,
            patience=t.plateau_patience,
        )
    return None
