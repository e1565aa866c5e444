"""Part 1: data loading, samples/s: the prepared store with the default augmentation pipeline
(albumentations), the same store with the flips and quarter turns written by hand (the loader
before augment.pipeline), and decoding both image files for every sample."""

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

from ..core.data.dataset import EpochDraws, PatchDataset
from ..core.data.store import Pair, PairStore, build_store
from . import PATCHES, WORKERS, Scale, write_pairs


def dihedral_choices(hflip: bool, vflip: bool, rot90: bool) -> list[tuple[bool, int]]:
    """The (mirror, quarter turns) transforms the augmentation switches allow."""
    if rot90 and (hflip or vflip):
        return [(m, k) for m in (False, True) for k in range(4)]
    if rot90:
        return [(False, k) for k in range(4)]
    choices = [(False, 0)]
    if hflip:
        choices.append((True, 0))
    if vflip:
        choices.append((True, 2))  # a vertical flip is a horizontal one turned half a circle
    if hflip and vflip:
        choices.append((False, 2))
    return choices


def apply_dihedral(image: np.ndarray, mirror: bool, turns: int) -> np.ndarray:
    if mirror:
        image = image[:, ::-1]
    return np.rot90(image, turns)


class HandWritten(PatchDataset):
    """The loader before augment.pipeline: the prepared store with the flips and quarter
    turns written out by hand (numpy views, one generator per sample), the figure the
    albumentations default pipeline is held to (within 10%)."""

    def __getitem__(self, item: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, draw, row = item
        p = self.patch
        rng = np.random.default_rng([self.seed, epoch, draw])
        image, y, x = self._position(row, rng)
        scan = self.store.scan(image)[y : y + p, x : x + p]
        clean = self._clean_patch(image, y, x)
        mirror, turns = self.choices[rng.integers(len(self.choices))]
        pair = [apply_dihedral(a, mirror, turns) for a in (scan, clean)]
        return tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in pair)

    choices = dihedral_choices(True, True, True)


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

    def __getitem__(self, item: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.pairs[item[2]]  # (epoch, draw, row): the row is the pair
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
        by_hand = HandWritten(store, store.patches, patch, seed=0, jitter=patch // 4)
        decoded = DecodeEverySample(pairs, patch)
        loaders = (prepared, by_hand, decoded)
        for workers in WORKERS:
            rates: tuple[list[float], ...] = ([], [], [])
            for r in range(scale.repeats):  # alternating, so all see the same machine
                for dataset, found in zip(loaders, rates, strict=True):
                    found.append(samples_per_second(dataset, workers, batch, scale.batches, r))
            fast, hand, slow = (statistics.median(found) for found in rates)
            rows.append(
                {
                    "patch": patch,
                    "workers": workers,
                    "prepared": fast,
                    "hand_written": hand,
                    "decode_every_sample": slow,
                    "speedup": fast / slow,
                    "vs_hand_written": fast / hand,
                }
            )
    return rows
