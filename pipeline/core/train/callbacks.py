"""The end of an epoch as a list of small callbacks, each one concern (as Lightning's and
BasicSR's hooks): the best weights, metrics.csv, last.pt, W&B, the console line. Each is called
with the trainer and the epoch's EpochEnd, in the order FoldTrainer.callbacks lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models.checkpoint import save_checkpoint
from ..runs.tracking import Tracker
from ..scoring.evaluation import Evaluation
from ..util import distributed
from ..util.progress import say

if TYPE_CHECKING:
    from .trainer import FoldTrainer


@dataclass
class EpochEnd:
    """What an epoch ended with: its metrics.csv row, the validation (an empty Evaluation on
    an epoch train.val_every skips), whether the monitor improved, the mean losses."""

    row: dict[str, Any]
    val: Evaluation
    validated: bool
    improved: bool
    losses: dict[str, float]


Callback = Callable[["FoldTrainer", EpochEnd], None]


def best_checkpoint(trainer: FoldTrainer, end: EpochEnd) -> None:
    """best.pt: the weights of the epoch with the best monitor (rank 0 writes it)."""
    if end.improved and distributed.is_main():
        path = trainer.experiment.best(trainer.fold)
        save_checkpoint(path, trainer.weights_checkpoint(trainer.state.epoch, end.val.summary))


def metrics_file(trainer: FoldTrainer, end: EpochEnd) -> None:
    """metrics.csv, one row per epoch so far."""
    if distributed.is_main():
        trainer.experiment.write_metrics(trainer.fold, trainer.history, trainer.columns)


def last_checkpoint(trainer: FoldTrainer, end: EpochEnd) -> None:
    """last.pt, all a resumed run needs (every rank checks the weights, rank 0 writes)."""
    trainer.save_last()


def wandb(tracker: Tracker) -> Callback:
    """The row (training losses under train/, validation under val/) and the validation
    triplets, logged to W&B at the step reached."""

    def log(trainer: FoldTrainer, end: EpochEnd) -> None:
        skip = ("epoch", "step", "seconds", "val_images")
        values = {
            f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}": value
            for k, value in end.row.items()
            if k not in skip and (end.validated or not k.startswith("val_"))
        }
        step = trainer.state.step
        tracker.log(values | {"epoch": trainer.state.epoch}, step=step)
        tracker.log_triplets("val/triplets", end.val.triplets, step=step)

    return log


def console(trainer: FoldTrainer, end: EpochEnd) -> None:
    """The epoch's line (rank 0 prints), and a note when early stopping ends the fold."""
    s, v = trainer.state, end.val.summary
    head = f"fold {trainer.fold} epoch {s.epoch}/{s.epochs}: loss {end.losses['train_loss']:.4f}"
    note = trainer.epoch_note(end.losses)
    if not end.validated:
        say(f"{head}  (validated every {trainer.cfg.train.val_every} epochs){note}")
        return
    line = f"{head}  val score {v['score']:.3f} (identity {v['identity']:.3f})  "
    line += f"y_mae {v['y_mae']:.2f}  psnr {v['psnr']:.2f}"
    if trainer.task.reports_psnr_ssim:
        line += f" (baseline {v['baseline_psnr']:.2f})  ssim {v['ssim']:.4f}"
    say(line + note + ("  *" if end.improved else ""))
    if s.epoch < s.epochs and trainer.finished():
        patience = trainer.cfg.train.patience
        say(f"fold {trainer.fold}: no better {trainer.monitor} in {patience} epochs, stopping")
