"""The local leaderboard as `leaderboard` prints it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import leaderboard
from pipeline.core.config.load import load_config, to_yaml
from pipeline.core.runs.experiment import Experiment
from pipeline.core.runs.leaderboard import format_table
from pipeline.core.scoring.evaluation import experiment_diff
from pipeline.core.scoring.intervals import paired_difference
from tests.conftest import run_stage


def test_the_leaderboard_table_puts_every_value_under_its_header():
    rows = [
        {"experiment": "a-long-name", "cv": "2.5", "model": "pagenet"},
        {"experiment": "b", "cv": "12.25", "model": "resunet"},
    ]
    lines = format_table(rows, ["experiment", "cv", "model"]).splitlines()
    starts = [lines[0].index(h) for h in ("experiment", "cv", "model")]
    assert starts == [0, 12, 18]
    for line, row in zip(lines[1:], rows, strict=True):
        assert [
            line.index(row[c], s)
            for c, s in zip(("experiment", "cv", "model"), starts, strict=True)
        ] == starts


def experiment_with_oof(runs: Path, name: str, errors: dict[str, float], folds: dict[str, int]):
    run = Experiment(runs, name)
    run.write_config(to_yaml(load_config(None, [f"experiment={name}"])))
    cv = float(np.mean(list(errors.values())))
    run.write_cv({"task": "descan", "scale": 1, "cv": cv, "fold_std": 0.0})
    rows = [
        {"stem": s, "title": s.split(".")[0], "fold": folds[s], "abs_err": e}
        for s, e in errors.items()
    ]
    run.write_oof(rows, ["stem", "title", "fold", "abs_err"])


def test_diff_pairs_the_two_experiments_over_the_same_out_of_fold_images(tmp_path: Path):
    stems = [f"{t}.{n:05d}.01" for t in "ABCDEF" for n in range(2)]
    folds = {s: "ABCDEF".index(s[0]) % 3 for s in stems}
    rng = np.random.default_rng(0)
    a = {s: float(rng.uniform(2, 6)) for s in stems}
    b = {s: a[s] - 1.0 + float(rng.normal(0, 0.2)) for s in stems}  # B better on every title
    experiment_with_oof(tmp_path, "a", a, folds)
    experiment_with_oof(tmp_path, "b", b, folds)
    last = experiment_diff(tmp_path, "a", "b").splitlines()[-1]
    diff = paired_difference(
        [a[s] for s in stems], [b[s] for s in stems], [s[0] for s in stems], "title"
    )
    assert diff.mean == pytest.approx(np.mean([b[s] - a[s] for s in stems]))
    assert diff.interval.high < 0 and diff.b_wins == 1.0
    assert last == (
        f"paired (12 out-of-fold images, 6 titles): b - a {diff.mean:+.4f}, 95% interval "
        f"{diff.interval.low:+.4f} to {diff.interval.high:+.4f}; b better in 100% of draws"
    )
    # other folds, or other images: refused with one line and exit code 2
    experiment_with_oof(tmp_path, "c", b, {**folds, stems[0]: 2})
    experiment_with_oof(tmp_path, "d", {s: b[s] for s in stems[1:]}, folds)
    for other, why in (("c", "different folds"), ("d", "different out-of-fold images")):
        result = run_stage(leaderboard.main, "--runs", str(tmp_path), "--diff", "a", other)
        assert result.code == 2 and result.err.startswith("error: --diff: ")
        assert why in result.err and result.err.count("\n") == 1
