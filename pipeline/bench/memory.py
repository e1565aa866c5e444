"""Part 4: the peak memory of tiled inference on 1, 4 and 16 MP images, each in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from ..core.config.load import REPO_ROOT, load_config
from ..core.infer.tiling import TiledPredictor, auto_batch, tile_starts
from ..core.util.distributed import configure_threads
from . import Scale, page
from .inference import bench_model, sync


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int | None:
    """Reset the kernel's record of this process's peak resident memory (Linux); returns the
    resident bytes now, or None where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmRSS") * 1024
    except OSError:
        return None


def memory_probe(
    config: str | None,
    overrides: list[str],
    side: int,
    first_side: int,
    tile: int,
    overlap: int,
    batch: int,
    device_name: str,
    amp: bool,
) -> dict[str, Any]:
    """Tiled inference of a first_side x first_side image, then of a side x side one, in a
    fresh process (see bench_memory).

    Measured from before the first image, with the model, both images and both output arrays
    already in memory: the growth of peak resident memory (everything: numpy, torch's CPU
    allocator, kernel workspaces), after the first image (a cold start) and after the second;
    the peak of numpy's buffers (tracemalloc: the blending band) and on CUDA of torch's GPU
    allocator, in the second."""
    configure_threads()
    device = torch.device(device_name)
    model = bench_model(load_config(config, overrides), 0, device)
    predictor = TiledPredictor([model], [0], tile, overlap, batch, device, amp=amp)
    rng = np.random.default_rng(2)
    first, image = page(rng, first_side, first_side), page(rng, side, side)
    outs = [np.empty_like(first), np.empty_like(image)]
    for out in outs:
        out.fill(0)  # touch its pages now, so they count as the output, not as working memory
    rss_before = reset_peak_rss()
    predictor(first, out=outs[0])
    sync(device)
    cold = _status_kb("VmHWM") * 1024 if rss_before is not None else None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    cuda_before = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
    tracemalloc.start()
    start = time.perf_counter()
    predictor(image, out=outs[1])
    sync(device)
    seconds = time.perf_counter() - start
    numpy_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row = {
        "side": side,
        "megapixels": side * side / 1e6,
        "seconds": seconds,
        "rss_peak_mb": None,
        "rss_cold_first_mb": None,
        "numpy_peak_mb": numpy_peak / 2**20,
    }
    if rss_before is not None and cold is not None:
        row["rss_peak_mb"] = (_status_kb("VmHWM") * 1024 - rss_before) / 2**20
        row["rss_cold_first_mb"] = (cold - rss_before) / 2**20
    if device.type == "cuda":
        row["cuda_peak_mb"] = (torch.cuda.max_memory_allocated(device) - cuda_before) / 2**20
    return row


PROBE = (
    "import json, sys; from pipeline.bench.memory import memory_probe; "
    "print(json.dumps(memory_probe(*json.loads(sys.argv[1]))))"
)


def bench_memory(
    config: str | None,
    overrides: list[str],
    cfg: DictConfig,
    device: torch.device,
    scale: Scale,
    tile: int,
) -> tuple[list[dict[str, Any]], int]:
    """One fresh process per image size, so one size's memory cannot hide in another's peak.

    Each process first restores an image of the smallest size, as `infer` restores one image
    after another: glibc's allocator keeps part of what torch frees resident, and only settles
    after a few dozen forward passes, so a cold process's first small image would understate
    what a run needs (that cold figure is reported too). One view, and as many tiles per
    forward pass as the smallest image has in a row (capped by infer.batch), so every size
    runs the same batches through the model and the comparison is about the image size
    alone. Returns the rows and that batch."""
    overlap = min(cfg.infer.overlap, tile // 4)
    most = cfg.infer.batch or auto_batch(device)
    batch = min(most, len(tile_starts(min(scale.memory_sides), tile, overlap)))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    rows = []
    for side in scale.memory_sides:
        args = [config, overrides, side, min(scale.memory_sides)]
        args += [tile, overlap, batch, str(device), cfg.train.amp]
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.splitlines()[-1]))
    return rows, batch
