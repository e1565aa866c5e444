"""Every stage on a tiny demo, as run_all.sh chains them, checking what each one writes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.runs.experiment import Experiment
from pipeline.core.task.metrics import mean_y
from pipeline.core.task.submission import read_submission
from pipeline.core.util.images import read_rgb
from tests.conftest import REPO, assert_user_error, make_dataset, run_cli


def test_all_stages_on_a_tiny_demo(tmp_path: Path):
    data = tmp_path / "demo"
    overrides = [
        "experiment=tiny",
        f"data.root={data}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'submissions'}",
        "demo.titles=3",
        "demo.pages_per_title=2",
        "demo.test_pages=3",
        "demo.size=64",
        "prepare.patch_size=32",
        "prepare.stride=32",
        "model.args.width=8",
        "train.epochs=2",
        "train.batch_size=4",
        "infer.tta=[0,3,5]",
        "infer.tile=48",
        "infer.overlap=8",
    ]
    for stage in ("make_demo", "prepare", "train", "infer", "export"):
        result = run_cli(f"pipeline.{stage}", *overrides, process=True)  # the real commands
        assert result.code == 0, (stage, result.err[-2000:])

    test_stems = sorted(p.stem for p in (data / "test" / "scan").iterdir())
    assert len(test_stems) == 3
    pred = tmp_path / "runs" / "tiny" / "pred" / "test"
    expected = "Image File,Y Channel Value\n" + "".join(
        f"{stem},{mean_y(read_rgb(pred / f'{stem}.png'))!r}\n" for stem in test_stems
    )
    submission = tmp_path / "submissions" / "tiny.csv"
    assert submission.read_text() == expected
    assert (tmp_path / "submissions" / "submission.csv").read_text() == expected

    truth_csv = data / "test" / "truth.csv"
    truth = read_submission(truth_csv)
    for stem in test_stems:  # the truth is the clean page's value
        assert truth[stem] == mean_y(read_rgb(data / "test" / "clean" / f"{stem}.png"))
    result = run_cli("pipeline.score", str(submission), str(truth_csv))
    sub = read_submission(submission)
    mae = np.mean([abs(sub[s] - truth[s]) for s in test_stems])
    assert float(result.out.splitlines()[-1]) == pytest.approx(mae, abs=1e-12)

    cv = json.loads((tmp_path / "runs" / "tiny" / "cv.json").read_text())
    assert len(cv["folds"]) == 3
    oof = Experiment(tmp_path / "runs", "tiny").read_oof()
    assert len(oof) == 6  # every training image predicted once, by the fold that held it out
    # the CV is what the leaderboard computes from the out-of-fold predictions: the mean over
    # the images of |mean Y(prediction as saved) - mean Y(clean)|
    pred = tmp_path / "runs" / "tiny" / "pred" / "oof"
    clean = data / "train" / "clean"
    errors = [
        abs(
            mean_y(read_rgb(pred / f"{r['stem']}.png"))
            - mean_y(read_rgb(clean / f"{r['stem']}.png"))
        )
        for r in oof
    ]
    assert cv["cv"] == pytest.approx(np.mean(errors), abs=1e-12)
    assert cv["images"] == 6 and cv["metric"] == "score"

    report = run_cli("pipeline.score", *overrides)
    assert report.code == 0 and "identity" in report.out and "test" in report.out
    board = run_cli("pipeline.leaderboard", "--runs", str(tmp_path / "runs"))
    assert board.code == 0 and "tiny" in board.out


def test_run_all_never_builds_a_demo_at_a_mistyped_dataset_path(tmp_path: Path):
    missing = tmp_path / "no_such_dataset"
    result = run_cli("pipeline.make_demo", "--if-needed", f"data.root={missing}")
    assert_user_error(result, f"data.root: {missing} not found")
    assert not missing.exists()


def test_run_all_sh_takes_a_config_and_overrides(tmp_path: Path):
    """The one-command path: `bash run_all.sh CONFIG key=value ...` on an existing dataset."""
    config = tmp_path / "tiny_exp.yaml"
    config.write_text("model:\n  name: dncnn\n  args: {depth: 3, channels: 8}\n")
    data = tmp_path / "demo"
    overrides = [
        f"data.root={data}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'submissions'}",
        "demo.titles=3",
        "demo.pages_per_title=2",
        "demo.test_pages=2",
        "demo.size=48",
        "prepare.patch_size=32",
        "train.epochs=1",
        "infer.tta=[0]",
    ]
    assert run_cli("pipeline.make_demo", "--config", str(config), *overrides).code == 0

    def run_all() -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["bash", str(REPO / "run_all.sh"), str(config), *overrides],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "WANDB_MODE": "disabled"},
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    proc = run_all()
    assert "make_demo: " in proc.stdout and "is up to date" in proc.stdout
    assert "train: dncnn (" in proc.stdout  # the config file's model, not the demo's
    # the config file's experiment on another dataset than the file's: named after both
    run = tmp_path / "runs" / "tiny_exp-demo"
    cv = json.loads((run / "cv.json").read_text())
    assert any(
        line.startswith(f"tiny_exp-demo: CV {cv['cv']:.4f}") and "identity" in line
        for line in proc.stdout.splitlines()
    )
    submission = (tmp_path / "submissions" / "submission.csv").read_text().splitlines()
    assert submission[0] == "Image File,Y Channel Value" and len(submission) == 3

    # Run again on the finished experiment: the folds are kept as they are, inference and
    # scoring run again and give the same CV.
    folds = {p: p.read_bytes() for p in sorted(run.glob("fold*/*")) if p.is_file()}
    again = run_all()
    assert [f"fold {k}: finished: kept after epoch 1" in again.stdout for k in range(3)] == [
        True
    ] * 3
    assert {p: p.read_bytes() for p in folds} == folds
    assert json.loads((run / "cv.json").read_text())["cv"] == cv["cv"]


def test_run_all_sh_on_a_competition_folder_uses_the_settings_meant_for_it(tmp_path: Path):
    """No config named and a data.root that is not the demo: the auto procedure with
    configs/descan.yaml (the CPU here), as an experiment named after the folder, never the
    demo's."""
    data = make_dataset(tmp_path / "comp", titles=("A", "B", "C"), pages=1, size=(40, 40))
    quick = [
        f"data.root={data}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'submissions'}",
        "prepare.folds=3",
        "prepare.patch_size=32",
        "train.time_budget=0",
        "train.epochs=1",
        "train.num_workers=0",
    ]
    proc = subprocess.run(
        ["bash", str(REPO / "run_all.sh"), *quick],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "== a competition folder: configs/descan.yaml, the auto procedure" in proc.stdout
    out = proc.stdout
    plan, pagenet = out.index("auto: plan for "), out.index("train: pagenet (")
    assert plan < pagenet < out.index("train: resunet (")
    candidates = ["pagenet", "pagenet_synth", "resunet", "pagenet_local"]
    for candidate in candidates:
        run = tmp_path / "runs" / f"descan-comp-{candidate}"
        assert (run / "cv.json").is_file()
        # the epoch kept was chosen on the training titles, never on the held-out fold
        assert json.loads((run / "fold0" / "done.json").read_text())["select"] == "inner"
    recipe = json.loads((tmp_path / "runs" / "descan-comp" / "recipe.json").read_text())
    assert recipe["columns"][:4] == candidates
    csv = (tmp_path / "submissions" / "descan-comp.csv").read_text().splitlines()
    assert len(csv) == 1 + 2  # the header and the two test scans
