"""The installable package: a wheel built from the repository, installed into a fresh virtual
environment, gives the `descan` command, equal to `python -m pipeline.<stage>`, with the shipped
configs inside it."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def sh(*args: str | Path, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A fresh virtual environment with the wheel installed, and the test environment's
    packages (torch & co.) visible through a .pth file: nothing is downloaded."""
    tmp = tmp_path_factory.mktemp("package")
    built = sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        tmp / "dist",
        REPO,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("descan-*.whl")
    venv = tmp / "venv"
    # Away from the repository and its PYTHONPATH: the build leaves descan.egg-info in the
    # source folder, and a pip that sees it there takes the package as installed already.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert sh(sys.executable, "-m", "venv", venv, cwd=tmp, env=env).returncode == 0
    python = venv / "bin" / "python"
    installed = sh(
        python, "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=tmp, env=env
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert (venv / "bin" / "descan").is_file(), installed.stdout[-2000:]
    purelib = sh(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp, env=env
    )
    (Path(purelib.stdout.strip()) / "deps.pth").write_text("\n".join(site.getsitepackages()))
    return wheel, venv / "bin" / "descan", tmp, env


def test_the_wheel_holds_the_package_and_its_configs(fresh):
    wheel = fresh[0]
    names = zipfile.ZipFile(wheel).namelist()
    assert "pipeline/train.py" in names and "pipeline/core/train/trainer.py" in names
    assert "pipeline/configs/demo.yaml" in names and "pipeline/configs/descan.yaml" in names
    assert not any(n.startswith("tests/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "descan = pipeline.__main__:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_descan_stage_is_python_dash_m_pipeline_stage(fresh):
    _, descan, tmp, env = fresh
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    listing = sh(descan, cwd=work, env=env)
    assert listing.returncode == 2 and "train " in listing.stdout  # no stage: the list
    ours = sh(descan, "train", "--help", cwd=work, env=env)
    theirs = sh(sys.executable, "-m", "pipeline.train", "--help", cwd=REPO)
    assert ours.returncode == 0 and ours.stdout == theirs.stdout
    # from a folder with no configs/: the shipped demo config, which points at ./data/demo
    missing = sh(descan, "prepare", cwd=work, env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: data/demo/train/scan: folder of scans not found"
    # and a shipped config by name
    other = sh(descan, "prepare", "--config", "configs/descan.yaml", cwd=work, env=env)
    assert other.returncode == 2 and "data/descan/train/scan" in other.stderr
    bench = sh(descan, "bench", "--help", cwd=work, env=env)  # a stage that is a package
    assert bench.returncode == 0 and "--no-demo" in bench.stdout, bench.stderr[-500:]
    unknown = sh(descan, "trian", cwd=work, env=env)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown stage 'trian'")
