"""After infer: the CV summary against the folds' metrics, the plots, the W&B runs (offline,
grouped by experiment), `pipeline.report` and `leaderboard --diff`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import export, infer, leaderboard, prepare, report, train
from pipeline.core.config.load import MISSING, config_diff, load_config, to_yaml
from pipeline.core.report.plots import worst_size
from pipeline.core.runs.experiment import Experiment
from pipeline.core.runs.leaderboard import diff_report
from pipeline.core.scoring.evaluation import title_table
from pipeline.core.util.errors import UserError
from tests.conftest import make_dataset, run_cli
from tests.wandb_offline import offline_runs

FOLDS = 3
IMAGES = 6  # 3 titles x 2 pages


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory):
    """A tiny experiment trained and scored in this process with W&B offline in a temp dir.
    One TTA view, so each fold's out-of-fold score is its final validation score."""
    tmp = tmp_path_factory.mktemp("results")
    root = make_dataset(tmp / "data", pages=2, size=(32, 48))
    overrides = [
        "experiment=exp_a",
        f"data.root={root}",
        f"data.prepared={tmp / 'prepared'}",
        f"runs={tmp / 'runs'}",
        f"submissions={tmp / 'subs'}",
        "prepare.patch_size=16",
        "prepare.stride=16",
        "model.name=dncnn",
        "model.args.depth=3",
        "model.args.channels=8",
        "train.epochs=2",
        "train.batch_size=4",
        "train.patience=0",
        "train.log_images=1",
        "infer.tta=[0]",
        "infer.tile=32",
        "infer.overlap=8",
        "plots.worst=4",
        "wandb.oof_images=2",
    ]
    with pytest.MonkeyPatch.context() as env:
        for var, sub in [
            ("WANDB_DIR", ""),
            ("WANDB_DATA_DIR", "data"),
            ("WANDB_CACHE_DIR", "cache"),
            ("WANDB_CONFIG_DIR", "config"),
        ]:
            env.setenv(var, str(tmp / "wandb_home" / sub))
        env.setenv("WANDB_MODE", "offline")
        for stage in (prepare, train, infer, export):
            assert stage.main(overrides) == 0
    cfg = load_config(None, overrides)
    return cfg, overrides, tmp / "runs" / "exp_a", tmp / "wandb_home" / "wandb"


def _best_val_scores(run: Path) -> dict[int, float]:
    """Each fold's last val_score (train.select=final, the default: the weights infer
    scores), read straight from its metrics.csv."""
    best = {}
    for fold in range(FOLDS):
        with open(run / f"fold{fold}" / "metrics.csv") as f:
            best[fold] = [float(r["val_score"]) for r in csv.DictReader(f)][-1]
    return best


def test_cv_is_the_mean_of_the_folds_metrics(experiment):
    _, _, run, _ = experiment
    best = _best_val_scores(run)
    cv = json.loads((run / "cv.json").read_text())
    assert {f["fold"]: f["score"] for f in cv["folds"]} == pytest.approx(best, abs=1e-9)
    # equal folds (2 images each): the mean over images is the mean of the folds' means
    assert cv["cv"] == pytest.approx(np.mean(list(best.values())), abs=1e-9)
    assert cv["fold_mean"] == pytest.approx(cv["cv"], abs=1e-9)
    table = Experiment(run.parent, run.name).fold_table()
    assert [r["fold"] for r in table] == list(range(FOLDS))
    for r in table:
        assert r["val_score"] == pytest.approx(best[r["fold"]], abs=1e-12)
        assert r["oof_score"] == pytest.approx(r["val_score"], abs=1e-9)
        assert r["images"] == 2


def test_titles_and_oof_rows(experiment):
    _, _, run, _ = experiment
    rows = Experiment(run.parent, run.name).read_oof()
    assert len(rows) == IMAGES
    titles = title_table(rows)
    assert sorted(t["title"] for t in titles) == ["Alpha", "Beta", "Gamma"]
    scores = [t["score"] for t in titles]
    assert scores == sorted(scores, reverse=True)  # worst title first
    for t in titles:
        mine = [r["abs_err"] for r in rows if r["title"] == t["title"]]
        assert t["images"] == 2 and t["score"] == pytest.approx(np.mean(mine), abs=1e-12)


