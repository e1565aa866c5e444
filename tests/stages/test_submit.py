"""pipeline.submit: the CSV is checked like the leaderboard would; with no Kaggle credentials
the exact command is printed; with credentials the kaggle client is called (faked here)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from pipeline import submit
from pipeline.core.scoring.kaggle import kaggle_credentials
from pipeline.core.task.submission import format_csv
from pipeline.core.util.errors import UserError
from tests.conftest import assert_user_error, make_dataset, run_cli

TEST_IDS = ["Test.00001.01", "Test.00002.01"]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    """A dataset with two test scans, an experiment's CV and its submission CSV; a home
    folder and environment with no Kaggle credentials."""
    root = make_dataset(tmp_path / "data", titles=("A", "B"), pages=1, size=(16, 16))
    runs = tmp_path / "runs"
    (runs / "exp").mkdir(parents=True)
    (runs / "exp" / "cv.json").write_text(json.dumps({"cv": 1.23456, "fold_std": 0.5}))
    csv = tmp_path / "subs" / "exp.csv"
    csv.parent.mkdir()
    csv.write_text(format_csv({TEST_IDS[0]: 100.5, TEST_IDS[1]: 200.25}))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    overrides = [
        "experiment=exp",
        f"data.root={root}",
        f"runs={runs}",
        f"submissions={csv.parent}",
        "model.name=dncnn",
    ]
    return csv, overrides


def test_without_credentials_it_prints_the_exact_command(setup, capsys):
    csv, overrides = setup
    assert kaggle_credentials() is None
    assert submit.main([*overrides, "kaggle.competition=descan-course"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"submit: {csv} is a valid submission (2 rows)"
    assert out[1] == "submit: no Kaggle credentials found (see --help); to submit, run:"
    command = shlex.split(out[2])
    assert command[:5] == ["kaggle", "competitions", "submit", "-c", "descan-course"]
    assert command[5:7] == ["-f", str(csv)]
    assert command[7] == "-m" and command[8].startswith("exp: CV 1.2346 (folds ± 0.5000), dncnn")
    assert len(command) == 9


def test_with_credentials_the_kaggle_client_submits(setup, monkeypatch, capsys):
    csv, overrides = setup
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0" * 32)  # read by the client's import, never sent here
    from kaggle.api import kaggle_api_extended

    calls = []

    class FakeApi:
        def authenticate(self):
            calls.append("authenticate")

        def competition_submit(self, file_name, message, competition):
            calls.append((file_name, message, competition))
            return type("Reply", (), {"message": "Successfully submitted"})()

    monkeypatch.setattr(kaggle_api_extended, "KaggleApi", FakeApi)
    assert kaggle_credentials() == "KAGGLE_USERNAME and KAGGLE_KEY"
    other = csv.with_name("other.csv")
    other.write_text(csv.read_text())
    argv = [str(other), *overrides, "kaggle.competition=descan-course", "-m", "try 2"]
    assert submit.main(argv) == 0
    assert calls == ["authenticate", (str(other), "try 2", "descan-course")]
    assert capsys.readouterr().out.splitlines()[-1] == "submit: kaggle says: Successfully submitted"

    calls.clear()
    assert submit.main([*argv, "--dry-run"]) == 0
    assert calls == []
    assert shlex.split(capsys.readouterr().out.splitlines()[-1])[-1] == "try 2"


def test_credentials_files_are_found(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "conf"))
    assert kaggle_credentials() is None
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "kaggle.json").write_text('{"username": "u", "key": "k"}')
    assert kaggle_credentials() == str(tmp_path / "conf" / "kaggle.json")
    monkeypatch.setenv("KAGGLE_API_TOKEN", "token")
    assert kaggle_credentials() == "KAGGLE_API_TOKEN"


def test_bad_submissions_are_user_errors(setup):
    csv, overrides = setup
    csv.write_text(format_csv({TEST_IDS[0]: 100.5}))
    result = run_cli("pipeline.submit", *overrides, "kaggle.competition=descan-course")
    assert_user_error(result, str(csv), "missing 1 id(s)", TEST_IDS[1])
    assert "kaggle competitions submit" not in result.out


def test_competition_must_be_set(setup, capsys):
    _, overrides = setup
    with pytest.raises(UserError, match=r"kaggle\.competition: not set"):
        submit.main(overrides)
    assert "is a valid submission" in capsys.readouterr().out
