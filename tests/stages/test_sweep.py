"""The W&B sweep: configs/sweep.yaml names real config keys, and one trial trains every fold
and reports the CV mean to its own run (offline here; real sweeps need W&B online)."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from pipeline import sweep
from pipeline.core.config.load import REPO_ROOT, load_config
from pipeline.core.models import count_params
from pipeline.core.models.factory import build_checked_model
from tests.conftest import make_dataset
from tests.wandb_offline import offline_runs

SWEEP = REPO_ROOT / "configs" / "sweep.yaml"


def _sample(spec: dict):
    if "values" in spec:
        return spec["values"][-1]
    return spec.get("value", spec.get("max"))


def test_sweep_yaml_runs_a_trial_with_config_keys():
    spec = yaml.safe_load(SWEEP.read_text())
    command = spec["command"]
    assert command[2:4] == ["-m", "pipeline.sweep"] and command[-1] == "${args_no_hyphens}"
    config = command[command.index("--config") + 1]
    assert spec["metric"] == {"name": "cv", "goal": "minimize"}
    # ${args_no_hyphens} passes each parameter as key=value: each must be a valid override
    for key, param in spec["parameters"].items():
        cfg = load_config(REPO_ROOT / config, [f"{key}={_sample(param)}"])
        node = cfg
        for part in key.split("."):
            node = node[part]
        assert node == _sample(param), key
    # and a trial with every parameter set builds the config's model (model.args are its
    # constructor's arguments: a key another model takes fails here)
    trial = [f"{key}={_sample(param)}" for key, param in spec["parameters"].items()]
    model, params = build_checked_model(load_config(REPO_ROOT / config, trial))
    assert params == count_params(model) > 0


def test_a_trial_trains_every_fold_and_reports_the_cv(tmp_path, monkeypatch, capsys):
    root = make_dataset(tmp_path / "data", pages=2, size=(32, 48))
    for var, sub in [("WANDB_DIR", ""), ("WANDB_DATA_DIR", "d"), ("WANDB_CACHE_DIR", "c")]:
        monkeypatch.setenv(var, str(tmp_path / "wandb_home" / sub))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_home" / "cfg"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    overrides = [
        "experiment=trial",
        f"data.root={root}",
        f"data.prepared={tmp_path / 'prepared'}",
        f"runs={tmp_path / 'runs'}",
        "prepare.patch_size=16",
        "prepare.stride=16",
        "model.name=dncnn",
        "model.args.depth=3",
        "model.args.channels=8",
        "train.epochs=1",
        "train.batch_size=4",
        "infer.tta=[0]",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    assert sweep.main([*overrides, "train.lr=0.003"]) == 0
    assert os.environ["WANDB_MODE"] == "offline"  # restored after the stages

    runs = offline_runs(tmp_path / "wandb_home" / "wandb")
    assert len(runs) == 1  # the trial's run only: no fold or summary runs inside a trial
    trial = runs[0]
    name = trial.name
    assert trial.job_type == "sweep-trial" and trial.group == "trial"
    assert name.startswith("trial-") and name == f"trial-{trial.folder.name.rsplit('-', 1)[1]}"
    experiment = tmp_path / "runs" / name
    for fold in range(3):
        done = json.loads((experiment / f"fold{fold}" / "done.json").read_text())
        assert done["epochs_run"] == 1
    cv = json.loads((experiment / "cv.json").read_text())
    assert trial.summary["cv"] == pytest.approx(cv["cv"], abs=1e-12)
    assert [trial.summary[f"fold{f}/score"] for f in range(3)] == pytest.approx(
        [f["score"] for f in cv["folds"]], abs=1e-12
    )
    assert trial.config["train"]["lr"] == 0.003
    assert trial.config["experiment"] == name
    assert f"cv {cv['cv']:.4f}" in capsys.readouterr().out.splitlines()[-1]
    assert (experiment / "plots" / "curves.png").is_file()
