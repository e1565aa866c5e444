"""`python tests/paced_train.py ARGS...`: `python -m pipeline.train ARGS...` with every training
step taking at least PACE seconds. The tests that kill or interrupt a run at its n-th save of
last.pt start it this way, so the run is still going when they act, on any machine however
fast; the pause comes after the step, so what the run computes is unchanged. The tests run
it with the repository on PYTHONPATH."""

from __future__ import annotations

import time

from pipeline import train
from pipeline.core.config import cli
from pipeline.core.train.trainer import FoldTrainer

PACE = 0.05  # seconds: well above the 5 ms at which the tests look for a new save
STEP = FoldTrainer._step


def paced_step(self: FoldTrainer, *batch):
    start = time.monotonic()
    losses = STEP(self, *batch)
    time.sleep(max(0.0, PACE - (time.monotonic() - start)))
    return losses


if __name__ == "__main__":
    FoldTrainer._step = paced_step
    cli.run(train.main)
