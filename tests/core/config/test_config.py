"""Config loading: the demo config, overrides, and the errors a user can make."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.core.config.load import load_config
from pipeline.core.models import build_model, count_params
from pipeline.core.models.factory import build_checked_model
from pipeline.core.util.errors import UserError
from tests.conftest import REPO, assert_user_error, run_cli


def test_demo_config_and_overrides():
    cfg = load_config(None, ["train.epochs=3", "model.args.base=8", "infer.tta=[0,4]"])
    assert cfg.experiment == "demo"
    assert cfg.train.epochs == 3 and cfg.model.args.base == 8 and list(cfg.infer.tta) == [0, 4]
    assert cfg.data.root == "data/demo"


def test_another_model_on_the_command_line_leaves_the_files_args_behind():
    resunet = "configs/descan_resunet.yaml"  # resunet with base 32
    assert dict(load_config(resunet, []).model.args) == {"base": 32}
    assert dict(load_config(resunet, ["model.args.base=12"]).model.args) == {"base": 12}
    assert dict(load_config(resunet, ["model.name=nafnet"]).model.args) == {}
    cfg = load_config(resunet, ["model.args.width=8", "model.name=nafnet"])
    assert dict(cfg.model.args) == {"width": 8}
    model, params = build_checked_model(cfg)  # nafnet at width 8, not resunet at base 32
    assert params == count_params(model) == count_params(build_model("nafnet", width=8))
    assert params < count_params(build_model("nafnet"))
    assert model(torch.rand(1, 3, 20, 28)).shape == (1, 3, 20, 28)
    # Naming the file's own model keeps its args.
    assert dict(load_config(resunet, ["model.name=resunet"]).model.args) == {"base": 32}


def test_experiment_defaults_to_the_config_name(tmp_path: Path):
    path = tmp_path / "wide_model.yaml"
    path.write_text("model:\n  args:\n    base: 24\n")
    cfg = load_config(path, [])
    assert cfg.experiment == "wide_model" and cfg.model.args.base == 24


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.epochz=3", "unknown config key 'train.epochz'"),
        ("train.epochs=abc", "train.epochs"),
        ("train.epochs", "not of the form key=value"),
        ("train.scheduler=step", "train.scheduler"),
        ("train.fold=7", "fold 7 does not exist"),
        ("infer.tta=[0,9]", "infer.tta"),
        ("infer.overlap=200", "infer.overlap"),
    ],
)
def test_bad_overrides_are_user_errors(override: str, fragment: str):
    with pytest.raises(UserError, match=None) as info:
        load_config(None, [override])
    assert fragment in str(info.value)


def test_bad_yaml_names_the_file(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("train: [unclosed\n")
    result = run_cli("pipeline.train", "--config", str(path))
    assert_user_error(result, "broken.yaml")
    result = run_cli("pipeline.train", "--config", str(tmp_path / "missing.yaml"))
    assert_user_error(result, "missing.yaml: config file not found")


def test_a_bad_value_is_one_error_line():
    assert_user_error(
        run_cli("pipeline.prepare", "train.epochs=abc"), "'train.epochs'", "'abc'", "Integer"
    )


def test_unknown_key_from_the_command_line_exits_2():
    assert_user_error(run_cli("pipeline.prepare", "prepare.patch=64"), "'prepare.patch'")


@pytest.mark.parametrize(
    "module",
    ["make_demo", "prepare", "train", "infer", "export", "score", "leaderboard", "models"],
)
def test_every_stage_has_a_help(module: str):
    result = run_cli(f"pipeline.{module}", "--help")
    assert result.code == 0 and f"python -m pipeline.{module}" in result.out


EXPERIMENT_CONFIGS = sorted(p for p in (REPO / "configs").glob("*.yaml") if p.stem != "sweep")


@pytest.mark.parametrize("path", EXPERIMENT_CONFIGS, ids=[p.stem for p in EXPERIMENT_CONFIGS])
def test_every_shipped_config_loads_and_fits_the_budget(path: Path):
    cfg = load_config(path, [])
    assert cfg.experiment == path.stem
    _, params = build_checked_model(cfg)
    assert 0 < params <= cfg.model.max_params <= 10_000_000
