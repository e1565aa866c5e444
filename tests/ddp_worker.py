"""Run by tests/core/train/test_ddp.py under torchrun: `pipeline.train` once per argument list,
each rank saving its final weights, EMA and optimizer state so the test can compare the ranks. The
process group is joined once around all the runs (gloo cannot be joined twice by one process).

    torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py OUT_DIR '[[args...], ...]'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from pipeline import train
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.util import distributed

TRAIN = FoldTrainer.run


def keeping_states(path: Path):
    """FoldTrainer.run, saving what this rank holds when the fold is done to `path`."""

    def run(self: FoldTrainer, tracker=None):
        done = TRAIN(self, tracker)
        state = {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "step": self.state.step,
        }
        torch.save(state, path)
        return done

    return run


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with distributed.session(torch.device("cpu")):
        for n, argv in enumerate(json.loads(sys.argv[2])):
            FoldTrainer.run = keeping_states(out / f"run{n}-rank{distributed.rank()}.pt")
            if train.main(argv) != 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