def _check_png(path: Path, size: tuple[int, int]) -> None:
    image = Image.open(path)
    assert image.format == "PNG" and image.size == size, (path, image.size)
    rgb = np.asarray(image.convert("RGB")).astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 50, path  # something is drawn, not a blank canvas


def test_plots_are_pngs_of_the_expected_size(experiment):
    _, _, run, _ = experiment
    plots = run / "plots"
    assert sorted(p.name for p in plots.iterdir()) == ["curves.png", "errors.png", "worst.png"]
    _check_png(plots / "curves.png", (1000, 400))
    _check_png(plots / "errors.png", (1000, 400))
    _check_png(plots / "worst.png", worst_size(4))
    assert worst_size(4) == (900, 1200)


def test_wandb_offline_runs_are_grouped_by_experiment(experiment):
    _, _, run, wandb_dir = experiment
    runs = offline_runs(wandb_dir)
    assert sorted((r.name, r.job_type) for r in runs) == [
        ("exp_a-fold0", "train"),
        ("exp_a-fold1", "train"),
        ("exp_a-fold2", "train"),
        ("exp_a-submission", "submission"),
        ("exp_a-summary", "summary"),
    ]
    assert {r.group for r in runs} == {"exp_a"}
    summary = next(r for r in runs if r.job_type == "summary")
    cv = json.loads((run / "cv.json").read_text())
    best = _best_val_scores(run)
    assert summary.summary["cv"] == pytest.approx(cv["cv"], abs=1e-12)
    assert summary.summary["cv"] == pytest.approx(np.mean(list(best.values())), abs=1e-9)
    assert summary.summary["fold_std"] == pytest.approx(np.std(list(best.values())), abs=1e-9)
    assert summary.summary["images"] == IMAGES
    assert summary.config["model"]["args"] == {"depth": 3, "channels": 8}
    assert summary.config["infer"]["tta"] == [0]
    # the OOF table: every image a row, the worst wandb.oof_images=2 with their triplet
    oof = next(paths for name, paths in summary.artifacts.items() if name.endswith("-oof"))
    assert len([p for p in oof if p.startswith("media/images/")]) == 2
    table = json.loads(next(summary.folder.glob("files/media/table/oof_*.table.json")).read_text())
    assert len(table["data"]) == IMAGES
    errors = [row[table["columns"].index("abs_err")] for row in table["data"]]
    assert errors == sorted(errors, reverse=True)
    assert {"plots/curves/width", "plots/worst/height"} <= summary.summary.keys()
    fold_run = next(r for r in runs if r.name == "exp_a-fold1")
    assert fold_run.summary["final/score"] == pytest.approx(best[1], abs=1e-12)


def test_wandb_artifacts_trace_the_submission_to_the_fold_models(experiment):
    """Each fold run logs the weights it contributes, the summary run the out-of-fold table and
    CV (made from the fold models), the submission run the CSV (made from both): offline,
    the inputs are in the runs' config with the digests W&B gives the logged versions."""
    _, _, run, wandb_dir = experiment
    runs = {r.name: r for r in offline_runs(wandb_dir)}
    models = []
    for fold in range(FOLDS):
        logged = runs[f"exp_a-fold{fold}"].logged[f"exp_a-fold{fold}"]
        assert logged["type"] == "model"
        assert runs[f"exp_a-fold{fold}"].artifacts[f"exp_a-fold{fold}"] == ["done.json", "final.pt"]
        assert logged["metadata"]["fold"] == fold and logged["metadata"]["select"] == "final"
        assert f"sha-{logged['digest'][:16]}" in logged["aliases"]
        models.append({"name": f"exp_a-fold{fold}", "type": "model", "digest": logged["digest"]})
    summary = runs["exp_a-summary"]
    assert summary.config["inputs"] == models
    cv = summary.logged["exp_a-cv"]
    assert cv["type"] == "oof"
    assert sorted(summary.artifacts["exp_a-cv"]) == ["config.yaml", "cv.json", "oof_scores.csv"]
    assert cv["metadata"]["cv"] == json.loads((run / "cv.json").read_text())["cv"]
    submission = runs["exp_a-submission"]
    sub = submission.logged["exp_a-submission"]
    assert sub["type"] == "submission" and submission.artifacts["exp_a-submission"] == ["exp_a.csv"]
    oof = {"name": "exp_a-cv", "type": "oof", "digest": cv["digest"]}
    assert submission.config["inputs"] == [oof, *models]


