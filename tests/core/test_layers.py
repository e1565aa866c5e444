"""The core's floors, checked by import-linter: each floor of pipeline/core imports only the
floors below it (imports inside functions too), as pyproject.toml's contract lists them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from pipeline.core.config.schema import PIXEL_LOSSES
from pipeline.core.train.losses import LOSSES
from tests.conftest import REPO

CORE = REPO / "pipeline" / "core"


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the pipeline package found under `root`, with the repository's contract."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))",
        ],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_floor_imports_only_the_floors_below_it():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_the_contract_names_every_floor_of_the_core_once():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    named = [m.strip() for layer in contract["layers"] for m in layer.split("|")]
    floors = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").is_file())
    assert sorted(named) == floors and len(named) == len(set(named))


def test_an_import_from_a_higher_floor_breaks_the_contract(tmp_path: Path):
    """The check can fail: a copy of the package where the bottom floor imports the trainer."""
    shutil.copytree(
        REPO / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    files = tmp_path / "pipeline" / "core" / "util" / "files.py"
    files.write_text(files.read_text() + "\n\ndef _late():\n    from ..train import trainer\n")
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "pipeline.core.util is not allowed to import pipeline.core.train" in result.stdout
    assert "pipeline.core.util.files -> pipeline.core.train.trainer" in result.stdout


def test_the_losses_the_config_names_are_the_ones_training_builds():
    assert set(LOSSES) == set(PIXEL_LOSSES)
