"""Stage 3: train one fold or all folds of an experiment on the prepared patch store."""

from __future__ import annotations

from .core import cli, distributed
from .core.config import fold_list, to_yaml
from .core.errors import UserError
from .core.experiment import Experiment
from .core.models.build import build_checked_model, build_discriminator
from .core.progress import say
from .core.store import PairStore, store_dir
from .core.tracking import Tracker
from .core.training import fold_trainer, resolve_device

DESCRIPTION = """\
Train the configured model on each fold's training patches and validate it on the fold's
full held-out images through the same tiled path as `infer`, scored with the leaderboard
metric. Writes runs/<experiment>/fold<k>/{best.pt,last.pt,metrics.csv,done.json}.

  train.fold=all|K     which folds (default all)
  train.resume=true    continue each fold from its last.pt; finished folds are skipped
  model.max_params=N   parameter budget, checked before training (default 10,000,000)
  task.kind, task.scale  descan (default) | deblur | denoise | deflare | sr; for sr models
                       with a `scale` argument get task.scale, SRCNN/ARCNN a MATLAB-bicubic
                       upsampled input; validation reports Y PSNR/SSIM (border = scale) or
                       RGB PSNR/SSIM, and the gain over bicubic or the input unchanged
  train.loss_terms     weighted terms, e.g. {l1: 1, perceptual: 0.2, tv: 5e-5}; perceptual
                       needs train.vgg_weights (a local VGG16 file; nothing is downloaded)
  train.optimizer      adamw | adam;  train.agc=0.01: adaptive gradient clipping
  gan.discriminator    a registered discriminator: GAN training with its own Adam (gan.lr,
                       gan.betas), content loss + gan.weight x adversarial (gan.mode vanilla |
                       lsgan); d_loss, g_adv, g_content go to metrics.csv; best.pt holds the
                       generator, last.pt the discriminator and its optimizer too

Several GPUs or machines: torchrun --nproc_per_node N -m pipeline.train [key=value ...]
trains with DistributedDataParallel (NCCL on GPUs, gloo on the CPU); train.batch_size is the
global batch, split evenly over the N processes, so the same config trains the same way.
Rank 0 alone validates, prints and writes checkpoints. GAN training (gan.discriminator)
runs in one process.

Weights & Biases logs offline to ./wandb unless wandb.mode or WANDB_MODE says otherwise."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.train", DESCRIPTION), argv)
    _, params = build_checked_model(cfg)  # the budget error comes before any work
    if cfg.gan.discriminator:
        build_discriminator(cfg)  # and a bad discriminator name or argument
    store = PairStore(store_dir(cfg))
    if store.folds != cfg.prepare.folds:
        raise UserError(
            f"{store.root}: store has {store.folds} folds but prepare.folds={cfg.prepare.folds}; "
            "run `python -m pipeline.prepare` with this config"
        )
    folds = fold_list(cfg.train.fold, "train.fold", store.folds)
    device = resolve_device(cfg.train.device)
    run = Experiment.of(cfg)
    if cfg.train.resume and not any(run.last(f).is_file() for f in folds):
        raise UserError(
            f"train.resume=true but {run.root} holds no checkpoint of fold(s) "
            f"{', '.join(map(str, folds))}; check the experiment name or drop train.resume"
        )
    threads = distributed.configure_threads()
    with distributed.session(device) as device:
        distributed.agree(store.manifest["fingerprint"], f"{store.root}: store fingerprint")
        world = distributed.world_size()
        if distributed.is_main():
            run.write_config(to_yaml(cfg))
        where = f"{world} processes on {device.type}" if world > 1 else str(device)
        say(
            f"train: {cfg.model.name} ({params:,} parameters) on {where} "
            f"({threads} CPU thread(s) each), folds {folds}"
        )
        for fold in folds:
            trainer = fold_trainer(cfg, store, fold, device)
            resume = cfg.train.resume and (trainer.dir / "last.pt").is_file()
            distributed.agree(resume, f"{trainer.dir / 'last.pt'} found")
            if resume:
                trainer.resume()
                state = "finished" if trainer.finished() else "resuming"
                say(f"fold {fold}: {state} after epoch {trainer.epoch} (step {trainer.step})")
            else:
                if cfg.train.resume:
                    say(f"fold {fold}: no checkpoint to resume, starting fresh")
                trainer.fresh_start()
            tracker = None
            if distributed.is_main():
                tracker = Tracker(cfg, name=f"{cfg.experiment}-fold{fold}", job_type="train")
            try:
                done = trainer.run(tracker)
            finally:
                if tracker is not None:
                    tracker.finish()
            say(
                f"fold {fold}: best {cfg.train.monitor} at epoch {done['best_epoch']}: "
                f"score {done['score']:.4f} (identity {done['identity']:.4f}), "
                f"y_mae {done['y_mae']:.3f}, psnr {done['psnr']:.2f}"
            )
    return 0


if __name__ == "__main__":
    cli.run(main)
