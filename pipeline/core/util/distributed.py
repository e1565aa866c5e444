"""Multi-process training on PyTorch's own engine: torchrun, DistributedDataParallel, gloo or NCCL.

`torchrun --nproc_per_node N -m pipeline.train ...` starts N copies of the training stage and
tells each its place through environment variables (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). `session()` joins them into one process group
(NCCL between GPUs, gloo on the CPU); without torchrun everything here is a no-op, so the
single-process path is the same code with a world of one.

Rank 0 is the main process: it alone prints, validates, writes checkpoints and logs to W&B;
the others train in lockstep and receive what they need to know (the validation result, the
resume state of the run) through `broadcast`.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from .errors import UserError

T = TypeVar("T")

# Validation runs on rank 0 alone while the other ranks wait in a broadcast; NCCL's default
# timeout (10 minutes) would abort a long validation over many large held-out images.
TIMEOUT = timedelta(minutes=60)


def env_world_size() -> int:
    """Processes torchrun started in all (1 without torchrun), readable before `session()`."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_world_size() -> int:
    """Processes torchrun started on this machine (1 without torchrun)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True in the one process that prints, validates and writes (always, without torchrun)."""
    return rank() == 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"train.device: '{name}' asked for, but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(
            f"train.device: '{name}' is not a device (auto, cpu, cuda, cuda:N)"
        ) from None


def setup(device: torch.device) -> torch.device:
    """Join the process group torchrun describes; returns the device this process trains on.

    On CUDA each process takes the GPU of its local rank and the group talks over NCCL; on the
    CPU over gloo. Without torchrun (or with one process) nothing happens."""
    if env_world_size() <= 1 or is_distributed():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if device.index is not None:
            raise UserError(
                f"train.device: under torchrun each process uses cuda:LOCAL_RANK; "
                f"set train.device to cuda or auto, not {device}"
            )
        gpus = torch.cuda.device_count()
        if local >= gpus:
            raise UserError(
                f"torchrun: {local_world_size()} processes on this machine but {gpus} CUDA "
                f"device(s); set --nproc_per_node to at most {gpus}"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return device


@contextlib.contextmanager
def session(device: torch.device) -> Iterator[torch.device]:
    """`setup()` for the length of a block; a group the block joined is left on the way out
    (one joined before is kept). A block that ends normally ends with a barrier, so when it
    returns on any rank, rank 0 has written everything (a failing rank skips it: torchrun
    stops the others)."""
    joined_before = dist.is_available() and dist.is_initialized()
    device = setup(device)
    try:
        yield device
        if is_distributed():
            dist.barrier()
    finally:
        if not joined_before and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def broadcast(obj: T) -> T:
    """Rank 0's `obj`, on every rank (any picklable object, tensors included)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean(value: float) -> float:
    """The mean of `value` over all ranks."""
    if not is_distributed():
        return value
    values: list[Any] = [None] * world_size()
    dist.all_gather_object(values, value)
    return float(sum(values) / len(values))


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is true on any (a stop one rank was asked for)."""
    if not is_distributed():
        return flag
    on_gpu = dist.get_backend() == "nccl"  # NCCL reduces CUDA tensors only
    device = torch.device("cuda", torch.cuda.current_device()) if on_gpu else None
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def agree(value: Any, what: str) -> None:
    """Fail on a rank whose `value` differs from rank 0's: every node must see the same files
    (the prepared store, the run folder), which across machines means a shared filesystem."""
    reference = broadcast(value)
    if value != reference:
        raise UserError(
            f"{what}: rank {rank()} sees {value!r} but rank 0 sees {reference!r}; every machine "
            "needs the same data.prepared and runs folders (a shared filesystem)"
        )


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` under DistributedDataParallel when there are several ranks, else `model` itself.

    DDP averages the gradients over the ranks during backward, so every rank takes the same
    optimizer step and the replicas stay identical. The caller keeps the bare model for
    validation, EMA and checkpoints (its state_dict keys carry no `module.` prefix)."""
    if not is_distributed():
        return model
    # Gradients as views into DDP's communication buckets: one copy of the gradients in memory
    # instead of two, and no copying between them.
    return DistributedDataParallel(
        model,
        device_ids=[device.index] if device.type == "cuda" else None,
        gradient_as_bucket_view=True,
    )


class ShardSampler(Sampler[int]):
    """Each rank's share of one global sequence of sample indices.

    Every rank draws the same sequence from `sampler` (same seed) and keeps positions rank,
    rank + world, rank + 2 * world, ...; the tail that does not divide evenly is dropped so all
    ranks take the same number of steps. With a per-rank batch of batch_size / world, step k of
    the ranks together sees exactly the samples step k of a single process sees with
    batch_size. (torch's DistributedSampler cannot draw `train.samples_per_epoch` samples and
    pads with repeats, so a run would not match the single-process one.)
    """

    def __init__(self, sampler: Sampler[int], rank: int = 0, world: int = 1):
        self.sampler = sampler
        self.rank = rank
        self.world = world

    def __len__(self) -> int:
        return len(self.sampler) // self.world  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.rank, len(self) * self.world, self.world)


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota (what
    `docker --cpus` sets; torch's default thread count ignores it and oversubscribes)."""
    affinity = getattr(os, "sched_getaffinity", None)
    n = len(affinity(0)) if affinity else os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    return n


def configure_threads() -> int:
    """Set torch's intra-op threads to this machine's usable CPUs shared among the processes
    torchrun started on it; an explicit OMP_NUM_THREADS wins (torchrun sets it to 1 when it
    starts several processes). Returns the thread count."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, usable_cpus() // local_world_size()))
    return torch.get_num_threads()
