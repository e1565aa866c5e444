"""How often the ladder's 95% intervals hold the error they claim to bound:
`python -m pipeline.bench coverage`.

For each generator setting (a simulator preset and a seed), a population of titles is drawn
once: demo pages (`compose_page`, a style per title) scanned by the simulator with the title's
shared settings, as `make_demo` builds them, but small. Each simulated competition draws N of
those titles; its ladder is scored out of fold on 3 folds by title, with its interval, as
`baselines` scores a folder; the same rungs fitted on all N titles are then scored on every
title of the population the set did not draw: the error a leaderboard would show, on a test
set as large as the population. The table gives, per rung and N, the share of sets whose
interval holds that error (target: 95%), and how often it falls below or above.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..core.config import cli
from ..core.data.folds import assign_folds
from ..core.demo.dataset import scan_title
from ..core.demo.pages import compose_page, title_style
from ..core.scoring.ladder import RUNGS, Ladder, Page, pages_out_of_fold
from ..core.synth import make_ranges
from ..core.util.progress import progress

DESCRIPTION = """\
The coverage of the ladder's 95% intervals (a bootstrap over titles, widened for few titles) on
many small simulated competitions: per rung and number of training titles, the share of sets
whose CV interval holds the rung's error on a large population of other titles from the same
generator. Seconds per set; prints a markdown table (docs/studies.md has one)."""


@dataclass
class Population:
    """The pages of many titles from one generator setting: the ladder's numbers of each, and
    the scans (small) for the colour map."""

    name: str
    pages: list[Page]
    scans: list[np.ndarray]

    def titles(self) -> list[str]:
        return sorted({p.title for p in self.pages})


def population(preset: str, seed: int, titles: int, pages: int, size: int) -> Population:
    """`titles` titles of `pages` pairs each (`size` px), scanned with the preset's ranges."""
    rng = np.random.default_rng(seed)
    ranges = make_ranges(preset)
    kept, scans = [], []
    for t in progress(range(titles), desc=f"population {preset}/{seed}", leave=False):
        name = f"{preset[:3].upper()}{seed}x{t:03d}"
        style = title_style(rng)
        cleans = [compose_page(rng, style, name, n, size) for n in range(pages + 1)]
        for n, scan in enumerate(scan_title(cleans, rng, ranges)):
            kept.append(Page.of(f"{name}.{n + 1:05d}.01", name, -1, scan, cleans[n]))
            scans.append(scan)
    return Population(f"{preset} (seed {seed})", kept, scans)


def one_set(pop: Population, drawn: list[str]) -> dict[str, dict[str, float]]:
    """The ladder of the drawn titles, out of fold on 3 folds by title (its CV interval per
    rung), and the same rungs fitted on all of them, scored on every other title."""
    chosen = set(drawn)
    index = [i for i, p in enumerate(pop.pages) if p.title in chosen]
    stems = [pop.pages[i].stem for i in index]
    folds = assign_folds(stems, 3, seed=0, group="title")
    pages = [Page(**{**pop.pages[i].__dict__, "fold": folds[pop.pages[i].stem]}) for i in index]
    cv = pages_out_of_fold(pages, lambda k: pop.scans[index[k]])
    rest = [i for i, p in enumerate(pop.pages) if p.title not in chosen]
    ladder = Ladder(pages)
    held = [pop.pages[i] for i in rest]
    predicted = ladder.predict(held)
    predicted["colormap"] = [ladder.colour_mapped(pop.scans[i]) for i in rest]
    truth = np.array([p.clean_y for p in held])
    out = {}
    for rung in RUNGS:
        error = float(np.mean(np.abs(np.asarray(predicted[rung]) - truth)))
        interval = cv["intervals"][rung]
        out[rung] = {"cv": cv["cv"][rung], "population": error, **interval}
    return out


def coverage(
    presets: list[str],
    seeds: list[int],
    sizes: list[int],
    sets: int,
    pool: int,
    pages: int,
    side: int,
) -> dict[int, dict[str, dict[str, float]]]:
    """Per number of titles and rung: the share of sets whose interval holds the population's
    error (`covered`), falls short of it (`below`) or lies above it (`above`), and the sets."""
    tally: dict[int, dict[str, list[int]]] = {n: {r: [] for r in RUNGS} for n in sizes}
    pops = [population(p, s, pool, pages, side) for p in presets for s in seeds]
    draws = np.random.default_rng(12345)
    jobs = [(n, pop) for n in sizes for pop in pops for _ in range(sets)]
    for n, pop in progress(jobs, desc="coverage sets"):
        drawn = list(draws.choice(pop.titles(), size=n, replace=False))
        for rung, r in one_set(pop, drawn).items():
            # -1: the interval lies below the population's error, 0: holds it, 1: above it
            where = -1 if r["high"] < r["population"] else 1 if r["low"] > r["population"] else 0
            tally[n][rung].append(where)
    return {
        n: {
            rung: {
                "covered": float(np.mean(np.asarray(w) == 0)),
                "below": float(np.mean(np.asarray(w) == -1)),
                "above": float(np.mean(np.asarray(w) == 1)),
                "sets": len(w),
            }
            for rung, w in by_rung.items()
        }
        for n, by_rung in tally.items()
    }


def table(result: dict[int, dict[str, dict[str, float]]]) -> str:
    """Markdown: a row per number of titles, a column per rung, `covered% (below/above)`."""
    lines = [
        "| titles | sets | " + " | ".join(RUNGS) + " |",
        "|---|---|" + "---|" * len(RUNGS),
    ]
    for n, by_rung in result.items():
        cells = [
            f"{100 * r['covered']:.0f}% ({100 * r['below']:.0f}/{100 * r['above']:.0f})"
            for r in by_rung.values()
        ]
        sets = next(iter(by_rung.values()))["sets"]
        lines.append(f"| {n} | {sets} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.bench coverage", DESCRIPTION, config=False)
    parser.add_argument("--presets", nargs="+", default=["magazine", "newspaper", "photo_print"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--titles", nargs="+", type=int, default=[5, 10, 30], help="training titles per set"
    )
    parser.add_argument("--sets", type=int, default=22, help="sets per preset, seed and size")
    parser.add_argument("--pool", type=int, default=120, help="titles in each population")
    parser.add_argument("--pages", type=int, default=3, help="pairs per title")
    parser.add_argument("--side", type=int, default=64, help="page side in pixels")
    args = parser.parse_args(argv)
    if min(args.titles) < 3 or max(args.titles) > args.pool // 2:
        parser.error(f"--titles: each from 3 (the folds) to half of --pool ({args.pool // 2})")
    if args.sets < 1 or args.pages < 1 or args.side < 16:
        parser.error("--sets and --pages must be at least 1, --side at least 16")
    for preset in args.presets:
        try:
            make_ranges(preset)
        except ValueError as e:
            parser.error(f"--presets: {e}")
    result = coverage(
        args.presets, args.seeds, args.titles, args.sets, args.pool, args.pages, args.side
    )
    print(
        f"coverage of the 95% CV intervals: {len(args.presets) * len(args.seeds)} populations "
        f"of {args.pool} titles x {args.pages} pages ({args.side} px); per cell covered% "
        "(below/above: the share whose interval lies below or above the population's error)",
        file=sys.stderr,
    )
    print(table(result))
    return 0
