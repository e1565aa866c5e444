"""Training samples: patches sliced from the prepared store, with paired dihedral augmentation."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .store import PairStore


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

    With `jitter` > 0 each patch moves by up to that many pixels from its grid position (staying
    inside the image), so an epoch sees patches between the prepared grid's corners too.

    Randomness comes from (seed, epoch, index), so a sample does not depend on the number of
    workers or on the order batches are drawn in, and a resumed run sees the same data.
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
    ):
        self.store = store
        self.rows = rows
        self.patch = patch_size
        self.choices = dihedral_choices(hflip, vflip, rot90)
        self.seed = seed
        self.jitter = jitter
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, y, x = (int(v) for v in self.rows[index])
        p = self.patch
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.jitter > 0:
            rec = self.store.images[image]
            dy, dx = rng.integers(-self.jitter, self.jitter + 1, size=2)
            y = min(max(y + int(dy), 0), rec.height - p)
            x = min(max(x + int(dx), 0), rec.width - p)
        scan = self.store.scan(image)[y : y + p, x : x + p]
        clean = self.store.clean(image)[y : y + p, x : x + p]
        mirror, turns = self.choices[rng.integers(len(self.choices))]
        pair = [apply_dihedral(a, mirror, turns) for a in (scan, clean)]
        return tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in pair)
