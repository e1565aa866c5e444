"""Stage 2: validate the training pairs, decode them once into a patch store, assign folds."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

from .core.config import cli
from .core.data.folds import assign_folds, grouping, title_of
from .core.data.layout import held_out_inputs, resolve_layout, training_pairs
from .core.data.store import build_store, fingerprint, store_dir
from .core.util.errors import UserError
from .core.util.images import read_rgb
from .core.util.progress import progress

MIN_PATCH = 16  # below this a 4-level U-Net has nothing left at its bottleneck

DESCRIPTION = """\
Pair data.root/train/scan with data.root/train/clean by file stem (PNG, JPEG, TIFF, BMP),
check every pair (partners, sizes, readable 8-bit images), decode each image once into a
memory-mapped patch store under data.prepared, and assign k folds grouped by magazine title
(the part of the stem before the first dot; by single image when the names carry fewer titles
than folds, or with prepare.group=image). Patches are prepare.patch_size pixels, or the
smallest image side when an image is smaller. Writes manifest.json with counts, sizes and
folds. An up-to-date store is kept as it is. The test inputs (data.root/test/scan, or the
gopro layout's test/<sequence>/blur) are checked too: the folder exists, holds images, and
each decodes as an 8-bit image, so a broken test set is found before the training.

The store's folder name carries a hash of everything that shapes its content and folds (the
data folder's full path, prepare.seed, prepare.group, the patch settings, the layout): other
settings make another store, so re-preparing never changes the folds an experiment was
trained on, and two datasets in folders of the same name never share a store.

task.scale=S (task.kind=sr): train/scan holds the low-resolution inputs and train/clean the
high-resolution targets, each exactly S times the input's size (an error names the file
otherwise); patches are counted in input pixels, the target patch is S times larger.
data.layout=gopro (or auto with task.kind=deblur and no train/scan): pairs are
train/<sequence>/blur with train/<sequence>/sharp, named <sequence>.<frame>, and folds keep
a sequence together."""


def check_test_inputs(cfg) -> int:
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


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.prepare", DESCRIPTION)
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if the store is up to date"
    )
    args, cfg = cli.parse_config(parser, argv)
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
        print(
            f"prepare: {smallest.scan.name} is {smallest.width}x{smallest.height}, smaller than "
            f"prepare.patch_size={p.patch_size}; using {patch_size}px patches"
        )
    tests = check_test_inputs(cfg)
    stems = [pair.stem for pair in pairs]
    group = grouping(stems, p.folds, p.group)
    if group == "image" and p.group == "auto":
        print(
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
    if not args.force and manifest_path.is_file():
        old = json.loads(manifest_path.read_text())
        if old.get("fingerprint") == settings["fingerprint"]:
            print(
                f"prepare: {out} is up to date ({old['images']} pairs, {old['patches']} patches); "
                f"{tests} test inputs"
            )
            return 0
    fold_of = assign_folds(stems, p.folds, p.seed, group)
    titles = {stem: title_of(stem) for stem in stems}
    manifest = build_store(out, pairs, fold_of, titles, patch_size, p.stride, settings)
    folds = ", ".join(
        f"fold {f['fold']}: {f['images']} images / {len(f['titles'])} titles"
        for f in manifest["folds"]
    )
    layout = resolve_layout(cfg)
    if layout != "pairs" or cfg.task.scale > 1:
        print(f"prepare: {layout} layout, task {cfg.task.kind}, scale {cfg.task.scale}")
    print(
        f"prepare: {manifest['images']} pairs ({', '.join(manifest['sizes'])}), "
        f"{manifest['patches']} patches of {patch_size}px -> {out}\n"
        f"prepare: {folds}\n"
        f"prepare: {tests} test inputs, each a readable 8-bit image"
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
