"""Training one fold: the loop, validation through the inference path, checkpoints, resume.

Files in runs/<experiment>/fold<k>/:
  last.pt       everything needed to resume (model, optimizer, scheduler, counters), every epoch
  best.pt       the model with the best validation score so far (what `infer` loads)
  metrics.csv   one row per epoch
  done.json     written when the fold has finished; its best validation metrics
"""

from __future__ import annotations

import math
import shutil
import time
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

from . import distributed
from .agc import adaptive_clip_grad_
from .config import synth_ranges, to_dict, to_yaml
from .data import PatchDataset
from .distributed import ShardSampler
from .ema import ModelEMA
from .errors import UserError
from .evaluation import Evaluation, evaluate
from .experiment import Experiment
from .losses import CompositeLoss, build_loss
from .models.build import build_checked_model, model_args
from .models.checkpoint import load_checkpoint, save_checkpoint
from .progress import progress, say
from .store import PairStore
from .task import Task
from .tiling import TiledPredictor
from .tracking import Tracker

METRIC_COLUMNS = [
    "epoch",
    "step",
    "lr",
    "train_loss",
    "val_score",
    "val_y_mae",
    "val_psnr",
    "val_identity",
    "seconds",
]
# Beside those, for the tasks other than descan: SSIM, the baseline's PSNR (input unchanged,
# or bicubic for sr) and the mean per-image PSNR gain over it.
TASK_COLUMNS = ["val_ssim", "val_baseline_psnr", "val_gain"]


def metric_columns(cfg: DictConfig) -> list[str]:
    """metrics.csv's columns: the descanning ones, plus the task's and the GAN's."""
    extra = TASK_COLUMNS if Task.of(cfg).reports_psnr_ssim else []
    if cfg.gan.discriminator:
        from .gan import GAN_COLUMNS  # gan.py subclasses FoldTrainer

        extra = extra + GAN_COLUMNS
    return METRIC_COLUMNS + extra


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"train.device: '{name}' asked for, but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(
            f"train.device: '{name}' is not a device (auto, cpu, cuda, cuda:N)"
        ) from None


def _lr_lambda(total_steps: int):
    def cosine(step: int) -> float:
        # Cosine decay to 1% of the base rate over the whole run.
        done = min(step / max(total_steps, 1), 1.0)
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * done))

    return cosine


