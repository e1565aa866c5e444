"""Multi-process training: two CPU processes (gloo) train like one process, and stay identical."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import RandomSampler

from pipeline import prepare
from pipeline.core.config.load import load_config
from pipeline.core.data.store import PairStore
from pipeline.core.models import build_model, list_models
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.train.trainers import fold_trainer
from pipeline.core.util import distributed
from pipeline.core.util.distributed import ShardSampler
from pipeline.core.util.errors import UserError
from tests.conftest import REPO, make_dataset, tiny_folder


def _tensors(state) -> dict[str, torch.Tensor]:
    """Every tensor in a nested state dict, by its path."""
    if isinstance(state, torch.Tensor):
        return {"": state}
    items = state.items() if isinstance(state, dict) else enumerate(state or [])
    found = {}
    for key, value in items:
        if isinstance(value, dict | list | tuple | torch.Tensor):
            found |= {f"{key}/{k}": v for k, v in _tensors(value).items()}
    return found


def torchrun(processes: int, *args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node N args...`; on a timeout the whole process group
    is killed, workers included (killing torchrun alone would leave them waiting forever)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", str(processes), *map(str, args)]
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        text=True,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def test_two_processes_train_like_one_and_hold_identical_weights(tmp_path: Path):
    overrides = [
        *tiny_folder(tmp_path),
        "model.name=nafnet",  # LayerNorm: no batch statistics, so 2 x 2 samples == 1 x 4
        "model.args.width=8",
        "train.batch_size=4",
        "train.ema=0.9",
        "train.fold=0",
        "train.patience=0",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    assert prepare.main(overrides) == 0
    first = [*overrides, "experiment=ddp", "train.epochs=1"]
    resumed = [*overrides, "experiment=ddp", "train.epochs=2", "train.resume=true"]
    proc = torchrun(
        2, REPO / "tests" / "ddp_worker.py", tmp_path / "ranks", json.dumps([first, resumed])
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Rank 0 alone prints: each line once.
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("train: nafnet") for line in lines) == 2, proc.stdout
    assert sum(line.startswith("fold 0 epoch 1/1:") for line in lines) == 1, proc.stdout
    assert sum(line.startswith("fold 0: resuming after epoch 1") for line in lines) == 1

    # The two ranks hold the same weights, EMA and optimizer state after each run.
    for run in (0, 1):
        ranks = [torch.load(tmp_path / "ranks" / f"run{run}-rank{r}.pt") for r in (0, 1)]
        a, b = _tensors(ranks[0]), _tensors(ranks[1])
        assert a.keys() == b.keys() and len(a) > 50
        for name in a:
            assert torch.equal(a[name], b[name]), (run, name)

    # Rank 0 wrote the checkpoint, once per epoch, and it holds what the ranks hold.
    fold = tmp_path / "runs" / "ddp" / "fold0"
    last = torch.load(fold / "last.pt", weights_only=False)
    final = torch.load(tmp_path / "ranks" / "run1-rank0.pt")
    assert last["epoch"] == 2 and last["step"] == final["step"]
    for name, value in final["model"].items():
        assert torch.equal(last["model"][name], value), name
    with open(fold / "metrics.csv") as f:
        ddp_rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in ddp_rows] == ["1", "2"]

    # One process with the same config takes the same steps on the same samples.
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    single = FoldTrainer(
        load_config(None, [*first, "experiment=one"]), store, 0, torch.device("cpu")
    )
    single.start()
    single.run()
    single = FoldTrainer(
        load_config(None, [*resumed, "experiment=one"]), store, 0, torch.device("cpu")
    )
    single.resume()
    single.run()
    assert single.state.step == final["step"] == 2 * single.steps_per_epoch
    for name, value in single.model.state_dict().items():
        assert torch.allclose(value, final["model"][name], atol=1e-5), name
    for row, ddp_row in zip(single.history, ddp_rows, strict=True):
        assert row["train_loss"] == pytest.approx(float(ddp_row["train_loss"]), rel=1e-5)
        assert row["val_score"] == pytest.approx(float(ddp_row["val_score"]), abs=0.01)


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_split_each_single_process_batch(world: int):
    batch, samples = 6, 40  # 40 draws from 17 samples: the sequence wraps around the dataset
    generator = torch.Generator().manual_seed(7)
    one = list(RandomSampler(range(17), num_samples=samples, generator=generator))
    shares = []
    for rank in range(world):
        generator = torch.Generator().manual_seed(7)
        sampler = RandomSampler(range(17), num_samples=samples, generator=generator)
        shares.append(list(ShardSampler(sampler, rank, world)))
    assert {len(s) for s in shares} == {samples // world}
    per_rank = batch // world
    for step in range(samples // batch):  # the full batches a single process takes
        together = sorted(i for s in shares for i in s[step * per_rank : (step + 1) * per_rank])
        assert together == sorted(one[step * batch : (step + 1) * batch])


def test_batch_size_must_split_over_the_processes(tmp_path: Path, monkeypatch):
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=1, size=(32, 32))
    overrides = [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        "prepare.patch_size=16",
        "train.batch_size=6",
    ]
    assert prepare.main(overrides) == 0
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    monkeypatch.setattr(distributed, "world_size", lambda: 4)
    message = r"train\.batch_size: 6 does not split evenly over 4 processes"
    with pytest.raises(UserError, match=message):
        FoldTrainer(load_config(None, overrides), store, 0, torch.device("cpu"))
    # A GAN is trained in one process: under torchrun it is refused before any work.
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    gan = [*overrides, "gan.discriminator=patchgan_discriminator"]
    with pytest.raises(UserError, match=r"gan\.discriminator: GAN training runs in one process"):
        fold_trainer(load_config(None, gan), store, 0, torch.device("cpu"))


@pytest.mark.parametrize("name", list_models())
def test_every_parameter_gets_a_gradient(name: str):
    """DDP (without find_unused_parameters, which costs a graph walk per step) waits forever
    for the gradient of a parameter the forward pass never used."""
    torch.manual_seed(0)
    model = build_model(name)
    x = torch.rand(2, 3, 32, 32)
    out = model(x, x) if getattr(model, "conditional", False) else model(x)
    out.mean().backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert unused == []


def test_an_exploding_learning_rate_under_torchrun_ends_with_the_error_line(tmp_path: Path):
    """Every rank stops at the same step, rank 0 with the one `error:` line, no traceback, no
    hang (a rank left in a collective would wait forever)."""
    overrides = [
        *tiny_folder(tmp_path, patch=32),
        "model.name=pagenet",
        "train.batch_size=4",
        "train.fold=0",
        "train.epochs=2",
        "train.lr=1e30",
        "train.grad_clip=0",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    assert prepare.main(overrides) == 0
    proc = torchrun(2, "-m", "pipeline.train", *overrides, timeout=240)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]  # rank 0 says it, the other rank exits 2
    assert errors[0].startswith("error: fold 0, epoch 1, step ")
    assert "train.lr" in errors[0] and "train.grad_clip" in errors[0]
    # torchrun reports the failed workers with a traceback of its own; none comes from a rank
    assert "pipeline/core" not in proc.stderr and "RuntimeError" not in proc.stderr
