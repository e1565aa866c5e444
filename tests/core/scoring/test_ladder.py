"""Winning the metric: the baseline ladder scored out of fold, metric-aware finishing with its
nested CV, and blending experiments with weights fitted out of fold."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from pipeline import baselines, blend, infer, prepare, train
from pipeline.core.config.load import load_config
from pipeline.core.data.store import PairStore, store_dir
from pipeline.core.runs.experiment import Experiment
from pipeline.core.scoring.blending import fit_weights, nested_blend
from pipeline.core.scoring.finishing import fit_weight, nested_targets, shift_mean_y
from pipeline.core.scoring.ladder import (
    PIXEL_STEP,
    RUNGS,
    ColourMap,
    MeanYRegressor,
    Page,
    _design,
    ladder_of,
    out_of_fold,
    scan_features,
)
from pipeline.core.task.metrics import mean_y
from pipeline.core.task.submission import read_submission
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import read_rgb, to_uint8
from tests.conftest import FAST, make_dataset, paths, random_page, run_stage, save


def linear_dataset(root: Path) -> Path:
    """Scans that are one affine colour map of their clean pages (a tint and a lifted black),
    different for no title: the colour map baseline can recover them all."""
    rng = np.random.default_rng(3)
    for split, titles, pages in (("train", "ABCDEF", 2), ("test", "XY", 1)):
        for t in titles:
            for n in range(pages):
                clean = random_page(rng, 32, 32)
                scan = clean.astype(np.float64) * [0.8, 0.75, 0.6] + [30, 35, 50]
                stem = f"{t}.{n + 1:05d}.01"
                save(root / split / "clean" / f"{stem}.png", clean)
                save(root / split / "scan" / f"{stem}.png", np.rint(scan).astype(np.uint8))
    truth = "\n".join(
        f"{p.stem},{mean_y(read_rgb(p))!r}" for p in sorted((root / "test" / "clean").iterdir())
    )
    (root / "test" / "truth.csv").write_text(f"Image File,Y Channel Value\n{truth}\n")
    return root


class MemoryStore:
    """What the ladder reads of a prepared store, held in memory: records, scans, cleans."""

    def __init__(self, pages: list[tuple[str, str, int, np.ndarray, np.ndarray]]):
        self.images = [SimpleNamespace(stem=s, title=t, fold=f) for s, t, f, _, _ in pages]
        self._pages = pages
        self.fingerprint = "memory"

    def scan(self, i: int) -> np.ndarray:
        return self._pages[i][3]

    def clean(self, i: int) -> np.ndarray:
        return self._pages[i][4]


def step_store(n_titles: int = 8, per_title: int = 6, seed: int = 0) -> MemoryStore:
    """Pages whose clean mean Y is the scan's plus a bump in one histogram feature (the share
    of dark ink): +25 where 30 to 40% of the page is ink, -10 where less or more is."""
    rng = np.random.default_rng(seed)
    pages = []
    for t in range(n_titles):
        for n in range(per_title):
            ink = rng.uniform(*((0.05, 0.2), (0.3, 0.4), (0.5, 0.65))[rng.integers(3)])
            scan = np.full((24, 24, 3), rng.integers(150, 220), np.uint8)
            inked = rng.random((24, 24)) < ink
            scan[inked] = 40
            offset = 25 if 0.3 <= ink <= 0.4 else -10
            noise = rng.integers(-3, 4, (24, 24, 1))  # so that no two pages' offsets tie
            clean = np.clip(scan.astype(int) + offset + noise, 0, 255).astype(np.uint8)
            pages.append((f"T{t}.{n:05d}.01", f"T{t}", t % 3, scan, clean))
    return MemoryStore(pages)


def test_boosted_trees_follow_a_correction_that_is_not_linear():
    ladder = out_of_fold(step_store())
    assert tuple(ladder["cv"]) == RUNGS and RUNGS[-1] == "gbt"
    assert ladder["cv"]["gbt"] < 0.5 * ladder["cv"]["regressor"]
    truth = ladder["truth"]
    errors = [abs(ladder["oof"]["gbt"][s] - truth[s]) for s in truth]
    assert ladder["cv"]["gbt"] == pytest.approx(np.mean(errors), abs=1e-12)
    assert out_of_fold(step_store())["oof"]["gbt"] == ladder["oof"]["gbt"]  # seeded


def test_the_ladder_reads_a_page_at_a_time_and_gives_the_numbers_of_all_pages_at_once():
    """The colour map from normal equations summed page by page, the regressor from features
    computed page by page: the numbers of a fit on every page's pixels held together."""
    store = step_store(n_titles=6, per_title=3, seed=1)
    ladder = out_of_fold(store)
    scans = [store.scan(i) for i in range(len(store.images))]
    cleans = [store.clean(i) for i in range(len(store.images))]
    folds = np.array([r.fold for r in store.images])
    titles = [r.title for r in store.images]
    feats = np.stack([scan_features(x) for x in scans])
    truths = np.array([mean_y(c) for c in cleans])
    for fold in range(3):
        train, held = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        s = PIXEL_STEP
        a = np.concatenate([_design(scans[i][::s, ::s]) for i in train])
        b = np.concatenate([cleans[i][::s, ::s].reshape(-1, 3) for i in train]) / 255.0
        weights = np.linalg.lstsq(a, b, rcond=None)[0]
        regressor = MeanYRegressor().fit(feats[train], [titles[i] for i in train], truths[train])
        for i, value in zip(held, regressor.predict(feats[held]), strict=True):
            stem = store.images[i].stem
            mapped = to_uint8((_design(scans[i]) @ weights).reshape(scans[i].shape), 255.0)
            assert ladder["oof"]["colormap"][stem] == pytest.approx(mean_y(mapped), abs=1e-9)
            assert ladder["oof"]["regressor"][stem] == pytest.approx(value, abs=1e-9)
            assert ladder["oof"]["identity"][stem] == pytest.approx(mean_y(scans[i]), abs=1e-9)


