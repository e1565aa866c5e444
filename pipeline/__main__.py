"""`descan STAGE [options] [key=value ...]` (or `python -m pipeline STAGE ...`): the installed
package's one command, equal to `python -m pipeline.STAGE ...` for every stage."""

from __future__ import annotations

import importlib
import importlib.util
import sys

from .core.config import cli

# Each stage with the first line of what it does, in the order a run goes through them.
STAGES = {
    "make_demo": "build the demo dataset from images shipped with installed packages",
    "synth": "print and scan a folder of clean images with the simulator",
    "prepare": "check the data, decode it into a patch store, assign the folds",
    "train": "train one fold or all folds",
    "infer": "restore the test images; score the folds out of fold (the CV)",
    "export": "restored images -> the submission CSV",
    "auto": "a folder's default: ladder, candidates, the choice by nested CV",
    "score": "the leaderboard metric of a CSV, or an experiment's CV and test score",
    "baselines": "the cheap answers (identity, colour map, regressor, boosted trees), out of fold",
    "blend": "blend experiments' predictions with weights fitted out of fold",
    "leaderboard": "the experiments, best CV first; --diff A B",
    "report": "redraw an experiment's plots, log its W&B summary run",
    "submit": "check a submission CSV and send it to Kaggle",
    "sweep": "one W&B sweep trial",
    "models": "the registered architectures",
    "upscale": "the MATLAB-bicubic super-resolution baseline",
    "evaluate": "PSNR / SSIM of a folder of predictions",
    "bench": "loading, training, inference and memory benchmarks",
}

USAGE = "usage: descan STAGE [--config FILE] [key=value ...]   (descan STAGE --help for more)"


def available() -> dict[str, str]:
    """The stages this installation has (a stage module that is not there is left out)."""
    return {s: what for s, what in STAGES.items() if importlib.util.find_spec(f"pipeline.{s}")}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    stages = available()
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, stages))
        print(USAGE + "\n\nstages:")
        print("\n".join(f"  {s.ljust(width)}  {what}" for s, what in stages.items()))
        raise SystemExit(0 if argv else 2)
    stage, args = argv[0], argv[1:]
    if stage not in stages:
        print(f"error: unknown stage '{stage}' (stages: {', '.join(stages)})", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"pipeline.{stage}")
    if not hasattr(module, "main"):  # a stage that is a package (bench): its __main__
        module = importlib.import_module(f"pipeline.{stage}.__main__")
    sys.argv = [f"descan {stage}", *args]
    cli.run(lambda: module.main(args))


if __name__ == "__main__":
    main()
