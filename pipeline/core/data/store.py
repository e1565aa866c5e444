"""The prepared patch store: every training pair decoded once into one memory-mapped file.

Layout of a store folder:
  pixels.u8      uint8 bytes; for each image, its scan (HxWx3 RGB) then its clean
                 (sH x sW x 3, s = settings["scale"], 1 but for super-resolution)
  images.json    per image: stem, title, fold, size, byte offsets, source files
  patches.npy    int32 rows (image index, y, x): top-left corners of the training patches,
                 in scan pixels (the clean patch starts at s*y, s*x)
  manifest.json  counts, sizes, folds and the settings and fingerprint the store was built from
Training slices patches straight out of the memory map, so no file is decoded twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ..util.errors import UserError
from ..util.files import atomic_dir
from ..util.images import read_rgb
from ..util.progress import progress

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ImageRecord:
    stem: str
    title: str
    fold: int
    height: int
    width: int
    scan_offset: int
    clean_offset: int
    scan_file: str
    clean_file: str


@dataclass(frozen=True)
class Pair:
    stem: str
    scan: Path
    clean: Path
    height: int
    width: int


def grid_starts(length: int, patch: int, stride: int) -> list[int]:
    """Patch starts along one axis: every `stride` pixels, plus one flush with the far edge so
    the whole image is covered."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def fingerprint(pairs: list[Pair], settings: dict) -> str:
    """Changes whenever a source file or a setting that shapes the store changes."""
    h = hashlib.sha1(json.dumps({"v": FORMAT_VERSION, **settings}, sort_keys=True).encode())
    for pair in pairs:
        for path in (pair.scan, pair.clean):
            st = path.stat()
            h.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def build_store(
    out_dir: Path,
    pairs: list[Pair],
    fold_of: dict[str, int],
    titles: dict[str, str],
    patch_size: int,
    stride: int,
    settings: dict,
    workers: int | None = None,
) -> dict:
    """Decode every pair into a new store at `out_dir`, replacing an old one only on success.

    Returns the manifest. Raises UserError (leaving `out_dir` untouched) when a file cannot be
    decoded or decodes to another size than its header promised.
    """
    records: list[ImageRecord] = []
    offset = 0
    scale = settings.get("scale", 1)
    for pair in pairs:
        nbytes = pair.height * pair.width * 3
        clean_bytes = nbytes * scale * scale
        records.append(
            ImageRecord(
                stem=pair.stem,
                title=titles[pair.stem],
                fold=fold_of[pair.stem],
                height=pair.height,
                width=pair.width,
                scan_offset=offset,
                clean_offset=offset + nbytes,
                scan_file=str(pair.scan),
                clean_file=str(pair.clean),
            )
        )
        offset += nbytes + clean_bytes

    with atomic_dir(out_dir) as tmp:
        pixels = np.memmap(tmp / "pixels.u8", dtype=np.uint8, mode="w+", shape=(max(offset, 1),))

        def decode(i: int) -> int:
            rec = records[i]
            for path, start, s in (
                (rec.scan_file, rec.scan_offset, 1),
                (rec.clean_file, rec.clean_offset, scale),
            ):
                rgb = read_rgb(path)
                if rgb.shape[:2] != (rec.height * s, rec.width * s):
                    raise UserError(
                        f"{path}: decodes to {rgb.shape[1]}x{rgb.shape[0]}, "
                        f"header says {rec.width * s}x{rec.height * s}"
                    )
                pixels[start : start + rgb.size] = rgb.reshape(-1)
            return i

        workers = workers or min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            for _ in progress(
                pool.map(decode, range(len(records))),
                total=len(records),
                desc="decode pairs",
                unit="pair",
            ):
                pass
        pixels.flush()

        rows = []
        for i, rec in enumerate(records):
            for y in grid_starts(rec.height, patch_size, stride):
                for x in grid_starts(rec.width, patch_size, stride):
                    rows.append((i, y, x))
        patches = np.asarray(rows, dtype=np.int32).reshape(-1, 3)
        np.save(tmp / "patches.npy", patches)
        (tmp / "images.json").write_text(json.dumps([asdict(r) for r in records], indent=1))

        k = settings["folds"]
        image_fold = np.array([r.fold for r in records], dtype=np.int64)
        fold_images = np.bincount(image_fold, minlength=k)
        fold_patches = np.bincount(image_fold[patches[:, 0]], minlength=k)
        sizes = sorted({f"{r.width}x{r.height}" for r in records})
        manifest = {
            "format": FORMAT_VERSION,
            "images": len(records),
            "patches": len(patches),
            "bytes": offset,
            "sizes": sizes,
            "titles": len(set(titles.values())),
            "folds": [
                {
                    "fold": f,
                    "images": int(fold_images[f]),
                    "patches": int(fold_patches[f]),
                    "titles": sorted({r.title for r in records if r.fold == f}),
                }
                for f in range(k)
            ],
            "settings": settings,
            "fingerprint": settings.get("fingerprint", ""),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def store_identity(cfg: DictConfig) -> dict:
    """Everything in the config that changes a store's content or its folds."""
    d, p = cfg.data, cfg.prepare
    return {
        "root": str(Path(d.root).resolve()),
        "layout": d.layout,
        "train_scan": d.train_scan,
        "train_clean": d.train_clean,
        "scale": cfg.task.scale,
        "patch_size": p.patch_size,
        "stride": p.stride,
        "folds": p.folds,
        "group": p.group,
        "seed": p.seed,
    }


def store_dir(cfg: DictConfig) -> Path:
    """The folder of the store that prepare builds for `cfg` (under data.prepared): named
    after the data folder and the patch settings, and a hash of everything that changes the
    store's content or folds (the data's full path, the fold seed and grouping, ...), so two
    datasets or two fold assignments never share a store, and re-preparing with other
    settings never changes the folds an experiment was trained on. prepare.name overrides."""
    p = cfg.prepare
    if p.name:
        return Path(cfg.data.prepared) / p.name
    key = hashlib.sha1(json.dumps(store_identity(cfg), sort_keys=True).encode()).hexdigest()
    name = f"{Path(cfg.data.root).resolve().name}-p{p.patch_size}-s{p.stride}-k{p.folds}"
    if cfg.task.scale > 1:
        name += f"-x{cfg.task.scale}"
    return Path(cfg.data.prepared) / f"{name}-{key[:8]}"


def check_trained_folds(
    store: PairStore, trained: dict[str, int] | None, path: str | Path, experiment: str, remedy: str
) -> None:
    """Refuse weights trained on other folds than `store` holds (`trained`: the fold of each
    image, as their checkpoint records it): the store's held-out images would include images
    they trained on. `path` names the checkpoint; `remedy` ends the message (what the stage
    can do about it, after the punctuation that leads to it)."""
    if trained != store.fold_map():
        raise UserError(
            f"{path}: experiment '{experiment}' was trained on other folds than store "
            f"{store.root} holds (the data or prepare.* changed since){remedy}"
        )


class PairStore:
    """Read access to a prepared store. The memory map opens lazily, so a store can be handed
    to DataLoader worker processes without copying pixels."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        manifest = self.root / "manifest.json"
        if not manifest.is_file():
            raise UserError(
                f"{self.root}: no prepared store here; run `python -m pipeline.prepare` first"
            )
        self.manifest = json.loads(manifest.read_text())
        if self.manifest.get("format") != FORMAT_VERSION:
            raise UserError(
                f"{self.root}: store of another format; run `python -m pipeline.prepare` again"
            )
        self.images = [
            ImageRecord(**r) for r in json.loads((self.root / "images.json").read_text())
        ]
        self.patches = np.load(self.root / "patches.npy")
        self._pixels: np.memmap | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_pixels"] = None
        return state

    @property
    def pixels(self) -> np.memmap:
        if self._pixels is None:
            self._pixels = np.memmap(self.root / "pixels.u8", dtype=np.uint8, mode="r")
        return self._pixels

    @property
    def folds(self) -> int:
        return len(self.manifest["folds"])

    @property
    def scale(self) -> int:
        """Clean side / scan side: task.scale when the store was prepared."""
        return int(self.manifest["settings"].get("scale", 1))

    def _image(self, i: int, offset: int, scale: int) -> np.ndarray:
        rec = self.images[i]
        h, w = rec.height * scale, rec.width * scale
        return self.pixels[offset : offset + h * w * 3].reshape(h, w, 3)

    def scan(self, i: int) -> np.ndarray:
        return self._image(i, self.images[i].scan_offset, 1)

    def clean(self, i: int) -> np.ndarray:
        return self._image(i, self.images[i].clean_offset, self.scale)

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    def fold_map(self) -> dict[str, int]:
        """Each image's fold, by stem: what a checkpoint records of the store it trained on."""
        return {r.stem: r.fold for r in self.images}

    def image_indices(self, folds: list[int]) -> list[int]:
        return [i for i, r in enumerate(self.images) if r.fold in folds]

    def patch_rows(self, folds: list[int]) -> np.ndarray:
        """The patches of the images that sit in `folds`."""
        in_folds = np.array([r.fold in folds for r in self.images], dtype=bool)
        return self.patches[in_folds[self.patches[:, 0]]]
