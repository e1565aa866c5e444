"""`auto` on a tiny folder: the plan before any work, each candidate an experiment, the nested
choice recorded, and the rung's submission when the models do not beat it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.core.auto import run as auto_run
from pipeline.core.runs.experiment import read_leaderboard
from pipeline.core.task.submission import format_csv
from tests.conftest import make_dataset, run_cli

TINY = [
    "prepare.patch_size=16",
    "prepare.stride=16",
    "prepare.folds=3",
    "train.epochs=1",
    "train.batch_size=4",
    "infer.tta=[0]",
    "infer.tile=32",
    "infer.overlap=8",
    "augment.synthetic_p=0",
]
CANDIDATES = """\
auto:
  minutes: 0.5
  candidates:
    - name: dn
      overrides: [model.name=dncnn, model.args.depth=3, model.args.channels=8]
    - name: dn_wide
      overrides: [model.name=dncnn, model.args.depth=3, model.args.channels=12, train.lr=0.0001]
"""


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, list[str]]:
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=3, size=(32, 48))
    # a held-out truth, as a study set has: every test page's clean mean Y said to be 100
    stems = sorted(p.stem for p in (root / "test" / "scan").iterdir())
    (root / "test" / "truth.csv").write_text(format_csv({s: 100.0 for s in stems}))
    config = tmp_path / "auto.yaml"
    config.write_text(CANDIDATES)
    overrides = [
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        f"submissions={tmp_path / 'subs'}",
        "experiment=tiny",
        *TINY,
    ]
    assert run_cli("pipeline.prepare", "--config", str(config), *overrides).code == 0
    return config, overrides


def test_auto_plans_first_trains_each_candidate_and_records_its_choice(folder, tmp_path):
    config, overrides = folder
    result = run_cli("pipeline.auto", "--config", str(config), *overrides)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    plan = next(i for i, line in enumerate(lines) if line.startswith("auto: plan for 0.5 min"))
    first_training = next(i for i, line in enumerate(lines) if line.startswith("train:"))
    assert plan < first_training
    assert "2 candidates: dn (" in lines[plan] and ", dn_wide (" in lines[plan]
    assert "left out" not in result.out
    # the first candidate's share is its part of the same steps for both: less than all of
    # (0.5 min less the 10% reserve) over 3 folds; the second gets what the first left
    shares = [
        float(line.split(", ")[-1].split(" min per fold")[0])
        for line in lines
        if line.startswith("== auto: candidate ")
    ]
    assert len(shares) == 2 and 0 < shares[0] < 0.5 * 0.9 / 3
    for name in ("dn", "dn_wide"):
        assert (tmp_path / "runs" / f"tiny-{name}" / "cv.json").is_file()
    recipe = json.loads((tmp_path / "runs" / "tiny" / "recipe.json").read_text())
    assert recipe["columns"][:2] == ["dn", "dn_wide"] and len(recipe["columns"]) == 3
    assert sum(recipe["weights"]) == pytest.approx(1.0)
    assert recipe["experiments"] == {"dn": "tiny-dn", "dn_wide": "tiny-dn_wide"}
    assert set(recipe["fold_options"]) == {"0", "1", "2"}
    submission = tmp_path / "subs" / "tiny.csv"
    rows = submission.read_text().splitlines()
    assert rows[0] == "Image File,Y Channel Value" and len(rows) == 1 + 2  # two test scans
    chosen = next(line for line in lines if line.startswith("auto: chosen"))
    assert f"CV {recipe['cv']:.4f}" in chosen and "95% interval" in chosen
    assert any(line.startswith(f"auto: runner-up {recipe['runner_up']}") for line in lines)
    # one epoch of a tiny dncnn is far worse than the ladder's best rung on these pages: the
    # submission is the rung's own CSV, byte for byte, and one line says so
    rung = recipe["columns"][-1]
    assert recipe["fallback"] and recipe["weights"] == [0.0, 0.0, 1.0]
    assert recipe["cv"] == pytest.approx(recipe["ladder_cv"][rung])
    assert sum(f"the submission is the {rung} rung's" in line for line in lines) == 1
    assert run_cli("pipeline.baselines", "--config", str(config), *overrides).code == 0
    baseline = tmp_path / "subs" / f"tiny-baseline-{rung}.csv"
    assert submission.read_text() == baseline.read_text()
    # the procedure is an experiment of its own: its nested CV on the leaderboard, beside its
    # candidates, with the interval the chosen line printed
    cv = json.loads((tmp_path / "runs" / "tiny" / "cv.json").read_text())
    assert cv["cv"] == pytest.approx(recipe["cv"]) and cv["auto"]["option"] == rung
    assert cv["interval"] == recipe["interval"]
    board = {r["experiment"]: r for r in read_leaderboard(tmp_path / "runs" / "leaderboard.csv")}
    assert set(board) == {"tiny", "tiny-dn", "tiny-dn_wide"}
    row = board["tiny"]
    assert row["model"] == f"auto: {rung}" and row["cv"] == f"{recipe['cv']:.6f}"
    assert row["cv_low"] == f"{recipe['interval']['low']:.6f}"
    values = [float(r.split(",")[1]) for r in rows[1:]]
    score = sum(abs(v - 100.0) for v in values) / len(values)
    assert f"tiny: test {score:.4f} ({submission} against " in result.out
    runs = str(tmp_path / "runs")
    diff = run_cli("pipeline.leaderboard", "--runs", runs, "--diff", "tiny-dn", "tiny")
    assert diff.code == 0, diff.err
    assert "paired (" in diff.out and "tiny - tiny-dn" in diff.out


def test_a_pinned_recipe_makes_the_same_submission_without_training(folder, tmp_path, monkeypatch):
    config, overrides = folder
    assert run_cli("pipeline.auto", "--config", str(config), *overrides).code == 0
    submission = tmp_path / "subs" / "tiny.csv"
    made = submission.read_text()
    recipe = tmp_path / "runs" / "tiny" / "recipe.json"
    # pinned under another name: the same bytes, and no training
    again = run_cli(
        "pipeline.auto",
        "--config",
        str(config),
        *overrides,
        "experiment=pinned",
        f"auto.recipe={recipe}",
    )
    assert again.code == 0, again.err
    assert "train:" not in again.out and "auto: the pinned recipe" in again.out
    assert (tmp_path / "subs" / "pinned.csv").read_text() == made
    # run again as it was: the trained folds are kept (train.resume=auto), the same choice
    rerun = run_cli("pipeline.auto", "--config", str(config), *overrides)
    assert rerun.code == 0, rerun.err
    assert submission.read_text() == made
    # and on a machine whose timing now says no candidate fits the budget: the candidates
    # the first run trained are kept as they were, and so is the submission
    timed = auto_run.candidate_cost
    slower = lambda *a: dataclasses.replace(timed(*a), step_seconds=1e4)  # noqa: E731
    monkeypatch.setattr(auto_run, "candidate_cost", slower)
    starved = run_cli("pipeline.auto", "--config", str(config), *overrides)
    assert starved.code == 0, starved.err
    assert "left out" not in starved.out and "train:" in starved.out
    assert starved.out.count("started earlier, continues as it was") == 2
    assert submission.read_text() == made
    # a recipe that is not one: the error line, nothing written
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    wrong = run_cli(
        "pipeline.auto",
        "--config",
        str(config),
        *overrides,
        "experiment=wrong",
        f"auto.recipe={bad}",
    )
    assert wrong.code == 2 and wrong.err.startswith("error: auto.recipe: ")
    assert not (tmp_path / "subs" / "wrong.csv").exists()


def test_a_budget_no_candidate_fits_submits_the_rung_and_says_why(folder, tmp_path):
    config, overrides = folder
    result = run_cli("pipeline.auto", "--config", str(config), *overrides, "auto.minutes=0.0001")
    assert result.code == 0, result.err
    assert "train:" not in result.out
    left_out = [line for line in result.out.splitlines() if " left out: " in line]
    assert [line.split(" left out")[0] for line in left_out] == [
        "auto: plan: dn",
        "auto: plan: dn_wide",
    ]
    recipe = json.loads((tmp_path / "runs" / "tiny" / "recipe.json").read_text())
    rung = recipe["columns"][0]
    assert recipe["columns"] == [rung] and recipe["weights"] == [1.0] and recipe["fallback"]
    assert recipe["cv"] == pytest.approx(recipe["ladder_cv"][rung])
    assert run_cli("pipeline.baselines", "--config", str(config), *overrides).code == 0
    rung_csv = (tmp_path / "subs" / f"tiny-baseline-{rung}.csv").read_text()
    assert (tmp_path / "subs" / "tiny.csv").read_text() == rung_csv


@pytest.mark.parametrize(
    "bad, fragment",
    [("auto.minutes=0", "auto.minutes: must be > 0"), ("task.kind=denoise", "task.kind: auto")],
)
def test_bad_settings_are_refused_before_any_work(folder, tmp_path, bad, fragment):
    config, overrides = folder
    result = run_cli("pipeline.auto", "--config", str(config), *overrides, bad)
    assert result.code == 2 and result.err.startswith("error: ") and fragment in result.err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert not (tmp_path / "subs" / "tiny.csv").exists()
