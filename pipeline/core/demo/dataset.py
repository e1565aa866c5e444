"""The demo dataset: a small folder in the task's layout, from packaged images.

Descanning (the default): train/{scan,clean}, test/scan, and the held-out truth of the test
set: test/clean and test/truth.csv in the submission format. Names follow DESCAN-18K
(`Title.page.crop`), training and test titles differ, and a seed fixes every byte. The other
tasks degrade the same pages their own way (task/degrade.py): deblur in the GoPro layout
(train/<title>/{blur,sharp}, test/<title>/{blur,sharp}), denoise, deflare and sr (LR scans,
HR cleans) in the same layout as descanning.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from ..synth import SIMULATOR_VERSION, Ranges, make_ranges, sample_params, simulate_scan
from ..task.metrics import mean_y
from ..task.submission import format_csv
from ..task.task import Task
from ..util.errors import UserError
from ..util.images import write_png
from ..util.progress import progress
from .pages import compose_other, compose_page, other_style, title_style

TITLES = [
    "BookOfMaking",
    "CityLights",
    "GardenWeekly",
    "TechMonthly",
    "TravelNotes",
    "FoodAndWine",
    "ArtReview",
    "SportsDaily",
    "ScienceToday",
    "MusicScene",
    "HomeAndDesign",
    "OpenRoad",
]
MARKER = ".demo.json"


def title_names(n: int) -> list[str]:
    """The first `n` title names: the named titles above, then generated ones (Title013, ...)."""
    return (TITLES + [f"Title{i + 1:03d}" for i in range(len(TITLES), n)])[:n]


# What the pages of one title share: one paper stock, one press, one scanner and its settings.
TITLE_SETTINGS = (
    "halftone",
    "screen_period",
    "dot_gain",
    "paper",
    "black",
    "gamma",
    "contrast",
    "saturation",
    "gains",
    "jpeg_quality",
)


def scan_title(
    cleans: list[np.ndarray], rng: np.random.Generator, ranges: Ranges
) -> list[np.ndarray]:
    """The descanning side of a title's pairs: the scan of each page but the last, which is
    printed on the back of the one before it (and shows through). Settings in TITLE_SETTINGS
    are drawn once for the title, the rest page by page."""
    title = sample_params(ranges, rng)
    shared = {k: getattr(title, k) for k in TITLE_SETTINGS}
    scans = []
    for page in range(len(cleans) - 1):
        params = dataclasses.replace(sample_params(ranges, rng), **shared)
        scans.append(simulate_scan(cleans[page], params, rng, back=cleans[page + 1]))
    return scans


def degrade_title(
    task: Task, cleans: list[np.ndarray], rng: np.random.Generator, ranges: Ranges
) -> list[np.ndarray]:
    """The degraded inputs of a title's pages (all but the last, which descanning prints on
    the back of the one before): the task's degradation, or the print-scan simulator."""
    make = task.demo_degradation
    if make is None:
        return scan_title(cleans, rng, ranges)
    return [make(page, rng) for page in cleans[:-1]]


def demo_settings(cfg) -> dict:
    """demo.* with the task it builds resolved (left out for descanning, so the descanning
    demo's marker is what it always was) and, for sr, task.scale."""
    demo = OmegaConf.to_container(cfg.demo, resolve=True)  # the config's demo.* settings
    task = Task(demo.pop("task") or cfg.task.kind, cfg.task.scale)
    if not task.is_competition:
        demo["task"] = task.kind
    if task.super_resolves:
        if cfg.task.scale < 2:
            raise UserError("task.scale: the sr demo needs task.scale of 2 or more")
        demo["scale"] = cfg.task.scale
    return demo


def marker(demo: dict) -> dict:
    """What the marker file records: the settings and the simulator's version, so a demo made
    by an older simulator is rebuilt."""
    return {**demo, "simulator": SIMULATOR_VERSION}


def build(out: Path, demo: dict) -> dict[str, float]:
    """Write the dataset into `out` (an empty folder); returns the test truth values."""
    n_test = demo.get("test_titles", 2)
    seed, size = demo["seed"], demo["size"]
    task = Task.named(demo.get("task"), demo.get("scale", 1))
    size -= size % task.scale  # HR pages a multiple of the scale, as SR benchmarks modcrop them
    gopro = task.reads_gopro
    names = title_names(demo["titles"] + n_test)
    jobs = [(t, demo["pages_per_title"], "train") for t in names[: demo["titles"]]]
    test_titles = names[demo["titles"] :]
    for n, t in enumerate(test_titles):
        pages = demo["test_pages"] // n_test + (n < demo["test_pages"] % n_test)
        jobs.append((t, pages, "test"))
    if not gopro:
        for sub in ("train/scan", "train/clean", "test/scan", "test/clean"):
            (out / sub).mkdir(parents=True)

    ranges = make_ranges(demo["preset"])
    truth = {}
    bar = progress(total=sum(n for _, n, _ in jobs), desc="demo pages", unit="page")
    for t_index, (title, pages, split) in enumerate(jobs):
        rng = np.random.default_rng([seed, t_index])
        other = demo.get("pages", "magazine") == "other"
        style = other_style(rng) if other else title_style(rng)
        compose = compose_other if other else compose_page
        # One page more than needed: the last one only serves as the back of the one before.
        cleans = [compose(rng, style, title, page + 1, size) for page in range(pages + 1)]
        scans = degrade_title(task, cleans, rng, ranges)
        for page, scan in enumerate(scans):
            if gopro:  # one sequence per title, frames named like GoPro's
                seq = out / split / title
                (seq / "blur").mkdir(parents=True, exist_ok=True)
                (seq / "sharp").mkdir(parents=True, exist_ok=True)
                write_png(seq / "blur" / f"{page + 1:06d}.png", scan)
                write_png(seq / "sharp" / f"{page + 1:06d}.png", cleans[page])
                bar.update()
                continue
            write_pair(out, split, page_stem(title, page), scan, cleans[page], truth)
            bar.update()
    bar.close()
    if not gopro:
        (out / "test" / "truth.csv").write_text(format_csv(truth))
    (out / MARKER).write_text(json.dumps(marker(demo), indent=1))
    return truth


def page_stem(title: str, page: int) -> str:
    """The DESCAN-18K name of a title's page (from 0): `Title.page.crop`."""
    return f"{title}.{page + 1:05d}.{1 + page % 2:02d}"


def write_pair(
    out: Path, split: str, stem: str, scan: np.ndarray, clean: np.ndarray, truth: dict
) -> None:
    """A pair in the competition layout; a test page's clean mean Y goes into `truth`."""
    write_png(out / split / "scan" / f"{stem}.png", scan)
    write_png(out / split / "clean" / f"{stem}.png", clean)
    if split == "test":
        truth[stem] = mean_y(clean)


def is_under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