def test_the_ladder_scores_each_rung_out_of_fold(tmp_path: Path):
    root = linear_dataset(tmp_path / "data")
    o = [*paths(tmp_path, root), "prepare.patch_size=16", "prepare.stride=16"]
    assert prepare.main(o) == 0
    store = PairStore(store_dir(load_config(None, o)))
    ladder = ladder_of(store)
    truth = {r.stem: mean_y(np.asarray(store.clean(i))) for i, r in enumerate(store.images)}
    scans = {r.stem: mean_y(np.asarray(store.scan(i))) for i, r in enumerate(store.images)}
    # identity: the scans' own mean Y, by hand
    identity = np.mean([abs(scans[s] - truth[s]) for s in truth])
    assert ladder["cv"]["identity"] == pytest.approx(identity, abs=1e-12)
    assert ladder["oof"]["identity"] == pytest.approx(scans)
    # the colour map undoes an affine scan up to uint8 rounding, fitted on the other folds
    assert ladder["cv"]["colormap"] < 0.5 < identity
    for rung in ("colormap", "regressor", "gbt"):
        errors = [abs(ladder["oof"][rung][s] - truth[s]) for s in truth]
        assert ladder["cv"][rung] == pytest.approx(np.mean(errors), abs=1e-12)
    # kept beside the store and read back while the store is the same; a rebuilt store (another
    # fingerprint) is scored anew
    kept = store.root / "ladder.json"
    marked = json.loads(kept.read_text()) | {"cv": {"identity": -1.0}}
    kept.write_text(json.dumps(marked))
    assert ladder_of(store)["cv"] == {"identity": -1.0}
    kept.write_text(json.dumps(marked | {"fingerprint": "another store"}))
    assert ladder_of(store)["cv"] == ladder["cv"]


