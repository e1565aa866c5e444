"""Stage 4: fold ensemble x TTA x tiled inference on the test scans, and the out-of-fold CV."""

from __future__ import annotations

from .core.config import cli
from .core.infer.run import infer_experiment
from .core.report.summary import report_experiment
from .core.util.distributed import configure_threads

DESCRIPTION = """\
Restore the test scans with the average of the folds' models (train.select: each fold's
final weights, or its best epoch's) over the TTA views
(infer.tta, default all 8 dihedral views), tile by tile (infer.tile, infer.overlap) so memory
does not grow with image size. Writes PNGs to runs/<experiment>/pred/test.

With infer.oof=true (the default) each fold's model also restores its own held-out training
images (runs/<experiment>/pred/oof). Their leaderboard metric over all those images is the
cross-validation score `cv` (what a leaderboard computes from the out-of-fold predictions),
printed next to the score of submitting the scans unchanged ("identity") and the folds' mean
and spread, written to runs/<experiment>/cv.json and oof_scores.csv (one row per image), and
added to runs/leaderboard.csv. Then the plots (runs/<experiment>/plots/: curves, error
distribution, worst images) are drawn and a W&B summary run is logged beside the fold runs
(see `python -m pipeline.report`).

For descanning the CV is printed beside the baseline ladder on the same folds (identity, a
colour map, a regressor; see `python -m pipeline.baselines`). infer.finish=true moves each
restored image's mean Y to a blend of its own and the regressor's, the weight fitted out of
fold and the CV nested (each fold finished with the weight fitted on the others).

Other tasks (task.kind): the same files; the CV is the task's PSNR over the out-of-fold
images, beside SSIM (sr: MATLAB BT.601 Y with task.scale pixels cropped at the border; deblur,
denoise, deflare: RGB), the baseline's (the input unchanged, or MATLAB bicubic for sr), and
the mean per-image PSNR gain. With task.scale=S the tiles are cut in input pixels
(infer.tile, infer.overlap) and the outputs are S times the input's size. The gopro layout's
test inputs are test/<sequence>/blur, written as <sequence>.<frame>.png."""


def main(argv: list[str] | None = None) -> int:
    _, cfg = cli.parse_config(cli.stage_parser("pipeline.infer", DESCRIPTION), argv)
    configure_threads()  # the usable CPUs, not all the machine's (a container's CPU quota)
    if infer_experiment(cfg, say=print) is not None:
        plots = report_experiment(cfg)
        print(f"infer: plots -> {plots[0].parent} ({', '.join(p.name for p in plots)})")
    return 0


if __name__ == "__main__":
    cli.run(main)
