"""A CV to decide by: a model is never scored on images it trained on, repeated draws of a patch
differ, the monitor is one the task computes, the CV is the leaderboard metric over all
out-of-fold images, nothing is chosen on the images it scores unless asked, and a broken test
set is found by prepare, before the training."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipeline import infer, prepare, train
from pipeline.core.config.load import load_config
from pipeline.core.data.dataset import EpochDraws, PatchDataset
from pipeline.core.data.store import PairStore, store_dir
from pipeline.core.runs.experiment import Experiment
from pipeline.core.scoring.evaluation import cv_summary
from pipeline.core.task.metrics import mean_y
from pipeline.core.task.submission import leaderboard_score
from pipeline.core.task.task import Task
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import read_rgb
from tests.conftest import FAST, assert_user_error, make_dataset, paths, run_cli


def uneven_dataset(root: Path) -> Path:
    """Six titles of 1 to 3 pages: folds grouped by title hold different numbers of images,
    and which titles share a fold depends on prepare.seed."""
    for seed, (titles, pages) in enumerate([(("A", "B", "C"), 1), (("D", "E"), 2), (("F",), 3)]):
        make_dataset(root, titles=titles, pages=pages, size=(32, 32), test=2, seed=seed)
    return root


@pytest.fixture(scope="module")
def uneven(tmp_path_factory):
    """An experiment trained and scored out of fold on the uneven dataset."""
    tmp = tmp_path_factory.mktemp("uneven")
    root = uneven_dataset(tmp / "data")
    o = [*paths(tmp, root), *FAST, "train.epochs=1"]
    assert prepare.main(o) == 0 and train.main(o) == 0 and infer.main(o) == 0
    return tmp, root, o, Experiment(tmp / "runs", "exp")


def test_re_preparing_never_changes_the_folds_an_experiment_is_scored_on(uneven):
    _, _, o, run = uneven
    cv = run.read_cv()
    trained_store = store_dir(load_config(None, o))
    manifest = (trained_store / "manifest.json").read_bytes()

    # Another fold seed builds another store; the one the experiment was trained on stays.
    assert prepare.main([*o, "prepare.seed=1"]) == 0
    other = store_dir(load_config(None, [*o, "prepare.seed=1"]))
    assert other != trained_store and (trained_store / "manifest.json").read_bytes() == manifest
    assert PairStore(other).fold_map() != PairStore(trained_store).fold_map()  # titles moved

    # Scored with the settings it was trained with: the same folds, the same CV.
    assert infer.main(o) == 0
    assert run.read_cv()["cv"] == cv["cv"]
    # Scored on the other folds, most held-out images would be training images: refused.
    result = run_cli("pipeline.infer", *o, "prepare.seed=1")
    assert_user_error(result, "experiment 'exp'", other.name, "other folds")
    assert run.read_cv()["cv"] == cv["cv"]


def test_datasets_in_folders_of_the_same_name_never_share_a_store(tmp_path: Path):
    a = make_dataset(tmp_path / "v1" / "descan", pages=1, size=(32, 32))
    b = make_dataset(tmp_path / "v2" / "descan", pages=1, size=(32, 32), seed=5)
    dirs = [store_dir(load_config(None, [f"data.root={root}"])) for root in (a, b)]
    assert dirs[0] != dirs[1] and dirs[0].name.startswith("descan-p128-s64-k3-")


def test_repeated_draws_of_a_patch_differ_whatever_the_workers(tmp_path: Path):
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=1, size=(32, 32))
    o = [*paths(tmp_path, root), "prepare.patch_size=16", "prepare.stride=16"]
    assert prepare.main(o) == 0
    store = PairStore(store_dir(load_config(None, o)))
    dataset = PatchDataset(store, store.patches, 16, seed=3, jitter=8, synthetic_p=0.5)
    rows = len(dataset)
    draws = EpochDraws(rows, 4 * rows, seed=3, epoch=0)  # every patch drawn four times
    items = list(draws)
    row = items[0][2]
    repeats = [dataset[item] for item in items if item[2] == row]
    assert len(repeats) == 4
    # each draw of the same patch gets its own jitter, transform and synthetic scan
    scans = {r[0].numpy().tobytes() for r in repeats}
    assert len(scans) == 4

    def batches(workers: int) -> list[torch.Tensor]:
        loader = DataLoader(dataset, batch_size=4, sampler=draws, num_workers=workers)
        return [scan for scan, _ in loader]

    for a, b in zip(batches(0), batches(2), strict=True):
        assert torch.equal(a, b)


def test_a_monitor_the_task_does_not_compute_is_refused_before_any_work(tmp_path: Path):
    root = make_dataset(tmp_path / "data", pages=1, size=(32, 32))
    result = run_cli("pipeline.train", *paths(tmp_path, root), "train.monitor=ssim")
    assert_user_error(result, "train.monitor", "descan", "ssim", "score, y_mae, psnr")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "prepared").exists()
    # the tasks that compute SSIM offer it; the empty default is the task's own metric
    sr = ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0"]
    assert Task.of(load_config(None, [*sr, "train.monitor=ssim"])).monitor("ssim") == "ssim"
    assert Task.of(load_config(None, sr)).monitor(load_config(None, sr).train.monitor) == "psnr"
    assert Task.of(load_config(None, [])).monitor("") == "score"


def test_the_cv_averages_over_images_not_over_folds():
    task = Task()

    def row(fold: int, err: float) -> dict:
        return {"fold": fold, "abs_err": err, "identity_err": 20.0, "y_mae": 1.0, "psnr": 30.0}

    rows = [row(0, 10.0), row(1, 2.0), row(1, 2.0), row(1, 2.0)]
    cv = cv_summary(rows, task)
    assert cv["cv"] == pytest.approx(16.0 / 4)  # what a leaderboard computes over the images
    assert cv["fold_mean"] == pytest.approx((10.0 + 2.0) / 2)  # the old, mean-of-folds figure
    assert cv["fold_std"] == pytest.approx(4.0)
    assert [f["images"] for f in cv["folds"]] == [1, 3]


def test_cv_json_is_what_the_leaderboard_computes_from_the_oof_predictions(uneven):
    tmp_path, root, _, run = uneven
    cv = run.read_cv()
    assert sorted(f["images"] for f in cv["folds"]) == [3, 3, 4]  # folds of unequal size
    clean = root / "train" / "clean"
    truth = {p.stem: mean_y(read_rgb(p)) for p in clean.iterdir()}
    pred = {p.stem: mean_y(read_rgb(p)) for p in run.oof_dir.iterdir()}
    assert cv["cv"] == pytest.approx(leaderboard_score(pred, truth), abs=1e-12)
    assert cv["images"] == 10
    fold_scores = [f["score"] for f in cv["folds"]]
    assert cv["fold_mean"] == pytest.approx(np.mean(fold_scores))
    board = (tmp_path / "runs" / "leaderboard.csv").read_text().splitlines()
    header, row = board[0].split(","), board[1].split(",")
    assert float(row[header.index("cv")]) == pytest.approx(cv["cv"], abs=1e-6)


@pytest.mark.parametrize("select", ["final", "best"])
def test_the_cv_scores_the_weights_train_select_names(tmp_path: Path, select: str):
    root = make_dataset(tmp_path / "data", pages=2, size=(32, 32))
    o = [*paths(tmp_path, root), *FAST, "train.epochs=3", f"train.select={select}"]
    assert prepare.main(o) == 0 and train.main(o) == 0 and infer.main(o) == 0
    run = Experiment(tmp_path / "runs", "exp")
    for f in run.read_cv()["folds"]:
        done = run.read_done(f["fold"])
        assert done["select"] == select
        # one view, the same tiling: infer's fold score is the selected epoch's validation
        assert f["score"] == pytest.approx(done[select]["score"], abs=1e-9)
        assert done["score"] == done[select]["score"]


def test_early_stopping_needs_an_explicit_best_epoch_selection():
    with pytest.raises(UserError, match=r"train\.patience: .*train\.select=inner .* or best"):
        load_config(None, ["train.patience=3"])
    assert load_config(None, ["train.patience=3", "train.select=best"]).train.patience == 3
    assert load_config(None, ["train.patience=3", "train.select=inner"]).train.patience == 3
    assert load_config(None, []).train.select == "final"


def _break_test(root: Path, how: str) -> None:
    scans = root / "test" / "scan"
    if how == "missing":
        shutil.rmtree(scans)
    elif how == "empty":
        for p in scans.iterdir():
            p.unlink()
    elif how == "truncated":
        first = sorted(scans.iterdir())[0]
        first.write_bytes(first.read_bytes()[:60])
    elif how == "16-bit":
        from PIL import Image

        Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)).save(scans / "Deep.png")


@pytest.mark.parametrize("how", ["missing", "empty", "truncated", "16-bit"])
def test_prepare_finds_a_broken_test_set_before_training(tmp_path: Path, how: str):
    root = make_dataset(tmp_path / "data", pages=1, size=(32, 32))
    _break_test(root, how)
    o = paths(tmp_path, root)
    expected = {
        "missing": "test/scan: folder of test scans not found",
        "empty": "test/scan: no test scans found",
        "truncated": "unreadable or truncated image",
        "16-bit": "16-bit image",
    }[how]
    with pytest.raises(UserError, match=expected):
        prepare.main(o)
    assert not (tmp_path / "prepared").exists()  # nothing written


def test_prepare_error_for_the_test_set_is_one_line(tmp_path: Path):
    root = make_dataset(tmp_path / "data", pages=1, size=(32, 32))
    (root / "test" / "scan" / "Bad.png").write_bytes(b"not a png")
    result = run_cli("pipeline.prepare", *paths(tmp_path, root))
    assert_user_error(result, "Bad.png", "not a readable image")
    assert not (tmp_path / "prepared").exists()  # found before anything is written