def test_baselines_stage_writes_a_submission_per_rung(tmp_path: Path):
    root = linear_dataset(tmp_path / "data")
    o = [*paths(tmp_path, root, "lin"), "prepare.patch_size=16", "prepare.stride=16"]
    assert prepare.main(o) == 0
    result = run_stage(baselines.main, *o)
    assert result.code == 0, result.err
    truth = read_submission(root / "test" / "truth.csv", extra_columns=True)
    for rung in RUNGS:
        sub = read_submission(tmp_path / "subs" / f"lin-baseline-{rung}.csv")
        assert sorted(sub) == sorted(truth)
        line = next(x for x in result.out.splitlines() if x.strip().startswith(rung))
        score = np.mean([abs(sub[k] - truth[k]) for k in truth])
        assert f"test {score:.4f}" in line
    scans = {p.stem: mean_y(read_rgb(p)) for p in (root / "test" / "scan").iterdir()}
    assert read_submission(tmp_path / "subs" / "lin-baseline-identity.csv") == pytest.approx(scans)


def test_a_colour_map_fits_an_affine_scan_exactly():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (30, 30, 3)).astype(np.uint8)
    scan = np.rint(clean * 0.5 + 60).astype(np.uint8)
    back = ColourMap().fit([Page.of("a", "a", 0, scan, clean)]).apply(scan)
    assert np.abs(back.astype(int) - clean).max() <= 1  # the scan's own rounding


def test_shifting_lands_the_mean_y_where_asked_and_keeps_the_chroma():
    rng = np.random.default_rng(1)
    image = rng.integers(40, 200, (40, 40, 3)).astype(np.uint8)
    for target in (80.0, 123.456, 170.25):
        out = shift_mean_y(image, target)
        assert abs(mean_y(out) - target) < 0.01
        yuv_in = cv2.cvtColor(image[..., ::-1].copy(), cv2.COLOR_BGR2YUV).astype(int)
        yuv_out = cv2.cvtColor(out[..., ::-1].copy(), cv2.COLOR_BGR2YUV).astype(int)
        assert np.abs(yuv_in[..., 1:] - yuv_out[..., 1:]).max() <= 1  # U and V: rounding only
    # beyond what clipping allows, the nearest reachable mean
    assert mean_y(shift_mean_y(image, 300.0)) == 255.0


def test_the_finishing_weight_is_fitted_on_the_other_folds_only():
    truth = np.array([100.0, 110, 120, 130])
    model = truth + np.array([4.0, -4, 4, -4])  # off by 4 either way
    regressor = truth  # exact
    assert fit_weight(model, regressor, truth) == 0.0
    assert fit_weight(truth, truth + 3, truth) == 1.0  # a tie goes to the model
    rows = [
        {"stem": f"s{i}", "fold": i % 2, "mean_y_pred": model[i], "mean_y_true": truth[i]}
        for i in range(4)
    ]
    # fold 1's regressor is poor, so fold 0's weight (fitted on fold 1) leans on the model
    reg = {"s0": 100.0, "s1": 130.0, "s2": 120.0, "s3": 100.0}
    fit = nested_targets(rows, reg)
    assert fit["fold_weights"][0] == 1.0 and fit["fold_weights"][1] == 0.0
    assert fit["targets"]["s0"] == model[0] and fit["targets"]["s1"] == reg["s1"]


def test_blend_weights_minimise_the_absolute_error_on_the_simplex():
    truth = np.array([10.0, 20, 30, 40])
    # the one exact blend: half of each offset model, none of the noisy one
    pred = np.stack([truth + 2, truth - 2, truth + np.array([9, -9, 9, -9])], 1)
    w = fit_weights(pred, truth)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert np.abs(pred @ w - truth).mean() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(w, [0.5, 0.5, 0.0], atol=1e-6)
    oof = {"folds": np.array([0, 0, 1, 1]), "pred": pred, "truth": truth}
    nested = nested_blend(oof)
    assert set(nested["fold_weights"]) == {0, 1}


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """Two quick experiments on one store, scored out of fold, the second with finishing."""
    tmp = tmp_path_factory.mktemp("ladder")
    root = make_dataset(tmp / "data", titles=("A", "B", "C"), pages=2, size=(32, 32), test=3)
    truth = "\n".join(
        f"{p.stem},{mean_y(read_rgb(p))!r}" for p in sorted((root / "test" / "scan").iterdir())
    )
    (root / "test" / "truth.csv").write_text(f"Image File,Y Channel Value\n{truth}\n")
    base = [*paths(tmp, root, "a"), *FAST, "train.epochs=1"]
    assert prepare.main(base) == 0
    for name, extra in (("a", []), ("b", ["model.args.channels=4", "infer.finish=true"])):
        args = [*base, f"experiment={name}", *extra]
        assert train.main(args) == 0 and infer.main(args) == 0
    return tmp, base


