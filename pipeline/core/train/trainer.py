"""Training one fold: the loop, validation through the inference path, checkpoints, resume.

Files in runs/<experiment>/fold<k>/ (named by core/runs/experiment.py):
  last.pt       everything needed to resume (model, optimizer, scheduler, EMA, random states, the
                place in the epoch), at the end of every epoch and every train.checkpoint_minutes
  best.pt       the weights of the epoch with the best validation score (train.monitor)
  final.pt      the weights at the end of training
  metrics.csv   one row per epoch
  done.json     written when the fold has finished: the selected weights' validation metrics

A fold killed at any moment and resumed ends as if it had never stopped: the epoch's draws are
a function of (seed, fold, epoch), each sample's augmentation of (seed, epoch, draw), and
last.pt holds the draws done so far and every random state. A non-finite loss, weight or
output stops the fold with a UserError before anything is saved, so the files on disk are the
last good ones; Ctrl-C saves last.pt at the step it reached.

The parts are built in core/train/parts.py, the fold's state (what last.pt holds) is one object
in core/train/state.py, and the end of an epoch is a list of callbacks in
core/train/callbacks.py (best.pt, metrics.csv, last.pt, W&B, the console line).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader

from ..data.dataset import EpochDraws
from ..data.store import PairStore, check_trained_folds
from ..infer.tiling import TiledPredictor
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..runs.experiment import Experiment
from ..runs.tracking import Tracker
from ..scoring.evaluation import Evaluation, evaluate
from ..task.task import Task
from ..util import distributed
from ..util.distributed import ShardSampler
from ..util.errors import Interrupted, NonFiniteError, UserError
from ..util.interrupt import StopRequest, ignore_ctrl_c
from ..util.progress import progress
from . import callbacks, finite
from .agc import adaptive_clip_grad_
from .callbacks import Callback, EpochEnd
from .parts import build_parts, make_scheduler
from .state import FoldState, checkpoint_meta

METRIC_COLUMNS = [
    "epoch",
    "step",
    "lr",
    "train_loss",
    "val_score",
    "val_y_mae",
    "val_psnr",
    "val_identity",
    "val_images",
    "seconds",
]
# Beside those, for the tasks other than descan: SSIM, the baseline's PSNR (input unchanged,
# or bicubic for sr) and the mean per-image PSNR gain over it.
TASK_COLUMNS = ["val_ssim", "val_baseline_psnr", "val_gain"]
# The validation metrics done.json records of the selected weights (and of the best epoch).
DONE_METRICS = ("score", "y_mae", "psnr", "identity", "ssim", "baseline_psnr", "gain")


def inner_split(store: PairStore, folds: list[int], seed: int) -> list[int]:
    """The images of train.select=inner's validation set: whole titles of the training images
    in `folds`, drawn with `seed`, one title group in the store's number of folds (at least one
    title, and at least one left to train on). Their patches are not trained on."""
    indices = store.image_indices(folds)
    titles = sorted({store.images[i].title for i in indices})
    if len(titles) < 2:
        raise UserError(
            f"train.select=inner: {store.root} has {len(titles)} title(s) to train on in folds "
            f"{folds}; an inner validation split needs two; use train.select=final"
        )
    n = min(len(titles) - 1, max(1, round(len(titles) / store.folds)))
    chosen = set(np.random.default_rng(seed).choice(titles, size=n, replace=False).tolist())
    return [i for i in indices if store.images[i].title in chosen]


class FoldTrainer:
    """Trains one fold of one experiment; `run()` returns what done.json records."""

    # metrics.csv's columns beside the task's (what a subclass's step logs besides the loss)
    extra_columns: tuple[str, ...] = ()

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
        if t.select == "inner":
            # The epoch is chosen on titles split off the fold's training images; the held-out
            # fold is never seen during training, so its CV stays honest.
            self.val_indices = inner_split(store, train_folds, t.seed + fold)
            rows = rows[~np.isin(rows[:, 0], self.val_indices)]
        self.val_set = "inner" if t.select == "inner" else "fold"
        # The images validated each epoch: all of them, or at scale a fixed seeded subset of
        # train.val_images (the last epoch validates on all).
        self.val_subset = self.val_indices
        if 0 < t.val_images < len(self.val_indices):
            rng = np.random.default_rng(t.seed * 7919 + fold)
            chosen = rng.choice(len(self.val_indices), size=t.val_images, replace=False)
            self.val_subset = [self.val_indices[i] for i in sorted(chosen)]
        if len(rows) == 0 or not self.val_indices:
            raise UserError(
                f"{store.root}: fold {fold} leaves no training patches or no validation images"
            )
        parts = build_parts(cfg, store, fold, device, rows)
        self.model, self.params, self.net = parts.model, parts.params, parts.net
        self.ema, self.loss_fn, self.optimizer = parts.ema, parts.loss_fn, parts.optimizer
        self.scaler, self.amp_dtype, self.dataset = parts.scaler, parts.amp_dtype, parts.dataset
        task_columns = TASK_COLUMNS if self.task.reports_psnr_ssim else []
        self.columns = METRIC_COLUMNS + task_columns + list(self.extra_columns)
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
        # what last.pt holds of the parts, by name (a subclass adds what it trains beside)
        parts = {"model": self.model, "optimizer": self.optimizer, "scheduler": None}
        parts |= {"scaler": self.scaler, "ema": self.ema}
        self.state = FoldState(parts, epochs=t.epochs)
        self.plan(t.epochs)
        self.history: list[dict[str, Any]] = []
        self.stop = StopRequest()
        self.estimate: float | None = None  # epoch_seconds, timed once
        # what epoch_seconds timed: a step, what an epoch costs beside its steps (validation,
        # the loader's start), one view of one model per pixel
        self.step_seconds = self.epoch_fixed_seconds = self.predict_seconds_per_pixel = 0.0

    @property
    def scheduler(self):
        return self.state.parts["scheduler"]

    def plan(self, epochs: int) -> None:
        """The number of epochs the schedule runs over, and the schedule made for it."""
        self.state.epochs = epochs
        total = self.steps_per_epoch * epochs
        scheduler = make_scheduler(self.cfg, self.optimizer, total, self.lower_is_better)
        self.state.parts["scheduler"] = scheduler

    def start(self, plan: bool = True) -> None:
        """A fresh fold: an empty folder, and with a time budget, the epochs that fit it."""
        if distributed.is_main():
            self.experiment.clear_fold(self.fold)
        if plan and self.cfg.train.time_budget > 0:
            fits = int(self.cfg.train.time_budget * 60 // max(self.estimated_seconds(), 1e-9))
            self.plan(max(1, min(self.cfg.train.epochs, fits)))  # train.epochs: the most

    # -- the time an epoch takes ---------------------------------------------------------
    def estimated_seconds(self) -> float:
        """epoch_seconds, timed once (every rank takes the timed steps, DDP's are collective;
        rank 0's time counts), whether the time budget or the printed estimate asks first."""
        if self.estimate is None:
            self.estimate = distributed.broadcast(self.epoch_seconds())
        return self.estimate

    def epoch_seconds(self, steps: int = 2) -> float:
        """An estimate of one epoch's seconds: `steps` real training steps (after one to warm
        up), the loader's start (what the first step took beyond the others: every epoch makes
        its loader anew) and validation of the first held-out image, scaled to the epoch and
        to the pixels an epoch validates. The trainer's state, the random states and the step
        are put back."""
        saved = copy.deepcopy(self.state.state_dict())
        history = self.history
        try:
            started = time.perf_counter()
            loader = iter(self._loader(EpochDraws(len(self.dataset), self.samples, 0, 0)))
            step_seconds, first_step = [], 0.0
            self.net.train()
            for n in range(steps + 1):
                start = started if n == 0 else time.perf_counter()
                try:
                    self._step(*next(loader))
                except (StopIteration, NonFiniteError):
                    break  # training proper meets (and reports) a value that is not a number
                if n > 0:
                    step_seconds.append(time.perf_counter() - start)
                else:
                    first_step = time.perf_counter() - start
            per_step = float(np.median(step_seconds)) if step_seconds else 0.0
            loader_start = max(0.0, first_step - per_step) if step_seconds else 0.0
            first = self.val_indices[0]
            start = time.perf_counter()
            with contextlib.suppress(NonFiniteError):  # the timing stands; training reports it
                self.predictor()(np.asarray(self.store.scan(first)))
            # an epoch's share of validation: the subset every train.val_every epochs
            images = [self.store.images[i] for i in self.val_subset]
            pixels = [r.height * r.width for r in images]
            first_pixels = self.store.images[first].height * self.store.images[first].width
            predicted = time.perf_counter() - start
            self.predict_seconds_per_pixel = predicted / first_pixels
            val = predicted * sum(pixels) / first_pixels
            val /= self.cfg.train.val_every
        finally:
            self.state.load_state_dict(saved)
            self.history = history
        self.step_seconds, self.epoch_fixed_seconds = per_step, val + loader_start
        return per_step * self.steps_per_epoch + self.epoch_fixed_seconds

    # -- checkpoints and resume ----------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return checkpoint_meta(self.cfg, self.store, self.fold, self.task.kind, self.params)

    def resume(self) -> None:
        """Continue from last.pt: the same step of the same epoch, every state restored."""
        path = self.experiment.last(self.fold)
        state = load_checkpoint(path)
        if state["model_name"] != self.cfg.model.name:
            raise UserError(
                f"{path}: trained as '{state['model_name']}', "
                f"but model.name is '{self.cfg.model.name}'"
            )
        missing = [k for k, v in self.state.parts.items() if v is not None and k not in state]
        if missing:
            raise UserError(
                f"{path}: trained without {', '.join(missing)}; train it with the settings it "
                "was trained with, or train.overwrite=true to train it anew"
            )
        check_trained_folds(
            self.store,
            state.get("folds"),
            path,
            self.cfg.experiment,
            "; use the settings it was trained with, or train.overwrite=true to train it anew",
        )
        # A resumed fold may be asked to train for longer or shorter (train.epochs changed);
        # with a time budget it keeps the number of epochs planned when it started.
        self.plan(state["epochs"] if self.cfg.train.time_budget > 0 else self.cfg.train.epochs)
        epochs = self.state.epochs
        self.state.load_state_dict(state)
        self.state.epochs = epochs
        # Rows of epochs after the checkpoint come from a run that died before saving it.
        history = self.experiment.read_metrics(self.fold)
        self.history = [r for r in history if r["epoch"] <= self.state.epoch]

    def _weights_finite(self) -> bool:
        models = [self.model] + ([self.ema.module] if self.ema is not None else [])
        return finite.weights_finite(models)

    def save_last(self) -> None:
        """last.pt as the trainer stands (rank 0 writes it), after checking the weights are
        still numbers: a checkpoint is never written with a NaN in it."""
        if not self._weights_finite():
            raise NonFiniteError("the weights hold non-finite values")
        if distributed.is_main():
            save_checkpoint(self.experiment.last(self.fold), self.meta() | self.state.state_dict())

    def weights_checkpoint(self, epoch: int, summary: dict[str, float]) -> dict[str, Any]:
        """best.pt and final.pt: the weights validated (the EMA when there is one)."""
        return {
            **self.meta(),
            "model": self.eval_model.state_dict(),
            "epoch": epoch,
            "validation": {k: summary[k] for k in ("score", "y_mae", "psnr")},
        }

    # -- loop ----------------------------------------------------------------------------
    def _loader(self, draws: EpochDraws) -> DataLoader:
        t = self.cfg.train
        world = distributed.world_size()
        return DataLoader(
            self.dataset,
            batch_size=t.batch_size // world,
            sampler=ShardSampler(draws, distributed.rank(), world),
            num_workers=t.num_workers,
            pin_memory=self.device.type == "cuda",
            drop_last=self.samples >= t.batch_size,
            # Its own generator: workers' seeds never draw from torch's global random state,
            # which a resumed run restores for the model (dropout) alone.
            generator=torch.Generator().manual_seed(0),
            worker_init_fn=ignore_ctrl_c,
        )

    def autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        )

    def forward(self, scan: torch.Tensor, page: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
        """The network on a batch, with the pages' descriptions for a page model."""
        return self.net(scan, page=page) if page else self.net(scan)

    def train_step(
        self, scan: torch.Tensor, clean: torch.Tensor, page: tuple[torch.Tensor, ...] = ()
    ) -> dict[str, float]:
        """One optimisation step on a batch of [0, 1] images; returns the logged losses."""
        with self.autocast():
            output = self.forward(scan, page).float()
            loss = self.loss_fn(output, clean)
        self.optimize(loss, output)
        return {"train_loss": loss.item()}

    def stepped_models(self) -> list[nn.Module]:
        """The modules a step changes, whose weights are checked after it (a subclass adds
        what it trains beside the model)."""
        return [self.model]

    def check_finite(self, loss: torch.Tensor, output: torch.Tensor | None = None) -> None:
        finite.check_finite(loss, output)  # core/train/finite.py

    def check_weights(self) -> None:
        finite.check_weights(self.stepped_models())

    def optimize(self, loss: torch.Tensor, output: torch.Tensor | None = None) -> None:
        """Backward, unscale, clip, step the model's optimizer, then the EMA and the schedule.
        A non-finite loss or output stops here, before it can reach the weights; non-finite
        weights after the step stop before the EMA or a checkpoint takes them."""
        t = self.cfg.train
        self.check_finite(loss, output)
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
        self.check_weights()
        if self.ema is not None:
            self.ema.update(self.model)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR):
            self.scheduler.step()

    def _step(self, scan: torch.Tensor, clean: torch.Tensor, *page: torch.Tensor) -> dict:
        scan = scan.to(self.device, non_blocking=True).float().div_(255.0)
        clean = clean.to(self.device, non_blocking=True).float().div_(255.0)
        page = tuple(t.to(self.device, non_blocking=True) for t in page)
        if page and distributed.any_rank(not all(bool(torch.isfinite(t).all()) for t in page)):
            raise NonFiniteError("the page descriptor holds non-finite values")
        return self.train_step(scan, clean, page)

    def _train_epoch(self) -> dict[str, float]:
        """The rest of the epoch under way, from batch `state.batch`; returns its mean losses."""
        t, s = self.cfg.train, self.state
        self.net.train()  # the DDP wrapper too, under torchrun
        draws = EpochDraws(
            len(self.dataset),
            self.samples,
            t.seed * 100_003 + self.fold * 1009,
            s.epoch,
            start=min(s.batch * t.batch_size, self.samples),
        )
        bar = progress(
            self._loader(draws),
            initial=s.batch,
            total=self.steps_per_epoch,
            desc=f"fold {self.fold} epoch {s.epoch + 1}/{s.epochs}",
            leave=False,
        )
        every = t.checkpoint_minutes * 60
        saved_at = time.monotonic()
        for batch in bar:
            for k, v in self._step(*batch).items():
                s.logged.setdefault(k, []).append(v)
            s.step += 1
            s.batch += 1
            bar.set_postfix(loss=f"{s.logged['train_loss'][-1]:.4f}")
            stop = distributed.any_rank(self.stop.requested)
            if stop or (every > 0 and time.monotonic() - saved_at >= every):
                if s.batch < self.steps_per_epoch or stop:
                    self.save_last()
                saved_at = time.monotonic()
            if stop:
                bar.close()
                raise Interrupted(
                    f"interrupted: fold {self.fold} saved at epoch {s.epoch + 1}, "
                    f"step {s.step} ({self.experiment.last(self.fold)})"
                )
        losses = {k: distributed.mean(float(np.mean(v))) for k, v in s.logged.items()}
        s.logged, s.batch = {}, 0
        return losses

    def epoch_note(self, losses: dict[str, float]) -> str:
        """What a subclass adds to the epoch's printed line."""
        return ""

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are validated and saved: the EMA when there is one."""
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

    def validation_images(self, indices: list[int] | None = None):
        """(stem, scan, clean) of the validation images (`indices`, or all), from the store."""
        for i in self.val_indices if indices is None else indices:
            store = self.store
            yield store.images[i].stem, np.asarray(store.scan(i)), np.asarray(store.clean(i))

    def validates(self) -> list[int]:
        """The images the epoch under way validates on: none between train.val_every epochs,
        the subset (train.val_images) on the others, all of them on the last epoch."""
        epoch = self.state.epoch + 1
        if epoch >= self.state.epochs:
            return self.val_indices
        return self.val_subset if epoch % self.cfg.train.val_every == 0 else []

    def _validate(self, log_images: int, indices: list[int] | None = None) -> Evaluation:
        """The validation images through `infer`'s path (one view), scored as `infer` scores
        them. Rank 0 validates; under torchrun the other ranks receive its summary (not its
        rows and images), so every rank takes the same scheduler and stopping steps."""
        val = None
        if distributed.is_main():
            images = self.validation_images(indices)
            val = evaluate(self.predictor(), images, self.task, log_images)
        summary = distributed.broadcast(None if val is None else val.summary)
        return val if val is not None else Evaluation([], summary)

    def _improved(self, value: float) -> bool:
        if self.state.best is None:
            return True
        return value < self.state.best if self.lower_is_better else value > self.state.best

    def finished(self) -> bool:
        """All epochs done, or stopped early for lack of progress."""
        t, s = self.cfg.train, self.state
        return s.epoch >= s.epochs or (t.patience > 0 and s.bad_epochs >= t.patience)

    def callbacks(self, tracker: Tracker | None) -> list[Callback]:
        """What the end of an epoch does after validation, in order."""
        on_disk = [callbacks.best_checkpoint, callbacks.metrics_file, callbacks.last_checkpoint]
        logged = [callbacks.wandb(tracker)] if tracker is not None else []
        return on_disk + logged + [callbacks.console]

    def _end_epoch(self, losses: dict[str, float], tracker: Tracker | None) -> None:
        """Validate the epoch's weights (or not, between train.val_every epochs), step the
        plateau schedule and early stopping, add the metrics.csv row, run the callbacks."""
        t, s = self.cfg.train, self.state
        start = time.perf_counter()
        indices = self.validates()
        if indices:
            val = self._validate(t.log_images if tracker else 0, indices)
            if not all(math.isfinite(val.summary[k]) for k in ("score", "y_mae")):
                raise NonFiniteError("the validation score is not a number")
        else:
            val = Evaluation([], dict.fromkeys(DONE_METRICS, math.nan))  # not validated
        v = val.summary
        s.epoch += 1
        s.seconds += time.perf_counter() - start
        improved = False
        if indices:
            monitored = v[self.monitor]
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(monitored)
            improved = self._improved(monitored)
            if improved:
                s.best, s.best_epoch, s.bad_epochs = monitored, s.epoch, 0
            else:
                s.bad_epochs += 1
        row = {
            "epoch": s.epoch,
            "step": s.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": s.seconds,
            "val_images": len(indices),
            **{f"val_{k}": v.get(k) for k in ("score", "y_mae", "psnr", "identity", "ssim")},
            "val_baseline_psnr": v.get("baseline_psnr"),
            "val_gain": v.get("gain"),
            **losses,
        }
        row = {k: row[k] for k in self.columns}
        self.history.append(row)
        end = EpochEnd(row, val, bool(indices), improved, losses)
        for callback in self.callbacks(tracker):
            callback(self, end)

    def _failed(self, e: NonFiniteError) -> UserError:
        run, s = self.experiment, self.state
        files = (run.best(self.fold), run.last(self.fold), run.metrics_path(self.fold))
        kept = [p.name for p in files if p.is_file()]
        kept_line = (
            f"{', '.join(kept)} in {self.dir} are kept as they were"
            if kept
            else f"nothing was written to {self.dir}"
        )
        return UserError(
            f"fold {self.fold}, epoch {s.epoch + 1}, step {s.step}: {e}; try a lower "
            f"train.lr (now {self.cfg.train.lr}) or train.grad_clip (now "
            f"{self.cfg.train.grad_clip}); {kept_line}"
        )

    def run(self, tracker: Tracker | None = None) -> dict[str, Any]:
        """Train until finished (resuming where the trainer stands), write final.pt and
        done.json; returns done.json's content."""
        s = self.state
        try:
            with self.stop.armed():
                while not self.finished():
                    epoch_start = time.perf_counter()
                    losses = self._train_epoch()
                    s.seconds += time.perf_counter() - epoch_start
                    self._end_epoch(losses, tracker)
                    if self.stop.requested:
                        raise Interrupted(
                            f"interrupted: fold {self.fold} saved at epoch {s.epoch}, "
                            f"step {s.step} ({self.experiment.last(self.fold)})"
                        )
        except NonFiniteError as e:
            if not distributed.is_main():  # every rank stops here; rank 0 says why, once
                raise SystemExit(2) from None
            raise self._failed(e) from None
        return self._finish(tracker)

    def _finish(self, tracker: Tracker | None) -> dict[str, Any]:
        t, s = self.cfg.train, self.state
        final_row = self.history[-1]
        if distributed.is_main():
            summary = {k[4:]: final_row[k] for k in ("val_score", "val_y_mae", "val_psnr")}
            final = self.weights_checkpoint(s.epoch, summary)
            save_checkpoint(self.experiment.final(self.fold), final)
        best_row = next(r for r in self.history if r["epoch"] == s.best_epoch)
        chosen = final_row if t.select == "final" else best_row

        def metrics(row: dict[str, Any]) -> dict[str, float]:
            return {k: row[f"val_{k}"] for k in DONE_METRICS if f"val_{k}" in row}

        done = {
            "fold": self.fold,
            "select": t.select,
            "epoch": chosen["epoch"],
            "best_epoch": s.best_epoch,
            "epochs_run": s.epoch,
            "monitor": self.monitor,
            **metrics(chosen),
            "best": metrics(best_row),
            "final": metrics(final_row),
            "seconds": s.seconds,
            "params": self.params,
            # which images chose the epoch: the held-out fold's, or train.select=inner's
            "validated_on": self.val_set,
            "validation_images": [self.store.images[i].stem for i in self.val_indices],
        }
        if distributed.is_main():
            self.experiment.write_done(self.fold, done)
        if tracker is not None:
            tracker.summary({f"{t.select}/{k}": v for k, v in metrics(chosen).items()})
        return done
