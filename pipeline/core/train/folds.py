"""Training an experiment's folds: what the experiment already holds against what a run asks
(resume, overwrite, a changed config), the time estimate, and each fold trained in turn."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from omegaconf import DictConfig

from ..config.load import fold_list, to_dict, to_yaml, training_changes
from ..data.layout import open_store
from ..models.factory import build_checked_model, build_discriminator
from ..runs.experiment import Experiment
from ..runs.tracking import Tracker, fold_model
from ..util import distributed
from ..util.distributed import resolve_device
from ..util.errors import Interrupted, UserError
from ..util.progress import duration
from .trainer import FoldTrainer
from .trainers import fold_trainer


def resume_command(argv: list[str]) -> str:
    """The command that continues this run: the same arguments, train.resume=true."""
    kept = [a for a in argv if not a.startswith(("train.resume=", "train.overwrite="))]
    return shlex.join(["python", "-m", "pipeline.train", *kept, "train.resume=true"])


def check_history(cfg: DictConfig, run: Experiment, folds: list[int]) -> list[int]:
    """What the experiment already holds, against what this run asks: the folds to continue.
    Raises a UserError when going on would lose or mix trained folds."""
    t = cfg.train
    trained = [f for f in range(cfg.prepare.folds) if run.checkpoints(f)]
    asked = [f for f in folds if f in trained]
    if asked and not t.resume and not t.overwrite:
        raise UserError(
            f"{run.root}: experiment '{cfg.experiment}' already has trained fold(s) "
            f"{', '.join(map(str, asked))}; to go on: train.resume=true continues them, "
            "train.overwrite=true trains them anew, or experiment=NAME starts another"
        )
    if t.resume is True and not asked:
        raise UserError(
            f"train.resume=true but {run.root} holds no checkpoint of fold(s) "
            f"{', '.join(map(str, folds))}; check the experiment name or drop train.resume"
        )
    others = [f for f in trained if f not in folds or not t.overwrite]
    if others and run.config_path.is_file():
        changes = training_changes(run.read_config(), to_dict(cfg), resuming=not t.overwrite)
        if changes:
            shown = "; ".join(f"{k}: {a} -> {b}" for k, a, b in changes[:3])
            more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
            raise UserError(
                f"{run.config_path}: experiment '{cfg.experiment}' was trained with other "
                f"settings ({shown}{more}); name this one experiment=NAME, or retrain every "
                "fold (train.fold=all) with train.overwrite=true"
            )
    return [] if t.overwrite else asked


def train_experiment(cfg: DictConfig, argv: list[str], say: Callable[[str], None]) -> None:
    """Train the folds train.fold names, continuing or refusing as train.resume and
    train.overwrite say; `argv` is the command line (for the command that continues)."""
    _, params = build_checked_model(cfg)  # the budget error comes before any work
    if cfg.gan.discriminator:
        build_discriminator(cfg)  # and a bad discriminator name or argument
    store = open_store(cfg)
    folds = fold_list(cfg.train.fold, "train.fold", store.folds)
    device = resolve_device(cfg.train.device)
    run = Experiment.of(cfg)
    threads = distributed.configure_threads()
    with distributed.session(device) as device:
        distributed.agree(store.fingerprint, f"{store.root}: store fingerprint")
        with run.locked(folds, "train") if distributed.is_main() else contextlib.nullcontext():
            continuing = distributed.broadcast(
                check_history(cfg, run, folds) if distributed.is_main() else None
            )
            if distributed.is_main() and _config_changed(cfg, run):
                run.write_config(to_yaml(cfg))
            world = distributed.world_size()
            where = f"{world} processes on {device.type}" if world > 1 else str(device)
            say(
                f"train: {cfg.model.name} ({params:,} parameters) on {where} "
                f"({threads} CPU thread(s) each), experiment '{cfg.experiment}', folds {folds}"
            )
            estimated = False
            for fold in folds:
                trainer = fold_trainer(cfg, store, fold, device)
                if fold in continuing and run.last(fold).is_file():
                    trainer.resume()
                    if trainer.finished() and run.final(fold).is_file() and run.read_done(fold):
                        say(f"fold {fold}: finished: kept after epoch {trainer.state.epoch}")
                        continue
                    s = trainer.state
                    say(f"fold {fold}: resuming after epoch {s.epoch} (step {s.step})")
                else:
                    if fold in continuing:
                        say(f"fold {fold}: no last.pt to resume, starting fresh")
                    trainer.start()
                    if not estimated:
                        _estimate(cfg, trainer, len(folds), say)
                        estimated = True
                _train_fold(cfg, trainer, argv, say)


@dataclass(frozen=True)
class TimeEstimate:
    """What one fold's training and one model's inference cost, timed before any training."""

    step_seconds: float  # one training step
    steps_per_epoch: int
    samples_per_step: int  # train.batch_size, or fewer when an epoch is one short step
    fixed_seconds: float  # what an epoch costs beside its steps: validation, the loader's start
    predict_seconds_per_pixel: float  # one TTA view of one fold's model


def time_estimate(cfg: DictConfig) -> TimeEstimate:
    """Timed steps and one prediction on a trainer of the first fold, built and thrown away
    (nothing is written): what `auto` plans its candidates with before training any."""
    build_checked_model(cfg)  # the budget error before the timing
    store = open_store(cfg)
    trainer = fold_trainer(cfg, store, 0, resolve_device(cfg.train.device))
    trainer.estimated_seconds()
    return TimeEstimate(
        trainer.step_seconds,
        trainer.steps_per_epoch,
        max(1, trainer.samples // trainer.steps_per_epoch),
        trainer.epoch_fixed_seconds,
        trainer.predict_seconds_per_pixel,
    )


def model_artifact(cfg: DictConfig, fold: int) -> tuple:
    name, files, meta = fold_model(cfg, fold)
    return name, "model", files, meta


def _config_changed(cfg: DictConfig, run: Experiment) -> bool:
    """Whether config.yaml should be (re)written: none yet, or training settings changed (a
    resumed fold asked to train longer, folds trained anew). A rerun leaves it as it is."""
    if not run.config_path.is_file():
        return True
    return bool(training_changes(run.read_config(), to_dict(cfg)))


def _estimate(cfg: DictConfig, trainer: FoldTrainer, folds: int, say) -> None:
    """The time an epoch and the run will take, from timed steps of the first fold."""
    seconds = trainer.estimated_seconds()  # timed once: a time budget asked for it already
    budget = cfg.train.time_budget
    epochs = trainer.state.epochs
    plan = f"train.time_budget={budget:g} min: {epochs}" if budget else epochs
    say(
        f"train: about {duration(seconds)} per epoch ({trainer.steps_per_epoch} steps of "
        f"{cfg.train.batch_size} + validation), {plan} epoch(s) x {folds} fold(s): about "
        f"{duration(seconds * epochs * folds)}"
    )


def _train_fold(cfg: DictConfig, trainer: FoldTrainer, argv: list[str], say) -> None:
    fold = trainer.fold
    tracker = None
    if distributed.is_main():
        tracker = Tracker(cfg, name=f"{cfg.experiment}-fold{fold}", job_type="train")
    try:
        done = trainer.run(tracker)
        if tracker is not None:  # the weights the fold contributes, as a W&B artifact
            tracker.log_artifact(*model_artifact(cfg, fold))
    except Interrupted as e:
        raise Interrupted(f"{e}\nto continue: {resume_command(argv)}") from None
    finally:
        if tracker is not None:
            tracker.finish()
    on = " on the inner split" if done["validated_on"] == "inner" else ""
    line = f"fold {fold}: {done['select']} weights (epoch {done['epoch']}){on}: "
    line += f"score {done['score']:.4f} (identity {done['identity']:.4f}), "
    line += f"y_mae {done['y_mae']:.3f}, psnr {done['psnr']:.2f}"
    if done["select"] == "final":
        line += f"; best epoch {done['best_epoch']}: score {done['best']['score']:.4f}"
    say(line)
