"""Study folders whose scans the print-scan simulator did not make:
`python -m pipeline.bench study-sets OUT --kind stains|tones`.

The clean pages are the demo's (`compose_page`, or `compose_other` with --pages other); the
scans come from degradations written here, apart from `pipeline.synth`, with every setting
drawn page by page (no title shares a scanner), so a default tuned on the simulator meets
damage it has not seen:

- stains: the damage old paper shows where it sits, which moves a page's mean Y locally:
  coffee rings and blotches, a fold with its shadow, the back page bleeding through, yellowed
  paper darker towards one edge; then a gamma and black level, blur, noise and JPEG.
- tones: global damage of another shape than the simulator's: a random monotone tone curve per
  channel (five knots), channel cross-talk, vignetting, an over-sharpening halo, a resampling
  blur, noise and JPEG.

The folder is in the competition layout with its test truth (test/clean, test/truth.csv), and
training and test titles differ, as `make_demo` writes it; the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..core.config import cli
from ..core.demo.dataset import page_stem, title_names, write_pair
from ..core.demo.pages import compose_other, compose_page, other_style, title_style
from ..core.task.submission import format_csv
from ..core.util.errors import UserError
from ..core.util.progress import progress

DESCRIPTION = """\
Build a study folder whose scans are degraded apart from the project's simulator (--kind
stains: local damage, coffee rings, blotches, folds, bleed-through; --kind tones: random tone
curves per channel, cross-talk, vignetting, halos), on the demo's clean pages, in the
competition layout with the test truth. Deterministic for a seed.

  python -m pipeline.bench study-sets data/study_stains --kind stains --titles 24
  python -m pipeline.bench study-sets data/study_tones --kind tones --titles 10 --pages other
  bash run_all.sh data.root=data/study_stains"""

MARKER = ".study.json"


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """A smooth random field in [0, 1]: coarse noise, upsampled by cubic interpolation."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = field.min(), field.max()
    return (field - lo) / max(hi - lo, 1e-6)


def _finish(img: np.ndarray, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    """Blur, sensor noise and JPEG: the same last steps for both kinds, settings drawn here."""
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
    out = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    quality = int(rng.integers(55, 96))
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()


def stains(clean: np.ndarray, back: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Old paper: yellowing with a gradient, the back page showing through, a fold, blotches
    and coffee rings (darkening multiplicatively where they sit), then tone, blur, noise, JPEG."""
    h, w = clean.shape[:2]
    img = clean.astype(np.float32) / 255.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # bleed-through: the back page, mirrored, darkens the paper where it has ink
    ink = 1.0 - back[:, ::-1].astype(np.float32).mean(axis=2, keepdims=True) / 255.0
    img = img * (1.0 - rng.uniform(0.0, 0.25) * cv2.GaussianBlur(ink, (0, 0), 1.5)[..., None])
    # yellowed paper, more towards one edge
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1.0) / 2.0
    tint = np.array([1.0, rng.uniform(0.88, 0.99), rng.uniform(0.7, 0.95)], np.float32)
    amount = rng.uniform(0.2, 1.0) * (0.4 + 0.6 * ramp)[..., None]
    img = img * (1.0 - amount * (1.0 - tint))
    # blotches: a thresholded smooth field, soft-edged, brownish
    for _ in range(rng.integers(0, 3)):
        field = _smooth_field(rng, h, w, int(rng.integers(3, 7)))
        mask = np.clip((field - rng.uniform(0.65, 0.85)) * 8.0, 0.0, 1.0)[..., None]
        colour = np.array([0.75, 0.62, 0.45], np.float32) * rng.uniform(0.8, 1.1)
        img = img * (1.0 - mask * rng.uniform(0.15, 0.5) * (1.0 - colour))
    # coffee rings: an ellipse's rim darker than its inside
    for _ in range(rng.integers(0, 3)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.08, 0.3) * min(h, w)
        d = np.hypot((xx - cx) / rng.uniform(0.8, 1.25), yy - cy) / r
        rim = np.exp(-(((d - 1.0) / 0.06) ** 2)) + 0.35 * (d < 1.0)
        colour = np.array([0.7, 0.5, 0.3], np.float32)
        img = img * (1.0 - rng.uniform(0.2, 0.6) * rim[..., None] * (1.0 - colour))
    # a fold: a dark line with a shadow falling off to one side
    if rng.random() < 0.6:
        vertical = rng.random() < 0.5
        pos = rng.uniform(0.25, 0.75) * (w if vertical else h)
        dist = (xx if vertical else yy) - pos
        shade = 0.25 * np.exp(-np.abs(dist) / 1.5) + 0.12 * np.exp(-np.maximum(dist, 0) / 12.0)
        img = img * (1.0 - rng.uniform(0.4, 1.0) * shade[..., None])
    # the scanner's tone: gamma and a black level
    black = rng.uniform(0.0, 0.12)
    img = black + (1.0 - black) * np.clip(img, 0, 1) ** rng.uniform(0.8, 1.5)
    return _finish(img, rng, rng.uniform(0.0, 1.2), rng.uniform(0.005, 0.03))


def _tone_curve(rng: np.random.Generator) -> np.ndarray:
    """A random monotone curve from [0, 1] to [lo, hi]: five knots with random increments."""
    steps = rng.gamma(2.0, 1.0, 5)
    knots = np.concatenate([[0.0], np.cumsum(steps) / steps.sum()])
    lo, hi = rng.uniform(0.0, 0.15), rng.uniform(0.8, 1.0)
    return lo + (hi - lo) * knots


def tones(clean: np.ndarray, back: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another scanner: cross-talk between channels, a tone curve per channel, vignetting, an
    over-sharpening halo, a resampling blur, noise and JPEG. `back` is not used."""
    h, w = clean.shape[:2]
    img = clean.astype(np.float32) / 255.0
    mix = np.eye(3, dtype=np.float32) + rng.uniform(-0.12, 0.12, (3, 3)).astype(np.float32)
    img = np.clip(img @ (mix / mix.sum(axis=1, keepdims=True)).T, 0, 1)
    xs = np.linspace(0, 1, 6)
    img = np.stack([np.interp(img[..., c], xs, _tone_curve(rng)) for c in range(3)], axis=-1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (0.5 * (h * h + w * w))
    img = img * (1.0 - rng.uniform(0.0, 0.35) * r2)[..., None]
    img = img.astype(np.float32)
    amount = rng.uniform(0.0, 1.2)  # unsharp masking: halos around edges
    img = img + amount * (img - cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 2.5)))
    factor = rng.uniform(0.5, 0.9)  # down and up again: the resolution is lost
    small = cv2.resize(
        img, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA
    )
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return _finish(img, rng, 0.0, rng.uniform(0.005, 0.025))


KINDS: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]] = {
    "stains": stains,
    "tones": tones,
}


