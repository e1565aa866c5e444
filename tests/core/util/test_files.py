"""Atomic writes keep old output on failure and give files the usual permissions; the local
leaderboard keeps one row per experiment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.core.runs.experiment import Experiment, read_leaderboard
from pipeline.core.util.files import atomic_dir, write_text


def test_a_failed_write_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "folder") as tmp:
        (tmp / "x").write_text("half")
        raise RuntimeError
    assert not (tmp_path / "folder").exists()
    write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp files left


def test_written_files_get_the_umask_permissions(tmp_path: Path):
    mask = os.umask(0o022)
    os.umask(mask)
    write_text(tmp_path / "a.txt", "x")
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f").write_text("y")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~mask


def test_leaderboard_replaces_an_experiments_earlier_row(tmp_path: Path):
    Experiment(tmp_path, "a").record_leaderboard({"cv": "3.0"})
    Experiment(tmp_path, "b").record_leaderboard({"cv": "2.0"})
    Experiment(tmp_path, "a").record_leaderboard({"cv": "1.5"})
    rows = read_leaderboard(tmp_path / "leaderboard.csv")
    assert [(r["experiment"], r["cv"]) for r in rows] == [("b", "2.0"), ("a", "1.5")]
