"""Part 2: the training step of every registered restorer, images/s, timed as the trainer takes
it: FoldTrainer.train_step with its loss, mixed precision, gradient scaler, clipping, EMA and
schedule, on a trainer built from the config as `train` builds it. On CUDA also bf16, and
channels_last and torch.compile on top of the trainer's model."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..core.config.load import load_config
from ..core.data.store import Pair, PairStore, build_store
from ..core.models import list_models, model_defaults
from ..core.task.task import Task
from ..core.train.trainer import FoldTrainer
from ..core.util.images import write_png
from . import Scale, page


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tiny_store(work: Path, scale: int) -> PairStore:
    """A two-image, two-fold store (LR/HR for scale > 1): all a trainer needs to be built."""
    root = work / f"train-store-x{scale}"
    if (root / "manifest.json").is_file():
        return PairStore(root)
    rng = np.random.default_rng(0)
    pairs, side = [], 32
    for i in range(2):
        clean = page(rng, side * scale, side * scale)
        scan = cv2.resize(clean, (side, side), interpolation=cv2.INTER_AREA)
        paths = (
            work / f"x{scale}" / "scan" / f"B{i}.png",
            work / f"x{scale}" / "clean" / f"B{i}.png",
        )
        write_png(paths[0], scan)
        write_png(paths[1], clean)
        pairs.append(Pair(f"B{i}", *paths, side, side))
    settings = {"patch_size": 16, "stride": 16, "folds": 2, "scale": scale}
    stems = [p.stem for p in pairs]
    build_store(
        root, pairs, {s: i for i, s in enumerate(stems)}, {s: s for s in stems}, 16, 16, settings
    )
    return PairStore(root)


def make_trainer(
    name: str, config: str | None, overrides: list[str], work: Path, device: torch.device
) -> FoldTrainer:
    """The trainer `train` would build for `name` at its default settings (super-resolution
    models at their default scale), with the config's train.* settings."""
    scale = model_defaults(name).get("scale") or 1
    train = [o for o in overrides if o.startswith("train.")]
    kind = Task.for_scale(scale).kind
    task = [f"task.kind={kind}", f"task.scale={scale}", "augment.synthetic_p=0"]
    cfg = load_config(config, [*train, f"model.name={name}", *task, "model.bicubic_skip=false"])
    torch.manual_seed(0)
    return FoldTrainer(cfg, tiny_store(work, scale), 0, device)


def trainer_step(
    trainer: FoldTrainer, channels_last: bool = False, compile: str | None = None
) -> Callable[[torch.Tensor, torch.Tensor], dict[str, float]]:
    """trainer.train_step, optionally with channels_last weights and inputs and a compiled
    network ("inductor" generates kernels; "eager" only traces, which is how the tests check
    this path quickly)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    trainer.model.to(memory_format=fmt)
    if compile:
        trainer.net = torch.compile(trainer.net, backend=compile)
    trainer.net.train()

    def step(scan: torch.Tensor, clean: torch.Tensor) -> dict[str, float]:
        device = trainer.device
        scan = scan.to(device, memory_format=fmt)
        return trainer.train_step(scan, clean.to(device, memory_format=fmt))

    return step


def images_per_second(
    step: Callable,
    device: torch.device,
    batch: int,
    side: int,
    repeats: int,
    steps: int,
    scale: int = 1,
) -> float:
    """Median images/s over `repeats` runs of `steps` steps, after two warm-up steps (which
    also compile, for a compiled model). Targets are `scale` times the input side."""
    gen = torch.Generator().manual_seed(0)
    scan = torch.rand(batch, 3, side, side, generator=gen)
    clean = torch.rand(batch, 3, side * scale, side * scale, generator=gen)
    for _ in range(2):
        step(scan, clean)
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step(scan, clean)
        sync(device)
        times.append((time.perf_counter() - start) / steps)
    return batch / statistics.median(times)


def variants(device: torch.device) -> dict[str, dict[str, Any]]:
    """The training-step variants worth timing on `device` (on the CPU: plain fp32)."""
    if device.type != "cuda":
        return {"fp32": {}}
    return {
        "fp32": {"amp": False},
        "bf16": {"amp": True},
        "bf16 + channels_last": {"amp": True, "channels_last": True},
        "bf16 + channels_last + compile": {
            "amp": True,
            "channels_last": True,
            "compile": "inductor",
        },
    }


def bench_training(
    config: str | None, overrides: list[str], work: Path, device: torch.device, scale: Scale
) -> list[dict[str, Any]]:
    steps = 10 if device.type == "cuda" else 1
    rows = []
    for name in list_models("restorer"):  # discriminators train only beside a generator
        row: dict[str, Any] = {"model": name}
        for label, flags in variants(device).items():
            amp = [f"train.amp={str(flags.get('amp', False)).lower()}"]
            trainer = make_trainer(name, config, [*overrides, *amp], work, device)
            row["params"] = trainer.params
            try:
                step = trainer_step(
                    trainer, flags.get("channels_last", False), flags.get("compile")
                )
                row[label] = images_per_second(
                    step,
                    device,
                    scale.train_batch,
                    scale.train_size,
                    scale.repeats,
                    steps,
                    trainer.cfg.task.scale,
                )
            except Exception as e:  # torch.compile fails on some models and setups
                if not flags.get("compile"):
                    raise
                row[label] = None
                row["compile_error"] = str(e).splitlines()[0][:200]
        rows.append(row)
    return rows
