"""Training samples: the epoch's sequence of draws, patches sliced from the prepared store for
each draw, paired dihedral augmentation and, optionally, synthetic scans of the clean patches
in place of the real ones."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .store import PairStore
from .synth import Ranges, sample_params, simulate_scan

SYNTH_STREAM = 1  # tells the synthetic scans' random stream from the patch and transform's


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


class PatchDataset(Dataset):
    """(scan, clean) uint8 CHW tensor pairs; one random dihedral transform applied to both.
    Patches are `patch_size` scan pixels; for a super-resolution store the clean patch covers
    the same area, `store.scale` times as many pixels a side.

    With `jitter` > 0 each patch moves by up to that many pixels from its grid position (staying
    inside the image), so an epoch sees patches between the prepared grid's corners too.

    With `synthetic_p` > 0, that share of the samples has its scan replaced by the print-scan
    simulator's scan of its clean patch, with settings drawn from `synth_ranges` and the clean
    patch of another training sample as the back of the sheet: new scanners, papers and
    prints for the model to generalize over (DESCAN-18K replaced a quarter). The store is
    never written; the trainer gives this dataset training rows only, so validation and test
    images are never replaced.

    Items are (draw, row): the draw's position in the epoch's sequence (EpochDraws) and the
    patch row it drew. Randomness comes from (seed, epoch, draw), so a patch drawn twice in
    one epoch gets two different jitters, transforms and synthetic scans, and a sample does
    not depend on the number of workers or processes or on the order batches are fetched in;
    a resumed run sees the same data.
    """

    def __init__(
        self,
        store: PairStore,
        rows: np.ndarray,
        patch_size: int,
        hflip: bool = True,
        vflip: bool = True,
        rot90: bool = True,
        seed: int = 0,
        jitter: int = 0,
        synthetic_p: float = 0.0,
        synth_ranges: Ranges | None = None,
    ):
        self.store = store
        self.rows = rows
        self.patch = patch_size
        self.choices = dihedral_choices(hflip, vflip, rot90)
        self.seed = seed
        self.jitter = jitter
        self.synthetic_p = synthetic_p
        self.synth_ranges = synth_ranges if synth_ranges is not None else Ranges()
        if synthetic_p > 0:
            # The simulator is written for one core per sample, with DataLoader workers for
            # parallelism. OpenCV's thread pool would only oversubscribe the cores, and thread
            # pools do not survive fork() into a worker: switched off here, before any fork.
            cv2.setNumThreads(0)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def _position(self, row: int, rng: np.random.Generator) -> tuple[int, int, int]:
        """(image, y, x) of a row's patch, jittered off the grid."""
        image, y, x = (int(v) for v in self.rows[row])
        if self.jitter > 0:
            rec = self.store.images[image]
            dy, dx = rng.integers(-self.jitter, self.jitter + 1, size=2)
            y = min(max(y + int(dy), 0), rec.height - self.patch)
            x = min(max(x + int(dx), 0), rec.width - self.patch)
        return image, y, x

    def _clean_patch(self, image: int, y: int, x: int) -> np.ndarray:
        """The clean patch over the scan patch at (y, x): for super-resolution `scale` times
        its size, at `scale` times its coordinates."""
        s, p = self.store.scale, self.patch
        return self.store.clean(image)[s * y : s * (y + p), s * x : s * (x + p)]

    def _synthetic_scan(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        back = self._clean_patch(*self._position(int(rng.integers(len(self.rows))), rng))
        params = sample_params(self.synth_ranges, rng)
        return simulate_scan(np.ascontiguousarray(clean), params, rng, back=back)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        draw, row = item
        p = self.patch
        rng = np.random.default_rng([self.seed, self.epoch, draw])
        image, y, x = self._position(row, rng)
        scan = self.store.scan(image)[y : y + p, x : x + p]
        clean = self._clean_patch(image, y, x)
        if self.synthetic_p > 0:
            # A generator of its own, so synthetic scans change the scans and nothing else:
            # the patches and their transforms stay those of synthetic_p = 0.
            synth_rng = np.random.default_rng([self.seed, self.epoch, draw, SYNTH_STREAM])
            if synth_rng.random() < self.synthetic_p:
                scan = self._synthetic_scan(clean, synth_rng)
        mirror, turns = self.choices[rng.integers(len(self.choices))]
        pair = [apply_dihedral(a, mirror, turns) for a in (scan, clean)]
        return tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in pair)


def draw_order(rows: int, samples: int, seed: int, epoch: int) -> np.ndarray:
    """The patch rows an epoch draws, in order: shuffles of all the rows one after another
    (every patch once before any twice), cut to `samples`; a function of (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    rounds = -(-samples // rows)
    return np.concatenate([rng.permutation(rows) for _ in range(rounds)])[:samples]


class EpochDraws(Sampler[tuple[int, int]]):
    """The epoch's (draw, row) items from draw `start` on: a resumed run skips the draws it
    has trained on without loading them. Every process draws the same sequence (ShardSampler
    deals it out)."""

    def __init__(self, rows: int, samples: int, seed: int, epoch: int, start: int = 0) -> None:
        self.order = draw_order(rows, samples, seed, epoch)
        self.start = start

    def __len__(self) -> int:
        return max(0, len(self.order) - self.start)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for draw in range(self.start, len(self.order)):
            yield draw, int(self.order[draw])
