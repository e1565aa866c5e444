"""Stage 2: validate the training pairs, decode them once into a patch store, assign folds."""

from __future__ import annotations

from .core.config import cli
from .core.data.prepare import prepare_store

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


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.prepare", DESCRIPTION)
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if the store is up to date"
    )
    args, cfg = cli.parse_config(parser, argv)
    prepare_store(cfg, args.force, say=print)
    return 0


if __name__ == "__main__":
    cli.run(main)
