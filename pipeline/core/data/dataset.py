"""Training samples: the epoch's sequence of draws, patches sliced from the prepared store for
each draw, the augmentation pipelines (core/data/augment.py: albumentations, by default the flips
and quarter turns) and, optionally, synthetic scans of the clean patches in place of the real
ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..synth import Ranges, sample_params, simulate_scan
from .augment import POSITION, SYNTHETIC, Augmenter, KeyedRandom
from .store import PairStore


class PatchDataset(Dataset):
    """(scan, clean) uint8 CHW tensor pairs, augmented by `augmenter` (geometric transforms
    applied identically to both, photometric ones to the scan alone; by default one of the 8
    flips and quarter turns, drawn uniformly). Patches are `patch_size` scan pixels; for a
    super-resolution store the clean patch covers the same area, `store.scale` times as many
    pixels a side.

    With `jitter` > 0 each patch moves by up to that many pixels from its grid position (staying
    inside the image), so an epoch sees patches between the prepared grid's corners too.

    With `synthetic_p` > 0, that share of the samples has its scan replaced by the print-scan
    simulator's scan of its clean patch, with settings drawn from `synth_ranges` and the clean
    patch of another training sample as the back of the sheet: new scanners, papers and
    prints for the model to generalize over (DESCAN-18K replaced a quarter). The store is
    never written; the trainer gives this dataset training rows only, so validation and test
    images are never replaced.

    Items are (epoch, draw, row): the epoch, the draw's position in the epoch's sequence
    (EpochDraws) and the patch row it drew. Randomness comes from (seed, epoch, draw), so a
    patch drawn twice in one epoch gets two different jitters, transforms and synthetic scans,
    and a sample does not depend on the number of workers or processes or on the order batches
    are fetched in; a resumed run sees the same data.
    """

    def __init__(
        self,
        store: PairStore,
        rows: np.ndarray,
        patch_size: int,
        augmenter: Augmenter | None = None,
        seed: int = 0,
        jitter: int = 0,
        synthetic_p: float = 0.0,
        synth_ranges: Ranges | None = None,
        describe: Callable[[np.ndarray], tuple[np.ndarray, ...]] | None = None,
    ):
        self.store = store
        self.rows = rows
        self.patch = patch_size
        self.augmenter = augmenter if augmenter is not None else Augmenter(scale=store.scale)
        self.seed = seed
        self.jitter = jitter
        self.synthetic_p = synthetic_p
        self.synth_ranges = synth_ranges if synth_ranges is not None else Ranges()
        if synthetic_p > 0:
            # The simulator is written for one core per sample, with DataLoader workers for
            # parallelism. OpenCV's thread pool would only oversubscribe the cores, and thread
            # pools do not survive fork() into a worker: switched off here, before any fork.
            cv2.setNumThreads(0)
        self._position_rng = KeyedRandom(POSITION)
        # A model that restores by its whole page (models/page.py) gets each patch's page
        # description too, from `describe`; the real pages' are computed once per process.
        self.describe = describe
        self._descriptions: dict[int, tuple[np.ndarray, ...]] = {}
        self._images = sorted({int(i) for i in rows[:, 0]}) if len(rows) else []

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

    def _description(self, image: int) -> tuple[np.ndarray, ...]:
        if image not in self._descriptions:
            self._descriptions[image] = self.describe(np.asarray(self.store.scan(image)))
        return self._descriptions[image]

    def _synthetic_page(self, image: int, rng: np.random.Generator) -> np.ndarray:
        """The print-scan simulator's scan of a whole training page, another training page
        (resized to it) on the back of the sheet."""
        clean = np.ascontiguousarray(self.store.clean(image))
        back = np.asarray(self.store.clean(self._images[int(rng.integers(len(self._images)))]))
        if back.shape != clean.shape:
            back = cv2.resize(back, (clean.shape[1], clean.shape[0]), interpolation=cv2.INTER_AREA)
        return simulate_scan(clean, sample_params(self.synth_ranges, rng), rng, back=back)

    def _page_sample(self, epoch: int, draw: int, row: int) -> tuple[torch.Tensor, ...]:
        """(scan, clean, *the page's description) for a model that restores by its whole
        page: a synthetic scan is made of the whole page, so its description is of the page the
        patch comes from. Geometric augmentation turns the patch, not the page's colours."""
        p = self.patch
        image, y, x = self._position(row, self._position_rng.reseed(self.seed, epoch, draw))
        clean = np.asarray(self._clean_patch(image, y, x))
        rng = np.random.default_rng([self.seed, epoch, draw, SYNTHETIC])
        page = None
        if self.synthetic_p > 0 and rng.random() < self.synthetic_p:
            page = self._synthetic_page(image, rng)
        if self.augmenter.scan_only is not None:
            # a scan-only degradation of the whole page, before the patch is cut and the page
            # described, as a synthetic scan is made: the description is of the page the
            # patch comes from
            real = page if page is not None else np.asarray(self.store.scan(image))
            page = self.augmenter.page(real, self.seed, epoch, draw)
        if page is not None:
            scan = page[y : y + p, x : x + p]
            description = self.describe(page)
        else:
            scan = np.asarray(self.store.scan(image)[y : y + p, x : x + p])
            description = self._description(image)
        scan, clean = self.augmenter.apply(scan, clean, self.seed, epoch, draw, scan_only=False)
        pair = [torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in (scan, clean)]
        return (*pair, *(torch.from_numpy(a) for a in description))

    def __getitem__(self, item: tuple[int, int, int]) -> tuple[torch.Tensor, ...]:
        epoch, draw, row = item
        if self.describe is not None:
            return self._page_sample(epoch, draw, row)
        p = self.patch
        # Each stream its own generator, keyed by (seed, epoch, draw): synthetic scans or a
        # scan-only degradation change the scans and nothing else, the positions and the
        # geometry stay what they are without them.
        rng = self._position_rng.reseed(self.seed, epoch, draw)
        image, y, x = self._position(row, rng)
        # Plain arrays, not numpy.memmap slices: those run Python code (__array_finalize__) in
        # every numpy call the augmentation makes on them.
        scan = np.asarray(self.store.scan(image)[y : y + p, x : x + p])
        clean = np.asarray(self._clean_patch(image, y, x))
        if self.synthetic_p > 0:
            # A fresh generator, not a reseeded one: the simulator spawns child generators,
            # which a reseeded generator would give anew on every call.
            synth_rng = np.random.default_rng([self.seed, epoch, draw, SYNTHETIC])
            if synth_rng.random() < self.synthetic_p:
                scan = self._synthetic_scan(clean, synth_rng)
        scan, clean = self.augmenter.apply(scan, clean, self.seed, epoch, draw)
        # HWC -> CHW: one copy, and never a view of the read-only memory map.
        pair = (scan, clean)
        return tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in pair)


def draw_order(rows: int, samples: int, seed: int, epoch: int) -> np.ndarray:
    """The patch rows an epoch draws, in order: shuffles of all the rows one after another
    (every patch once before any twice), cut to `samples`; a function of (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    rounds = -(-samples // rows)
    return np.concatenate([rng.permutation(rows) for _ in range(rounds)])[:samples]


class EpochDraws(Sampler[tuple[int, int, int]]):
    """The epoch's (epoch, draw, row) items from draw `start` on: a resumed run skips the draws
    it has trained on without loading them. Every process draws the same sequence
    (ShardSampler deals it out); the epoch travels with each item, so no worker can hold a
    stale one."""

    def __init__(self, rows: int, samples: int, seed: int, epoch: int, start: int = 0) -> None:
        self.order = draw_order(rows, samples, seed, epoch)
        self.epoch = epoch
        self.start = start

    def __len__(self) -> int:
        return max(0, len(self.order) - self.start)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        for draw in range(self.start, len(self.order)):
            yield self.epoch, draw, int(self.order[draw])
