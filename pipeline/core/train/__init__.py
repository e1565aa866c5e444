"""Training one fold: the trainer and its state on disk, the GAN step, losses, EMA, gradient
clipping."""