def test_finishing_reports_a_nested_cv_that_the_oof_images_give(two):
    tmp, _ = two
    run = Experiment(tmp / "runs", "b")
    cv = run.read_cv()
    assert cv["finishing"]["cv_raw"] != cv["cv"]
    assert set(cv["ladder"]) == set(RUNGS)
    # the CV is what the leaderboard computes from the finished out-of-fold images
    clean = tmp / "data" / "train" / "clean"
    errors = [
        abs(mean_y(read_rgb(p)) - mean_y(read_rgb(clean / p.name))) for p in run.oof_dir.iterdir()
    ]
    assert cv["cv"] == pytest.approx(np.mean(errors), abs=1e-9)


def test_blend_fits_weights_out_of_fold_and_writes_a_submission(two):
    tmp, base = two
    result = run_stage(blend.main, "a", "b", *base, "experiment=ab")
    assert result.code == 0, result.err
    run = Experiment(tmp / "runs", "ab")
    cv = run.read_cv()
    w = np.array(cv["blend"]["weights"])
    assert w.sum() == pytest.approx(1.0) and cv["blend"]["experiments"] == ["a", "b"]
    rows = {r["stem"]: r for r in run.read_oof()}
    a = {r["stem"]: r for r in Experiment(tmp / "runs", "a").read_oof()}
    b = {r["stem"]: r for r in Experiment(tmp / "runs", "b").read_oof()}
    for stem, r in rows.items():  # each fold with the weights fitted on the others
        wf = np.array(cv["blend"]["fold_weights"][str(r["fold"])])
        expected = wf @ [a[stem]["mean_y_pred"], b[stem]["mean_y_pred"]]
        assert r["mean_y_pred"] == pytest.approx(expected, abs=1e-9)
    assert cv["cv"] == pytest.approx(np.mean([r["abs_err"] for r in rows.values()]))
    sub = read_submission(tmp / "subs" / "ab.csv")
    tests = {
        n: {p.stem: mean_y(read_rgb(p)) for p in Experiment(tmp / "runs", n).test_dir.iterdir()}
        for n in ("a", "b")
    }
    for stem, value in sub.items():
        assert value == pytest.approx(w @ [tests["a"][stem], tests["b"][stem]], abs=1e-9)
    with open(tmp / "runs" / "leaderboard.csv") as f:
        board = {r["experiment"]: r for r in csv.DictReader(f)}
    assert float(board["ab"]["cv"]) == pytest.approx(cv["cv"], abs=1e-6)
    assert "test " in result.out
    # the ladder of the experiments' store stands beside the blend, as beside any experiment
    ladder = Experiment(tmp / "runs", "a").read_cv()["ladder"]
    assert cv["ladder"] == ladder
    best = min(ladder, key=ladder.get)
    assert board["ab"]["best_baseline"] == f"{best} {ladder[best]:.4f}"
    assert "ladder (same folds): identity " in result.out


def test_finishing_and_blending_refuse_a_fit_with_one_fold(two):
    tmp, base = two
    cv_before = (tmp / "runs" / "b" / "cv.json").read_bytes()
    result = run_stage(infer.main, *base, "experiment=b", "infer.folds=[0]", "infer.finish=true")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: infer.finish: ") and "two or more folds" in result.err
    assert (tmp / "runs" / "b" / "cv.json").read_bytes() == cv_before  # nothing touched
    oof = {"folds": np.zeros(4, int), "pred": np.ones((4, 2)), "truth": np.ones(4)}
    with pytest.raises(UserError, match="two or more folds"):
        nested_blend(oof)
