"""The benchmark: data loading, training steps, inference speed, tiled inference memory and the
demo's wall time, measured side by side in one run (medians of repeats), printed as markdown.

Everything runs in a temporary folder on generated images; nothing under data/ or runs/ is read
or written. The numbers to compare are the ratios within one run: absolute speeds depend on the
machine and on what else it is doing (the load average is printed with the tables).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from .core import cli
from .core.config import REPO_ROOT, to_dict
from .core.data import PatchDataset, apply_dihedral, dihedral_choices
from .core.distributed import configure_threads, usable_cpus
from .core.errors import UserError
from .core.fsutil import write_text
from .core.imageio import write_png
from .core.models import build_model, count_params, list_models, model_defaults
from .core.store import Pair, PairStore, build_store
from .core.tiling import TiledPredictor, auto_batch, tile_starts
from .core.tracking import git_commit
from .core.training import resolve_device

DESCRIPTION = """\
Measure, side by side in one run, with medians of repeats:
  1. data loading, samples/s: the prepared patch store vs decoding both full image files and
     cropping a random patch for every sample, at patch 128 and 256, with 0 and 2 workers;
  2. a training step, images/s, of every registered restorer (default settings) at 128x128;
     on CUDA also bf16 autocast, channels_last and torch.compile;
  3. inference, megapixels/s, with the configured model and tiling: one pass, 8-view TTA,
     8-view TTA x 3 folds;
  4. peak memory of tiled inference on 1, 4 and 16 megapixel images, each in a fresh process;
  5. the wall time of the demo run (the config's stages, in a temporary folder), by stage.
Prints markdown tables (the README's Speed section is this output) and the targets met or
missed; --json FILE writes every number, with the headline ratios at the top level.
About 5 minutes on 2 quiet CPU cores without the demo; --no-demo skips part 5."""


@dataclass(frozen=True)
class Scale:
    """How much work each part does: the full benchmark, or a seconds-long smoke run."""

    repeats: int  # timed repeats per measurement; the median is reported
    pairs: int  # image pairs in the loading benchmark
    image: int  # their side in pixels
    batches: int  # loader batches timed per repeat
    train_size: int  # side of a training sample
    train_batch: int
    infer_side: int  # side of the image whose inference is timed
    memory_sides: tuple[int, ...]  # image sides of the memory probes
    tile: int | None  # tile side; None: the config's infer.tile


FULL = Scale(3, 8, 512, 20, 128, 8, 512, (1024, 2048, 4096), None)
QUICK = Scale(1, 2, 256, 2, 32, 2, 64, (64, 128, 192), 32)
PATCHES = (128, 256)
WORKERS = (0, 2)
# The demo of --quick: a few tiny pages, one epoch, one view.
QUICK_DEMO = [
    "demo.titles=3",
    "demo.pages_per_title=2",
    "demo.test_pages=2",
    "demo.size=64",
    "prepare.patch_size=32",
    "prepare.stride=32",
    "train.epochs=1",
    "train.batch_size=4",
    "infer.tta=[0]",
    "infer.tile=64",
    "infer.overlap=16",
]


# -- generated images ------------------------------------------------------------------------
def page(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A page-like uint8 RGB image: smooth colour fields with dark text-like strokes. Built
    at its final size in uint8, so even a 16-megapixel page costs no more than itself."""
    small = rng.integers(40, 256, (h // 32 + 2, w // 32 + 2, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(max(1, h // 12)):
        y, x = int(rng.integers(0, max(1, h - 2))), int(rng.integers(0, max(1, w // 2)))
        img[y : y + 2, x : x + w // 3] = 25
    return img


def scan_of(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scan of `clean`: tinted, lifted blacks and paper grain (grain makes PNGs realistically
    slow to decode; a noiseless image compresses, and decodes, far better than a scan)."""
    scan = clean * np.array([0.9, 0.85, 0.72]) + 14 + rng.normal(0, 4, clean.shape)
    return np.clip(np.round(scan), 0, 255).astype(np.uint8)


def write_pairs(root: Path, n: int, side: int) -> list[Pair]:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        clean = page(rng, side, side)
        paths = root / "scan" / f"Bench.{i:05d}.01.png", root / "clean" / f"Bench.{i:05d}.01.png"
        write_png(paths[0], scan_of(clean, rng))
        write_png(paths[1], clean)
        pairs.append(Pair(paths[0].stem, paths[0], paths[1], side, side))
    return pairs


# -- 1. data loading -------------------------------------------------------------------------
class DecodeEverySample(Dataset):
    """The seed approach this pipeline replaces: every sample decodes its scan and its clean
    file in full and crops one random patch from both (with PatchDataset's dihedral
    augmentation). OpenCV decodes: the fastest decoder at hand, so the comparison is fair to it.
    """

    def __init__(self, pairs: Sequence[Pair], patch: int):
        self.pairs = list(pairs)
        self.patch = patch
        self.choices = dihedral_choices(True, True, True)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.pairs[index]
        scan, clean = (
            cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            for path in (pair.scan, pair.clean)
        )
        rng = np.random.default_rng()
        p = self.patch
        y = int(rng.integers(0, pair.height - p + 1))
        x = int(rng.integers(0, pair.width - p + 1))
        mirror, turns = self.choices[rng.integers(len(self.choices))]
        crops = [apply_dihedral(a[y : y + p, x : x + p], mirror, turns) for a in (scan, clean)]
        return tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in crops)


def samples_per_second(
    dataset: Dataset, workers: int, batch: int, batches: int, seed: int
) -> float:
    """Samples/s of a DataLoader over `batches` batches, after its first batch (worker start-up
    is not counted: training keeps its workers busy for a whole epoch)."""
    sampler = RandomSampler(
        dataset,
        replacement=True,
        num_samples=batch * (batches + 1),
        generator=torch.Generator().manual_seed(seed),
    )
    loader = iter(DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers))
    next(loader)
    start = time.perf_counter()
    n = sum(len(scan) for scan, _ in loader)
    return n / (time.perf_counter() - start)


def bench_loading(work: Path, scale: Scale, batch: int) -> list[dict[str, Any]]:
    """Both loaders with one torch thread in this process: batching 16 small tensors gains
    nothing from a thread pool, and on a busy machine waking one up costs more than the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _loading(work, scale, batch)
    finally:
        torch.set_num_threads(threads)


def _loading(work: Path, scale: Scale, batch: int) -> list[dict[str, Any]]:
    pairs = write_pairs(work / "pairs", scale.pairs, scale.image)
    rows = []
    for patch in PATCHES:
        store_root = work / f"store{patch}"
        settings = {"patch_size": patch, "stride": patch // 2, "folds": 1}
        build_store(
            store_root,
            pairs,
            {p.stem: 0 for p in pairs},
            {p.stem: "Bench" for p in pairs},
            patch,
            patch // 2,
            settings,
        )
        store = PairStore(store_root)
        prepared = PatchDataset(store, store.patches, patch, seed=0, jitter=patch // 4)
        decoded = DecodeEverySample(pairs, patch)
        for workers in WORKERS:
            rates: tuple[list[float], list[float]] = ([], [])
            for r in range(scale.repeats):  # alternating, so both see the same machine
                for dataset, found in zip((prepared, decoded), rates, strict=True):
                    found.append(samples_per_second(dataset, workers, batch, scale.batches, r))
            fast, slow = (statistics.median(found) for found in rates)
            rows.append(
                {
                    "patch": patch,
                    "workers": workers,
                    "prepared": fast,
                    "decode_every_sample": slow,
                    "speedup": fast / slow,
                }
            )
    return rows


# -- 2. training step ------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(
    model: nn.Module,
    device: torch.device,
    amp: bool = False,
    channels_last: bool = False,
    compile: str | None = None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """One optimizer step as FoldTrainer takes it (L1 loss, AdamW), in a variant: bf16 autocast,
    channels_last weights and inputs, torch.compile with the named backend ("inductor"
    generates kernels; "eager" only traces, which is how the tests check this path quickly).
    Returns step(scan, clean) -> loss."""
    model.to(device).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    net = torch.compile(model, backend=compile) if compile else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(scan: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        scan = scan.to(device, memory_format=fmt)
        clean = clean.to(device, memory_format=fmt)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.l1_loss(net(scan).float(), clean)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def images_per_second(
    step: Callable,
    device: torch.device,
    batch: int,
    side: int,
    repeats: int,
    steps: int,
    scale: int = 1,
) -> float:
    """Median images/s over `repeats` runs of `steps` steps, after two warm-up steps (which
    also compile, for a compiled model). Targets are `scale` times the input side."""
    gen = torch.Generator().manual_seed(0)
    scan = torch.rand(batch, 3, side, side, generator=gen)
    clean = torch.rand(batch, 3, side * scale, side * scale, generator=gen)
    for _ in range(2):
        step(scan, clean)
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step(scan, clean)
        sync(device)
        times.append((time.perf_counter() - start) / steps)
    return batch / statistics.median(times)


def variants(device: torch.device) -> dict[str, dict[str, Any]]:
    """The training-step variants worth timing on `device` (on the CPU: plain fp32)."""
    if device.type != "cuda":
        return {"fp32": {}}
    return {
        "fp32": {},
        "bf16": {"amp": True},
        "bf16 + channels_last": {"amp": True, "channels_last": True},
        "bf16 + channels_last + compile": {
            "amp": True,
            "channels_last": True,
            "compile": "inductor",
        },
    }


def bench_training(device: torch.device, scale: Scale) -> list[dict[str, Any]]:
    steps = 10 if device.type == "cuda" else 1
    rows = []
    for name in list_models("restorer"):  # discriminators train only beside a generator
        row: dict[str, Any] = {"model": name}
        for label, flags in variants(device).items():
            torch.manual_seed(0)
            model = build_model(name)
            row["params"] = count_params(model)
            try:
                step = make_step(model, device, **flags)
                row[label] = images_per_second(
                    step,
                    device,
                    scale.train_batch,
                    scale.train_size,
                    scale.repeats,
                    steps,
                    model_defaults(name).get("scale") or 1,
                )
            except Exception as e:  # torch.compile fails on some models and setups
                if not flags.get("compile"):
                    raise
                row[label] = None
                row["compile_error"] = str(e).splitlines()[0][:200]
        rows.append(row)
    return rows


# -- 3. inference ----------------------------------------------------------------------------
def fold_models(cfg: DictConfig, n: int, device: torch.device) -> list[nn.Module]:
    """`n` differently initialised copies of the configured model (speed needs no training)."""
    models = []
    for k in range(n):
        torch.manual_seed(k)
        models.append(build_model(cfg.model.name, **to_dict(cfg.model.args)).to(device).eval())
    return models


def bench_inference(
    cfg: DictConfig, device: torch.device, scale: Scale, tile: int
) -> list[dict[str, Any]]:
    i = cfg.infer
    image = page(np.random.default_rng(1), scale.infer_side, scale.infer_side)
    models = fold_models(cfg, 3, device)
    modes = {
        "single pass": (models[:1], [0]),
        "8-view TTA": (models[:1], list(range(8))),
        "8-view TTA x 3 folds": (models, list(range(8))),
    }
    predictors = {
        label: TiledPredictor(
            ms, views, tile, min(i.overlap, tile // 4), i.batch, device, amp=cfg.train.amp
        )
        for label, (ms, views) in modes.items()
    }
    for predictor in predictors.values():
        predictor(image[:tile, :tile])  # warm-up: one-time set-up of the kernels
    times: dict[str, list[float]] = {label: [] for label in modes}
    for _ in range(scale.repeats):  # round-robin, so a change in the machine's load hits all
        for label, predictor in predictors.items():
            start = time.perf_counter()
            predictor(image)
            sync(device)
            times[label].append(time.perf_counter() - start)
    rows = []
    for label, found in times.items():
        seconds = statistics.median(found)
        rows.append({"mode": label, "seconds": seconds, "mp_per_s": image.size / 3e6 / seconds})
    for row in rows:
        row["cost_vs_one_pass"] = row["seconds"] / rows[0]["seconds"]
    return rows


# -- 4. memory -------------------------------------------------------------------------------
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
    model_name: str,
    model_args: dict,
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
    torch.manual_seed(0)
    model = build_model(model_name, **model_args).to(device).eval()
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
    "import json, sys; from pipeline.bench import memory_probe; "
    "print(json.dumps(memory_probe(*json.loads(sys.argv[1]))))"
)


def bench_memory(
    cfg: DictConfig, device: torch.device, scale: Scale, tile: int
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
        args = [cfg.model.name, to_dict(cfg.model.args), side, min(scale.memory_sides)]
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


# -- 5. the demo -----------------------------------------------------------------------------
DEMO_STAGES = ("make_demo", "prepare", "train", "infer", "export", "score")


def bench_demo(config: str, overrides: list[str], work: Path) -> list[dict[str, Any]]:
    """The stages run_all.sh chains, each timed as its own process, writing into `work`."""
    paths = [
        f"data.root={work / 'demo'}",
        f"data.prepared={work / 'prepared'}",
        f"runs={work / 'runs'}",
        f"submissions={work / 'submissions'}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    rows = []
    for stage in DEMO_STAGES:
        command = [sys.executable, "-m", f"pipeline.{stage}", "--config", config]
        start = time.perf_counter()
        proc = subprocess.run(
            [*command, *overrides, *paths], cwd=work, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise UserError(f"demo run: stage {stage} failed: {last}")
        rows.append({"stage": stage, "seconds": seconds, "last_line": proc.stdout.strip()[-200:]})
    return rows


# -- report ----------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine(device: torch.device) -> dict[str, Any]:
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "usable_cpus": usable_cpus(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "commit": git_commit(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = os.getloadavg()[0]
    return info


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The top-level numbers of the JSON, and the targets they are held to."""
    loading = {(r["patch"], r["workers"]): r for r in result["loading"]}
    inference = {r["mode"]: r for r in result["inference"]}
    memory = result["memory"]["rows"]
    rss = [r["rss_peak_mb"] for r in memory]
    ratio = None
    if all(v is not None and v > 0 for v in (rss[0], rss[-1])):
        ratio = rss[-1] / rss[0]
    demo = result.get("demo")
    return {
        "loader_speedup_256": loading[(256, 2)]["speedup"],
        "tta8_cost_ratio": inference["8-view TTA"]["cost_vs_one_pass"],
        "tiled_peak_mem_ratio_16mp_1mp": ratio,
        "demo_wall_s": sum(r["seconds"] for r in demo) if demo else None,
    }


TARGETS = [
    ("loader_speedup_256", ">=", 5.0, "prepared loading vs decode-every-sample, patch 256"),
    ("tta8_cost_ratio", "<=", 8.5, "8-view TTA time / one pass"),
    ("tiled_peak_mem_ratio_16mp_1mp", "<=", 1.3, "tiled inference peak memory, 16 MP / 1 MP"),
    ("demo_wall_s", "<=", 600.0, "demo run, seconds"),
]


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    parts = [
        f"Machine: {m['device']}, {m['usable_cpus']} usable CPU(s), {m['torch_threads']} torch "
        f"thread(s), torch {m['torch']}; load average {result['load_before']:.1f} before, "
        f"{result['load_after']:.1f} after (other processes share the CPUs when it exceeds "
        f"{m['usable_cpus']}).",
        f"\nData loading, samples/s (batches of {result['batch']}, {result['scale']['pairs']} "
        f"{result['scale']['image']}x{result['scale']['image']} PNG pairs):\n",
        table(
            ["patch", "workers", "prepared store", "decode every sample", "speedup"],
            [
                [r["patch"], r["workers"], r["prepared"], r["decode_every_sample"], r["speedup"]]
                for r in result["loading"]
            ],
        ),
    ]
    labels = list(variants(torch.device(result["device"])))
    side, batch = result["scale"]["train_size"], result["scale"]["train_batch"]
    parts += [
        f"\nTraining step, images/s ({side}x{side}, batches of {batch}, L1 + AdamW, "
        f"{result['device']}):\n",
        table(
            ["model", "params", *labels],
            [[r["model"], f"{r['params']:,}", *(r[k] for k in labels)] for r in result["training"]],
        ),
    ]
    inf = result["inference_setup"]
    parts += [
        f"\nInference ({inf['model']}, {inf['side']}x{inf['side']} image, tile {inf['tile']}, "
        f"overlap {inf['overlap']}, batch {inf['batch']}):\n",
        table(
            ["mode", "seconds", "MP/s", "time vs one pass"],
            [
                [r["mode"], r["seconds"], r["mp_per_s"], r["cost_vs_one_pass"]]
                for r in result["inference"]
            ],
        ),
    ]
    mem = result["memory"]
    cuda = any("cuda_peak_mb" in r for r in mem["rows"])
    first = mem["rows"][0]
    cold = first["rss_cold_first_mb"]
    parts += [
        f"\nTiled inference memory (one view, {mem['batch']} tiles per forward pass, tile "
        f"{inf['tile']}). Each size in a fresh process that first restores a "
        f"{first['side']}x{first['side']} image, as `infer` goes from image to image; peak "
        "resident memory above the process holding the model, the images and the outputs "
        f"(a cold process's first {first['side']}x{first['side']} image: "
        f"{'n/a' if cold is None else f'{cold:.1f}'} MB):\n",
        table(
            ["image", "MP", "seconds", "peak RSS growth, MB", "numpy peak, MB"]
            + (["CUDA peak, MB"] if cuda else []),
            [
                [
                    f"{r['side']}x{r['side']}",
                    r["megapixels"],
                    r["seconds"],
                    r["rss_peak_mb"],
                    r["numpy_peak_mb"],
                ]
                + ([r.get("cuda_peak_mb")] if cuda else [])
                for r in mem["rows"]
            ],
        ),
    ]
    if result.get("demo"):
        demo = result["demo"]
        parts += [
            f"\nDemo run ({result['config']}), seconds by stage:\n",
            table(
                ["stage", "seconds"],
                [[r["stage"], r["seconds"]] for r in demo]
                + [["total", sum(r["seconds"] for r in demo)]],
            ),
        ]
    rows = []
    for key, op, limit, what in TARGETS:
        value = result[key]
        met = None if value is None else value >= limit if op == ">=" else value <= limit
        rows.append(
            [what, f"{op} {limit:g}", value, {None: "not run", True: "met"}.get(met, "MISSED")]
        )
    parts += ["\nTargets:\n", table(["target", "limit", "measured", ""], rows)]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.bench", DESCRIPTION)
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo run (part 5)")
    args, cfg = cli.parse_config(parser, argv)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UserError(f"--json: folder {Path(args.json).parent} does not exist")
    scale = QUICK if args.quick else FULL
    device = resolve_device(cfg.train.device)
    configure_threads()
    tile = scale.tile or cfg.infer.tile
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result: dict[str, Any] = {
        "config": args.config,
        "overrides": args.overrides,
        "device": str(device),
        "machine": machine(device),
        "scale": scale.__dict__,
        "batch": cfg.train.batch_size,
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        print("bench: data loading ...", file=sys.stderr)
        result["loading"] = bench_loading(work, scale, cfg.train.batch_size)
        print("bench: training steps ...", file=sys.stderr)
        result["training"] = bench_training(device, scale)
        print("bench: inference ...", file=sys.stderr)
        result["inference_setup"] = {
            "model": cfg.model.name,
            "side": scale.infer_side,
            "tile": tile,
            "overlap": min(cfg.infer.overlap, tile // 4),
            "batch": cfg.infer.batch or auto_batch(device),
        }
        result["inference"] = bench_inference(cfg, device, scale, tile)
        print("bench: tiled inference memory ...", file=sys.stderr)
        rows, batch = bench_memory(cfg, device, scale, tile)
        result["memory"] = {"rows": rows, "batch": batch}
        if not args.no_demo:
            print("bench: the demo run ...", file=sys.stderr)
            config = str(Path(args.config).resolve())
            extra = QUICK_DEMO if args.quick else []
            result["demo"] = bench_demo(config, [*args.overrides, *extra], work)
    result["load_before"] = load_before
    result["load_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {**headline(result), **result}
    print(report(result))
    if args.json:
        write_text(args.json, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    cli.run(main)