class FoldTrainer:
    """Trains one fold of one experiment; `run()` returns the fold's best validation metrics."""

    def __init__(self, cfg: DictConfig, store: PairStore, fold: int, device: torch.device):
        self.cfg = cfg
        self.store = store
        self.fold = fold
        self.device = device
        self.experiment = Experiment.of(cfg)
        self.dir = self.experiment.fold_dir(fold)
        t = cfg.train
        self.task = Task.of(cfg)
        self.monitor = self.task.monitor(t.monitor)
        self.lower_is_better = self.task.monitors[self.monitor]

        train_folds = [f for f in range(store.folds) if f != fold]
        self.val_indices = store.image_indices([fold])
        rows = store.patch_rows(train_folds)
        if len(rows) == 0 or not self.val_indices:
            raise UserError(
                f"{store.root}: fold {fold} leaves no training patches or no validation images"
            )
        a = cfg.augment
        settings = store.manifest["settings"]
        self.dataset = PatchDataset(
            store,
            rows,
            settings["patch_size"],
            a.hflip,
            a.vflip,
            a.rot90,
            t.seed,
            jitter=settings["stride"] // 2 if a.jitter else 0,
            synthetic_p=a.synthetic_p,
            synth_ranges=synth_ranges(cfg),
        )
        torch.manual_seed(t.seed + fold)
        self.model, self.params = build_checked_model(cfg)
        self.model.to(device)
        # What the training step runs: the model itself, or under torchrun its DDP wrapper.
        self.net = distributed.wrap(self.model, device)
        self.ema = ModelEMA(self.model, t.ema) if t.ema > 0 else None  # G only, with a GAN
        self.loss_fn: nn.Module | Any = (
            CompositeLoss(to_dict(t.loss_terms), t.vgg_weights)
            if t.loss_terms
            else build_loss(t.loss)
        )
        if isinstance(self.loss_fn, nn.Module):
            self.loss_fn.to(device)
        optimizer = torch.optim.Adam if t.optimizer == "adam" else torch.optim.AdamW
        self.optimizer = optimizer(self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        self.columns = metric_columns(cfg)
        self.samples = t.samples_per_epoch or len(self.dataset)
        # train.batch_size is the global batch: each of the ranks takes an equal share of it,
        # so a config trains the same way on any number of processes.
        world = distributed.world_size()
        if t.batch_size % world:
            raise UserError(
                f"train.batch_size: {t.batch_size} does not split evenly over {world} processes"
            )
        if self.samples < world:
            raise UserError(
                f"{store.root}: fold {fold} has {self.samples} training samples per epoch, "
                f"fewer than the {world} processes"
            )
        self.steps_per_epoch = (
            max(1, self.samples // t.batch_size) if self.samples >= t.batch_size else 1
        )
        total = self.steps_per_epoch * t.epochs
        if t.scheduler == "cosine":
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _lr_lambda(total))
        elif t.scheduler == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer,
                mode="min" if self.lower_is_better else "max",
                factor=t.plateau_factor,
                patience=t.plateau_patience,
            )
        else:
            self.scheduler = None
        use_amp = t.amp and device.type == "cuda"
        self.amp_dtype = None
        if use_amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        self.epoch = 0  # epochs completed
        self.step = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.seconds = 0.0
        self.history: list[dict[str, Any]] = []

    # -- state ---------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
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
        }

    def _state(self) -> dict[str, Any]:
        return {
            **self._meta(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "seconds": self.seconds,
            "torch_rng": torch.get_rng_state(),
            **self._extra_state(),
        }

    def _extra_state(self) -> dict[str, Any]:
        """What a subclass trains beside the model, for last.pt (the GAN's discriminator)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """The inverse of _extra_state, on resume."""

    def resume(self) -> None:
        state = load_checkpoint(self.dir / "last.pt")
        if state["model_name"] != self.cfg.model.name:
            raise UserError(
                f"{self.dir / 'last.pt'}: trained as '{state['model_name']}', "
                f"but model.name is '{self.cfg.model.name}'"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self._load_extra_state(state)
        self.epoch, self.step = state["epoch"], state["step"]
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.bad_epochs, self.seconds = state["bad_epochs"], state["seconds"]
        torch.set_rng_state(state["torch_rng"])
        # Rows of epochs after the checkpoint come from a run that died before saving it.
        history = self.experiment.read_metrics(self.fold)
        self.history = [r for r in history if r["epoch"] <= self.epoch]

    def fresh_start(self) -> None:
        if not distributed.is_main():
            return
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)

    # -- loop ----------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        t = self.cfg.train
        self.dataset.set_epoch(self.epoch)
        generator = torch.Generator().manual_seed(t.seed * 100_003 + self.fold * 1009 + self.epoch)
        sampler = RandomSampler(self.dataset, num_samples=self.samples, generator=generator)
        world = distributed.world_size()
        return DataLoader(
            self.dataset,
            batch_size=t.batch_size // world,
            sampler=ShardSampler(sampler, distributed.rank(), world),
            num_workers=t.num_workers,
            pin_memory=self.device.type == "cuda",
            drop_last=self.samples >= t.batch_size,
        )

    def autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        )

    def train_step(self, scan: torch.Tensor, clean: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch of [0, 1] images; returns the logged losses."""
        with self.autocast():
            loss = self.loss_fn(self.net(scan).float(), clean)
        self.optimize(loss)
        return {"train_loss": loss.item()}

    def optimize(self, loss: torch.Tensor) -> None:
        """Backward, unscale, clip, step the model's optimizer, then the EMA and the schedule."""
        t = self.cfg.train
        if not torch.isfinite(loss):
            raise RuntimeError(f"fold {self.fold}: loss became {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if t.grad_clip > 0 or t.agc > 0:
            self.scaler.unscale_(self.optimizer)
        if t.agc > 0:
            adaptive_clip_grad_(self.model, t.agc, 1e-3)
        if t.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR):
            self.scheduler.step()

    def _train_epoch(self) -> dict[str, float]:
        t = self.cfg.train
        self.net.train()  # the DDP wrapper too, under torchrun
        logged: dict[str, list[float]] = {}
        bar = progress(
            self._loader(),
            total=self.steps_per_epoch,
            desc=f"fold {self.fold} epoch {self.epoch + 1}/{t.epochs}",
            leave=False,
        )
        for scan, clean in bar:
            scan = scan.to(self.device, non_blocking=True).float().div_(255.0)
            clean = clean.to(self.device, non_blocking=True).float().div_(255.0)
            for k, v in self.train_step(scan, clean).items():
                logged.setdefault(k, []).append(v)
            self.step += 1
            bar.set_postfix(loss=f"{logged['train_loss'][-1]:.4f}")
        return {k: distributed.mean(float(np.mean(v))) for k, v in logged.items()}

    def epoch_note(self, losses: dict[str, float]) -> str:
        """What a subclass adds to the epoch's printed line."""
        return ""

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are validated and saved as best.pt: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def predictor(self, model: nn.Module | None = None) -> TiledPredictor:
        """Validation's inference path: `infer`'s tiling, one view, `model` or eval_model."""
        i = self.cfg.infer
        return TiledPredictor(
            [model if model is not None else self.eval_model],
            views=[0],
            tile=i.tile,
            overlap=i.overlap,
            batch=i.batch,
            device=self.device,
            amp=self.amp_dtype is not None,
            scale=self.cfg.task.scale,
        )

    def validation_images(self):
        """(stem, scan, clean) of the fold's held-out images, from the store."""
        for i in self.val_indices:
            store = self.store
            yield store.images[i].stem, np.asarray(store.scan(i)), np.asarray(store.clean(i))

    def _validate(self, log_images: int) -> Evaluation:
        """The fold's held-out images through `infer`'s path (one view), scored as `infer`
        scores them. Rank 0 validates; under torchrun the other ranks receive its summary (not
        its rows and images), so every rank takes the same scheduler and stopping steps."""
        val = None
        if distributed.is_main():
            val = evaluate(self.predictor(), self.validation_images(), self.task, log_images)
        summary = distributed.broadcast(None if val is None else val.summary)
        return val if val is not None else Evaluation([], summary)

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.lower_is_better else value > self.best

    def finished(self) -> bool:
        """All epochs done, or stopped early for lack of progress."""
        t = self.cfg.train
        return self.epoch >= t.epochs or (t.patience > 0 and self.bad_epochs >= t.patience)

    def run(self, tracker: Tracker | None = None) -> dict[str, Any]:
        t = self.cfg.train
        main = distributed.is_main()
        while not self.finished():
            start = time.perf_counter()
            losses = self._train_epoch()
            train_loss = losses["train_loss"]
            val = self._validate(t.log_images if tracker else 0)
            self.epoch += 1
            self.seconds += time.perf_counter() - start
            v = val.summary
            monitored = v[self.monitor]
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(monitored)
            improved = self._improved(monitored)
            if improved:
                self.best, self.best_epoch, self.bad_epochs = monitored, self.epoch, 0
                if main:
                    save_checkpoint(
                        self.dir / "best.pt",
                        {
                            **self._meta(),
                            "model": self.eval_model.state_dict(),
                            "epoch": self.epoch,
                            "validation": {k: v[k] for k in ("score", "y_mae", "psnr")},
                        },
                    )
            else:
                self.bad_epochs += 1
            row = {
                "epoch": self.epoch,
                "step": self.step,
                "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": train_loss,
                "val_score": v["score"],
                "val_y_mae": v["y_mae"],
                "val_psnr": v["psnr"],
                "val_identity": v["identity"],
                "seconds": self.seconds,
                "val_ssim": v.get("ssim"),
                "val_baseline_psnr": v.get("baseline_psnr"),
                "val_gain": v.get("gain"),
                **losses,
            }
            row = {k: row[k] for k in self.columns}
            self.history.append(row)
            if main:
                self.experiment.write_metrics(self.fold, self.history, self.columns)
                save_checkpoint(self.dir / "last.pt", self._state())
            if tracker is not None:
                tracker.log(
                    {
                        f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}": v
                        for k, v in row.items()
                        if k not in ("epoch", "step", "seconds")
                    }
                    | {"epoch": self.epoch},
                    step=self.step,
                )
                tracker.log_triplets("val/triplets", val.triplets, step=self.step)
            say(
                f"fold {self.fold} epoch {self.epoch}/{t.epochs}: loss {train_loss:.4f}  "
                f"val score {v['score']:.3f} (identity {v['identity']:.3f})  "
                f"y_mae {v['y_mae']:.2f}  psnr {v['psnr']:.2f}"
                + (
                    f" (baseline {v['baseline_psnr']:.2f})  ssim {v['ssim']:.4f}"
                    if self.task.reports_psnr_ssim
                    else ""
                )
                + self.epoch_note(losses)
                + ("  *" if improved else "")
            )
            if self.epoch < t.epochs and self.finished():
                say(f"fold {self.fold}: no better {self.monitor} in {t.patience} epochs, stopping")
        best_row = next(r for r in self.history if r["epoch"] == self.best_epoch)
        done = {
            "fold": self.fold,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epoch,
            "monitor": self.monitor,
            "score": best_row["val_score"],
            "y_mae": best_row["val_y_mae"],
            "psnr": best_row["val_psnr"],
            "identity": best_row["val_identity"],
            **{k[4:]: best_row[k] for k in TASK_COLUMNS if k in best_row},
            "seconds": self.seconds,
            "params": self.params,
        }
        if main:
            self.experiment.write_done(self.fold, done)
        if tracker is not None:
            tracker.summary({f"best/{k}": v for k, v in done.items()})
        return done


def fold_trainer(cfg: DictConfig, store: PairStore, fold: int, device: torch.device) -> FoldTrainer:
    """The trainer the config asks for: a GAN trainer with gan.discriminator, else plain."""
    if cfg.gan.discriminator:
        from .gan import GanTrainer  # gan.py subclasses FoldTrainer

        return GanTrainer(cfg, store, fold, device)
    return FoldTrainer(cfg, store, fold, device)
