"""Pairing scans with their clean originals by file stem, checked before anything is written;
the layouts a dataset may come in (input/target folders, or GoPro sequences)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from ..util.errors import UserError, first_names
from ..util.images import image_size, list_images
from .store import Pair, PairStore, fingerprint, store_dir


def data_path(cfg: DictConfig, key: str) -> Path:
    """A path under data.root (`train_scan`, `train_clean`, `test_scan`, `test_truth`)."""
    return Path(cfg.data.root) / cfg.data[key]


def pair_folders(scan_dir: str | Path, clean_dir: str | Path, scale: int = 1) -> list[Pair]:
    """Pairs sorted by stem. Every scan needs a clean image of the same stem and size
    (`scale` times the scan's size for super-resolution), and the other way round."""
    scans = list_images(scan_dir, "scans")
    cleans = list_images(clean_dir, "clean images")
    if scans.keys() - cleans.keys():
        raise UserError(
            f"{clean_dir}: no clean image for scan(s) {first_names(scans.keys() - cleans.keys())}"
        )
    if cleans.keys() - scans.keys():
        raise UserError(
            f"{scan_dir}: no scan for clean image(s) {first_names(cleans.keys() - scans.keys())}"
        )
    pairs = []
    for stem in sorted(scans):
        sh, sw = image_size(scans[stem])
        ch, cw = image_size(cleans[stem])
        if (ch, cw) != (sh * scale, sw * scale):
            expected = "the same size" if scale == 1 else f"{scale}x the scan's size"
            raise UserError(
                f"{scans[stem]}: scan is {sw}x{sh} but clean {cleans[stem].name} is {cw}x{ch} "
                f"(expected {expected})"
            )
        pairs.append(Pair(stem=stem, scan=scans[stem], clean=cleans[stem], height=sh, width=sw))
    return pairs


# The GoPro deblurring layout: ROOT/train/<sequence>/{blur,sharp}/<frame>.png and
# ROOT/test/<sequence>/blur (sharp too when the truth is known). Frame names repeat across
# sequences, so a pair's stem is "<sequence>.<frame>": unique, and its title (the part before
# the first dot) is the sequence, so folds keep a sequence's frames together.
GOPRO_INPUT, GOPRO_TARGET = "blur", "sharp"


def resolve_layout(cfg: DictConfig) -> str:
    """ "pairs" or "gopro": data.layout, or for auto, gopro when the task is deblurring and
    train/scan is absent but some train/<sequence>/blur exists."""
    if cfg.data.layout != "auto":
        return cfg.data.layout
    from ..task.task import Task  # here: the task module imports torch

    if not Task.of(cfg).reads_gopro or data_path(cfg, "train_scan").is_dir():
        return "pairs"
    train = Path(cfg.data.root) / "train"
    has_sequences = train.is_dir() and any((d / GOPRO_INPUT).is_dir() for d in train.iterdir())
    return "gopro" if has_sequences else "pairs"


def _sequences(split_dir: Path, sub: str) -> list[Path]:
    if not split_dir.is_dir():
        raise UserError(f"{split_dir}: folder not found (gopro layout: <sequence>/{sub})")
    seqs = sorted(d for d in split_dir.iterdir() if d.is_dir() and (d / sub).is_dir())
    if not seqs:
        raise UserError(f"{split_dir}: no <sequence>/{sub} folders (gopro layout)")
    return seqs


def sequence_images(split_dir: str | Path, sub: str = GOPRO_INPUT) -> dict[str, Path]:
    """Every image of split_dir/<sequence>/<sub>, by stem "<sequence>.<frame>"."""
    images = {}
    for seq in _sequences(Path(split_dir), sub):
        if "." in seq.name:
            raise UserError(f"{seq}: sequence names may not contain '.' (it separates the stem)")
        for stem, path in list_images(seq / sub, f"{sub} images").items():
            images[f"{seq.name}.{stem}"] = path
    return images


def gopro_pairs(split_dir: str | Path) -> list[Pair]:
    """(blur, sharp) pairs of every sequence under split_dir, sorted by stem, checked as
    pair_folders checks them."""
    split_dir = Path(split_dir)
    pairs = []
    for seq in _sequences(split_dir, GOPRO_INPUT):
        for pair in pair_folders(seq / GOPRO_INPUT, seq / GOPRO_TARGET):
            pairs.append(
                Pair(f"{seq.name}.{pair.stem}", pair.scan, pair.clean, pair.height, pair.width)
            )
    return sorted(pairs, key=lambda p: p.stem)


def training_pairs(cfg: DictConfig) -> list[Pair]:
    """The training pairs of data.root in its layout (for sr: LR scans, HR cleans)."""
    if resolve_layout(cfg) == "gopro":
        return gopro_pairs(Path(cfg.data.root) / "train")
    return pair_folders(data_path(cfg, "train_scan"), data_path(cfg, "train_clean"), cfg.task.scale)


def held_out_inputs(cfg: DictConfig) -> dict[str, Path]:
    """The images `infer` restores, by output stem."""
    if resolve_layout(cfg) == "gopro":
        return sequence_images(Path(cfg.data.root) / "test", GOPRO_INPUT)
    return list_images(data_path(cfg, "test_scan"), "test scans")


def held_out_targets(cfg: DictConfig) -> dict[str, Path] | None:
    """The held-out truth of the test inputs when it is there (the demos have it): test/clean,
    or test/<sequence>/sharp; None otherwise."""
    if resolve_layout(cfg) == "gopro":
        test = Path(cfg.data.root) / "test"
        if not any((d / GOPRO_TARGET).is_dir() for d in test.iterdir() if d.is_dir()):
            return None
        return sequence_images(test, GOPRO_TARGET)
    clean = data_path(cfg, "test_scan").parent / "clean"
    return list_images(clean, "test clean images") if clean.is_dir() else None


def open_store(cfg: DictConfig) -> PairStore:
    """The store `prepare` built for this config, checked against it and against the
    training images under data.root now: images added, removed or rewritten since the store
    was built are an error, not stale data to train or score on."""
    store = PairStore(store_dir(cfg))
    if store.folds != cfg.prepare.folds:
        raise UserError(
            f"{store.root}: store has {store.folds} folds but prepare.folds={cfg.prepare.folds}; "
            "run `python -m pipeline.prepare` with this config"
        )
    if store.scale != cfg.task.scale:
        raise UserError(
            f"{store.root}: prepared for scale {store.scale}, but task.scale={cfg.task.scale}; "
            "run `python -m pipeline.prepare` with this config"
        )
    settings = {k: v for k, v in store.manifest["settings"].items() if k != "fingerprint"}
    if fingerprint(training_pairs(cfg), settings) != store.fingerprint:
        raise UserError(
            f"{cfg.data.root}: the training images changed since {store.root} was prepared "
            "(files added, removed or rewritten); run `python -m pipeline.prepare` again"
        )
    return store
