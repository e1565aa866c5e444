"""Stage 1: build a small dataset for the task in its layout, from packaged images.

Descanning (the default): data/demo/train/{scan,clean}, data/demo/test/scan, and the held-out
truth of the test set: data/demo/test/clean and data/demo/test/truth.csv in the submission
format. Names follow DESCAN-18K (`Title.page.crop`), training and test titles differ, and a
seed fixes every byte. The other tasks degrade the same pages their own way (core/task/degrade.py):
deblur in the GoPro layout (train/<title>/{blur,sharp}, test/<title>/{blur,sharp}), denoise,
deflare and sr (LR scans, HR cleans) in the same layout as descanning.
"""

from __future__ import annotations

import json
from pathlib import Path

from .core.config import cli
from .core.demo.dataset import MARKER, build, demo_settings, is_under, marker
from .core.util.errors import UserError
from .core.util.files import atomic_dir

DESCRIPTION = """\
Build the demo dataset at data.root (default data/demo): magazine-like pages composed from
images shipped with scikit-image and matplotlib, printed and scanned by the print-scan
simulator (preset demo.preset; the pages of one title share its paper, press and scanner).
Training and test pages come from different titles. Settings: demo.titles,
demo.pages_per_title, demo.test_pages, demo.size, demo.seed, demo.preset. An existing folder
that is not demo data is never touched.

demo.task (default: task.kind) picks the degradation instead of the print-scan simulator:
  deblur   motion blur (5-13 px lines) or defocus, slight noise; GoPro layout,
           train/<title>/{blur,sharp}, test/<title>/{blur,sharp}
  denoise  Gaussian noise, sigma 10-25 of 255
  deflare  veiling glare around a light source, bloom, contrast loss, slight noise
  sr       MATLAB-bicubic downscaling by task.scale (pages cut to a multiple of it):
           train/scan holds LR, train/clean HR
Every task keeps the test truth (test/clean, or test/<title>/sharp) so `score` can report
PSNR/SSIM. Point data.root at a folder of its own per task (e.g. data/demo_sr_x2)."""


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.make_demo", DESCRIPTION)
    parser.add_argument(
        "--if-needed",
        action="store_true",
        help="do nothing when data.root already holds this demo, or holds data that is not a "
        "demo; a missing data.root is built only under the working folder's data/ (what "
        "run_all.sh uses, so a mistyped dataset path is an error, not a new demo)",
    )
    args, cfg = cli.parse_config(parser, argv)
    out = Path(cfg.data.root)
    demo = demo_settings(cfg)
    marker_file = out / MARKER
    if out.exists() and any(out.iterdir()) and not marker_file.is_file():
        if args.if_needed:
            print(f"make_demo: {out} holds a dataset that is not the demo; using it as it is")
            return 0
        raise UserError(f"data.root: {out} exists and is not demo data; refusing to overwrite it")
    if (
        args.if_needed
        and marker_file.is_file()
        and json.loads(marker_file.read_text()) == marker(demo)
    ):
        print(f"make_demo: {out} is up to date")
        return 0
    if args.if_needed and not out.exists() and not is_under(out, Path.cwd() / "data"):
        raise UserError(
            f"data.root: {out} not found; point it at a competition folder "
            "(train/scan, train/clean, test/scan)"
        )
    with atomic_dir(out) as tmp:
        truth = build(tmp, demo)
    n_train = demo["titles"] * demo["pages_per_title"]
    if "task" not in demo:
        print(f"make_demo: {n_train} training pairs, {len(truth)} test scans -> {out}")
    else:
        n_test = demo["test_pages"]
        print(f"make_demo: {demo['task']}: {n_train} training pairs, {n_test} test inputs -> {out}")
    return 0


if __name__ == "__main__":
    cli.run(main)