def test_report_redraws_the_plots(experiment, capsys):
    _, overrides, run, _ = experiment
    assert report.main([*overrides, "plots.worst=2", "wandb.mode=disabled"]) == 0
    assert "report: plots -> " in capsys.readouterr().out
    _check_png(run / "plots" / "worst.png", worst_size(2))
    assert worst_size(2) == (900, 600)
    with pytest.raises(UserError, match=r"never_run/cv\.json: not found.*pipeline\.infer"):
        report.main([*overrides, "experiment=never_run"])


def _second_experiment(experiment, name: str, changes: list[str], cv_value: float) -> None:
    """Another experiment's folder as train and infer leave it: config.yaml and cv.json."""
    _, overrides, run, _ = experiment
    cfg = load_config(None, [*overrides, f"experiment={name}", *changes])
    other = run.parent / name
    other.mkdir()
    (other / "config.yaml").write_text(to_yaml(cfg))
    cv = json.loads((run / "cv.json").read_text()) | {"cv": cv_value}
    (other / "cv.json").write_text(json.dumps(cv))


def test_diff_lists_exactly_the_changed_keys(experiment):
    _, _, run, _ = experiment
    cv_a = json.loads((run / "cv.json").read_text())["cv"]
    lr = load_config(None, []).train.lr
    _second_experiment(
        experiment,
        "exp_b",
        [
            f"train.lr={2 * lr}",
            "model.args.depth=5",
            "infer.tta=[0,1]",
            "data.sample_submission=s.csv",
        ],
        cv_a - 0.25,
    )
    result = run_cli("pipeline.leaderboard", "--runs", str(run.parent), "--diff", "exp_a", "exp_b")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "config: 4 key(s) differ between exp_a and exp_b"
    changed = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines[1:5]}
    assert changed == {
        "data.sample_submission": "None -> s.csv",
        "infer.tta": "[0] -> [0, 1]",
        "model.args.depth": "3 -> 5",
        "train.lr": f"{lr} -> {2 * lr}",
    }
    assert lines[5].startswith("CV: exp_a ")
    assert "delta -0.2500 (lower is better: exp_b is better)" in lines[5]
    # exp_b has a cv.json but no out-of-fold scores: nothing to pair yet
    assert lines[6:] == [
        "paired: no oof_scores.csv for both yet (`python -m pipeline.infer` writes it)"
    ]


def test_diff_of_a_key_set_on_one_side_only():
    a = {"experiment": "a", "model": {"name": "resunet", "args": {}}, "train": {"lr": 0.002}}
    b = {
        "experiment": "b",
        "model": {"name": "resunet", "args": {"base": 8}},
        "train": {"lr": 0.002},
    }
    assert config_diff(a, b) == [("model.args.base", MISSING, 8)]
    assert config_diff(a, a | {"experiment": "c"}) == []


def test_diff_errors_name_the_experiment(experiment):
    _, _, run, _ = experiment
    runs = str(run.parent)
    with pytest.raises(UserError, match=r"nope/config\.yaml: not found"):
        leaderboard.main(["--runs", runs, "--diff", "exp_a", "nope"])
    with pytest.raises(UserError, match="twice"):
        leaderboard.main(["--runs", runs, "--diff", "exp_a", "exp_a"])


def test_diff_without_cv_says_so(experiment):
    _, overrides, run, _ = experiment
    cfg = load_config(None, [*overrides, "experiment=exp_c", "train.epochs=9"])
    (run.parent / "exp_c").mkdir()
    (run.parent / "exp_c" / "config.yaml").write_text(to_yaml(cfg))
    text = diff_report(run.parent, "exp_a", "exp_c")
    assert text.splitlines() == [
        "config: 1 key(s) differ between exp_a and exp_c",
        "  train.epochs  2 -> 9",
        "CV: no cv.json for exp_c yet (`python -m pipeline.infer` writes it)",
    ]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("plots.worst=0", "plots.worst: must be at least 1, got 0"),
        ("wandb.oof_images=-1", "wandb.oof_images: must be >= 0, got -1"),
        ("kaggle.competition=My Comp", "kaggle.competition: expected the slug"),
    ],
)
def test_new_config_keys_are_checked(override: str, fragment: str):
    with pytest.raises(UserError, match=fragment):
        load_config(None, [override])