def build(
    out: Path,
    kind: str,
    titles: int,
    pages: int,
    test_titles: int,
    test_pages: int,
    size: int,
    seed: int,
    page_kind: str = "magazine",
) -> dict[str, float]:
    """Write the folder into `out` (made here, must not exist); returns the test truth."""
    degrade = KINDS[kind]
    names = title_names(titles + test_titles)
    jobs = [(t, pages, "train") for t in names[:titles]]
    jobs += [(t, test_pages, "test") for t in names[titles:]]
    for sub in ("train/scan", "train/clean", "test/scan", "test/clean"):
        (out / sub).mkdir(parents=True)
    other = page_kind == "other"
    truth = {}
    bar = progress(total=sum(n for _, n, _ in jobs), desc=f"{kind} pages", unit="page")
    for t_index, (title, n, split) in enumerate(jobs):
        rng = np.random.default_rng([seed, t_index, 17])
        style = other_style(rng) if other else title_style(rng)
        compose = compose_other if other else compose_page
        cleans = [compose(rng, style, title, page + 1, size) for page in range(n + 1)]
        for page in range(n):
            scan = degrade(cleans[page], cleans[page + 1], rng)
            write_pair(out, split, page_stem(title, page), scan, cleans[page], truth)
            bar.update()
    bar.close()
    (out / "test" / "truth.csv").write_text(format_csv(truth))
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench study-sets",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, help="the folder to write (must not exist)")
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--titles", type=int, default=10, help="training titles (10)")
    parser.add_argument("--pages", type=int, default=4, help="training pages per title (4)")
    parser.add_argument("--test-titles", type=int, default=4, help="test titles (4)")
    parser.add_argument("--test-pages", type=int, default=4, help="test pages per title (4)")
    parser.add_argument("--size", type=int, default=256, help="page side in pixels (256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--page-kind",
        choices=["magazine", "other"],
        default="magazine",
        help="the demo's magazine pages, or its other pages (textures, coins, text scans)",
    )
    args = parser.parse_args(argv)
    counts = (args.titles, args.pages, args.test_titles, args.test_pages)
    if min(counts) < 1:
        raise UserError("--titles, --pages, --test-titles, --test-pages: each must be >= 1")
    if args.size < 64:
        raise UserError(f"--size: at least 64 pixels, got {args.size}")
    if args.out.exists():
        raise UserError(f"{args.out}: exists; give a new folder (nothing was written)")
    tmp = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    truth = build(tmp, args.kind, *counts, args.size, args.seed, args.page_kind)
    (tmp / MARKER).write_text(json.dumps(settings, indent=1))
    tmp.rename(args.out)
    n_train = args.titles * args.pages
    print(
        f"study-sets: {args.out}: {n_train} training pairs over {args.titles} titles, "
        f"{len(truth)} test pages over {args.test_titles} other titles ({args.kind})"
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
