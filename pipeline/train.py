"""Stage 3: train one fold or all folds of an experiment on the prepared patch store."""

from __future__ import annotations

import sys

from .core.config import cli
from .core.train.folds import train_experiment
from .core.util.progress import say

DESCRIPTION = """\
Train the configured model on each fold's training patches and validate it on the fold's
full held-out images through the same tiled path as `infer`, scored with the leaderboard
metric. Writes runs/<experiment>/fold<k>/{last.pt,best.pt,final.pt,metrics.csv,done.json}.

  train.fold=all|K     which folds (default all)
  train.select         final (default): each fold contributes its last epoch's weights, so
                       nothing is chosen on the held-out images and the CV is honest; best:
                       the epoch with the best train.monitor on them (an optimistic CV);
                       inner: the best epoch on titles split off the fold's training images
                       (not trained on), so the held-out fold stays unseen and the CV honest
  train.val_every=N    validate every N epochs; train.val_images=N: on a fixed seeded subset
                       of N validation images (default 64); the last epoch validates on all
  train.time_budget=M  minutes per fold: the epochs that fit (estimated from timed steps
                       before training), at most train.epochs
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

Nothing trained is lost. An experiment whose folds hold checkpoints is not trained again
unless asked: train.resume=true continues each fold from its last.pt, at the step it had
reached (last.pt is written every epoch and every train.checkpoint_minutes), and keeps the
finished ones; train.resume=auto (what run_all.sh passes) does the same and starts the folds
that have none; train.overwrite=true trains them anew. A changed config under the same
experiment name is refused (the config is recorded in runs/<experiment>/config.yaml).
Ctrl-C saves last.pt and prints the command that continues. A value that is not a number
(the loss, the model's output, the weights after a step, a page descriptor, the validation
score) stops with one error naming fold, epoch and step; the files already written are kept.
A second train or infer of the same folds stops with an error naming the process at work.

Several GPUs or machines: torchrun --nproc_per_node N -m pipeline.train [key=value ...]
trains with DistributedDataParallel (NCCL on GPUs, gloo on the CPU); train.batch_size is the
global batch, split evenly over the N processes, so the same config trains the same way.
Rank 0 alone validates, prints and writes checkpoints. GAN training (gan.discriminator)
runs in one process.

Weights & Biases logs offline to ./wandb unless wandb.mode or WANDB_MODE says otherwise."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.train", DESCRIPTION), argv)
    train_experiment(cfg, argv, say)
    return 0


if __name__ == "__main__":
    cli.run(main)
