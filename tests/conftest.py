"""Shared fixtures: small generated datasets and a way to run stages as a user would."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pipeline  # noqa: F401  (first, so its OpenMP setting is in place before torch loads)
from pipeline.core.util.resize import imresize_uint8

REPO = Path(__file__).resolve().parents[1]
# W&B stays off unless a test turns it on (offline, in a folder of its own): a stage run in
# this process would otherwise set up W&B for every later test (run_tests.sh sets it too).
os.environ.setdefault("WANDB_MODE", "disabled")


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(
    *args: str, cwd: Path | None = None, timeout: int = 300, process: bool = False
) -> Result:
    """`python -m <args>` as a user would run it from the repository root: a stage's main under
    cli.run in this process (the same arguments, exit code and output, without starting Python
    and torch again), or with `process=True` (or another working folder) in a subprocess."""
    if not process and cwd is None and args[0].startswith("pipeline."):
        import importlib

        module = importlib.import_module(args[0])
        if not hasattr(module, "main"):  # a package run as `python -m`: its __main__
            module = importlib.import_module(f"{args[0]}.__main__")
        before = os.environ.get("WANDB_MODE")
        os.environ["WANDB_MODE"] = "disabled"
        try:
            return run_stage(module.main, *args[1:])
        finally:
            if before is None:
                del os.environ["WANDB_MODE"]
            else:
                os.environ["WANDB_MODE"] = before
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2 and one line on stderr, starting with `error:` and naming what is wrong."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == 2, (result.code, result.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def degrade(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap 'scan': darker, yellowish, noisy. Enough for a model to learn in seconds."""
    scan = clean.astype(np.float32) * np.array([0.85, 0.8, 0.65]) + 12
    scan += rng.normal(0, 3, clean.shape)
    return np.clip(np.round(scan), 0, 255).astype(np.uint8)


def random_page(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour blobs plus a few dark bars, like a tiny page."""
    small = rng.integers(0, 256, size=(max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
    page = np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))
    page = page.copy()
    for _ in range(3):
        y = int(rng.integers(0, h - 2))
        page[y : y + 2, : w // 2] = 20
    return page


def save(path: Path, rgb: np.ndarray, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, **kwargs)


def make_dataset(
    root: Path,
    titles: tuple[str, ...] = ("Alpha", "Beta", "Gamma"),
    pages: int = 2,
    size: tuple[int, int] = (48, 64),
    test: int = 2,
    ext: str = ".png",
    seed: int = 0,
) -> Path:
    """A competition-layout folder: train/scan, train/clean (Title.page.crop names), test/scan."""
    rng = np.random.default_rng(seed)
    h, w = size
    for title in titles:
        for page in range(1, pages + 1):
            clean = random_page(rng, h, w)
            stem = f"{title}.{page:05d}.01"
            kwargs = {"compression": "tiff_lzw"} if ext in (".tif", ".tiff") else {}
            save(root / "train" / "clean" / f"{stem}{ext}", clean, **kwargs)
            save(root / "train" / "scan" / f"{stem}{ext}", degrade(clean, rng), **kwargs)
    for i in range(test):
        save(
            root / "test" / "scan" / f"Test.{i + 1:05d}.01.png",
            degrade(random_page(rng, h, w), rng),
        )
    return root


def tiny_folder(tmp_path: Path, patch: int = 16) -> list[str]:
    """The overrides of a tiny folder (three titles of two 32x48 pages) whose store, runs and
    patches live under tmp_path: what the training tests start from, each adding its own."""
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=2, size=(32, 48))
    return [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"prepare.patch_size={patch}",
        "prepare.stride=16",
    ]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


def run_stage(main, *args: str) -> Result:
    """A stage's main in this process, as its command line runs it (cli.run: user errors
    become one `error:` line and exit code 2); stdout and stderr captured."""
    import contextlib
    import io

    from pipeline.core.config import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.run(lambda: main(list(args)))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


FAST = [
    "prepare.patch_size=16",
    "prepare.stride=16",
    "model.name=dncnn",
    "model.args.depth=3",
    "model.args.channels=8",
    "train.batch_size=4",
    "train.checkpoint_minutes=0",
    "infer.tta=[0]",
    "infer.tile=32",
    "infer.overlap=8",
]


def paths(tmp: Path, root: Path, experiment: str = "exp") -> list[str]:
    """Overrides that keep every output of a run under `tmp`."""
    return [
        f"data.root={root}",
        f"data.prepared={tmp / 'prepared'}",
        f"runs={tmp / 'runs'}",
        f"submissions={tmp / 'subs'}",
        f"experiment={experiment}",
    ]


def make_sr(root: Path, scale: int, n: int = 4, hr: int = 48, seed: int = 0) -> Path:
    """LR/HR pairs in the input/target layout, LR made from HR with MATLAB bicubic."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", n), ("test", 2)):
        for i in range(count):
            page = random_page(rng, hr, hr)
            stem = f"T{i % 2}.{i:05d}.01"
            save(root / split / "clean" / f"{stem}.png", page)
            save(root / split / "scan" / f"{stem}.png", imresize_uint8(page, 1 / scale))
    return root


def sr_overrides(tmp_path: Path, root: Path, scale: int) -> list[str]:
    return [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        "task.kind=sr",
        f"task.scale={scale}",
        "augment.synthetic_p=0",
        "prepare.patch_size=16",
        "prepare.stride=4",
        "prepare.folds=2",
        "model.name=edsr",
        "model.args.n_blocks=1",
        "model.args.n_feats=8",
        "train.epochs=1",
        "train.batch_size=4",
        "train.samples_per_epoch=8",
        "train.monitor=psnr",
        "infer.tile=16",
        "infer.overlap=4",
        "wandb.mode=disabled",
    ]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sr_trainer(tmp_path: Path, extra: list[str]):
    """A fold trainer on a tiny x2 super-resolution store, started fresh."""
    import torch

    from pipeline.core.config.load import load_config
    from pipeline.core.data.store import PairStore
    from pipeline.core.train.trainers import fold_trainer

    root = make_sr(tmp_path / "sr", 2, n=4, hr=32)
    overrides = sr_overrides(tmp_path, root, 2) + extra
    assert run_cli("pipeline.prepare", *overrides).code == 0
    cfg = load_config(None, overrides)
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    trainer = fold_trainer(cfg, store, 0, torch.device("cpu"))
    trainer.start()
    return trainer
