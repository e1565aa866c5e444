"""Preparing a dataset, what `prepare` does: the training pairs checked and decoded once into
a patch store with its folds (kept as it is when up to date), the test inputs checked."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from omegaconf import DictConfig

from ..util.errors import UserError
from ..util.images import read_rgb
from ..util.progress import progress
from .folds import assign_folds, grouping, title_of
from .layout import held_out_inputs, resolve_layout, training_pairs
from .store import build_store, fingerprint, store_dir

MIN_PATCH = 16  # below this a 4-level U-Net has nothing left at its bottleneck


def check_test_inputs(cfg: DictConfig) -> int:
    """The test inputs `infer` will restore: their folder exists, holds images, and each
    decodes as an 8-bit RGB image (found now, not after hours of training). Returns their
    count."""
    inputs = held_out_inputs(cfg)
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        for _ in progress(
            pool.map(read_rgb, inputs.values()), total=len(inputs), desc="check test", unit="img"
        ):
            pass
    return len(inputs)


def prepare_store(cfg: DictConfig, force: bool, say: Callable[[str], None]) -> None:
    """Build the store of cfg's training pairs under data.prepared, unless one is up to date
    and not `force`; check the test inputs. `say` gets each line to print."""
    p = cfg.prepare
    pairs = training_pairs(cfg)
    smallest = min(pairs, key=lambda pair: min(pair.height, pair.width))
    patch_size = min(p.patch_size, smallest.height, smallest.width)
    if patch_size < MIN_PATCH:
        raise UserError(
            f"{smallest.scan}: {smallest.width}x{smallest.height} is too small to train on "
            f"(patches need at least {MIN_PATCH} pixels a side)"
        )
    if patch_size < p.patch_size:
        say(
            f"prepare: {smallest.scan.name} is {smallest.width}x{smallest.height}, smaller than "
            f"prepare.patch_size={p.patch_size}; using {patch_size}px patches"
        )
    tests = check_test_inputs(cfg)
    stems = [pair.stem for pair in pairs]
    group = grouping(stems, p.folds, p.group)
    if group == "image" and p.group == "auto":
        say(
            f"prepare: the file names carry fewer than {p.folds} magazine titles; "
            "folds are split by image"
        )
    settings = {
        "patch_size": patch_size,
        "stride": p.stride,
        "folds": p.folds,
        "group": group,
        "seed": p.seed,
    }
    if cfg.task.scale > 1:  # patches in LR pixels; the HR patch is scale times larger
        settings["scale"] = cfg.task.scale
    settings["fingerprint"] = fingerprint(pairs, settings)
    out = store_dir(cfg)
    manifest_path = out / "manifest.json"
    if not force and manifest_path.is_file():
        old = json.loads(manifest_path.read_text())
        if old.get("fingerprint") == settings["fingerprint"]:
            say(
                f"prepare: {out} is up to date ({old['images']} pairs, {old['patches']} patches); "
                f"{tests} test inputs"
            )
            return
    fold_of = assign_folds(stems, p.folds, p.seed, group)
    titles = {stem: title_of(stem) for stem in stems}
    manifest = build_store(out, pairs, fold_of, titles, patch_size, p.stride, settings)
    folds = ", ".join(
        f"fold {f['fold']}: {f['images']} images / {len(f['titles'])} titles"
        for f in manifest["folds"]
    )
    layout = resolve_layout(cfg)
    if layout != "pairs" or cfg.task.scale > 1:
        say(f"prepare: {layout} layout, task {cfg.task.kind}, scale {cfg.task.scale}")
    say(
        f"prepare: {manifest['images']} pairs ({', '.join(manifest['sizes'])}), "
        f"{manifest['patches']} patches of {patch_size}px -> {out}\n"
        f"prepare: {folds}\n"
        f"prepare: {tests} test inputs, each a readable 8-bit image"
    )
