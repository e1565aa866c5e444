"""Part 1: data loading, samples/s, the prepared store against decoding every sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..core.data import EpochDraws, PatchDataset, apply_dihedral, dihedral_choices
from ..core.store import Pair, PairStore, build_store
from . import PATCHES, WORKERS, Scale, write_pairs


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

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.pairs[item[1]]
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
    draws = EpochDraws(len(dataset), batch * (batches + 1), seed, 0)  # what training draws
    loader = iter(DataLoader(dataset, batch_size=batch, sampler=draws, num_workers=workers))
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
