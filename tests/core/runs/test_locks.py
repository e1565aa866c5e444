"""The fold locks: a live holder stops a second stage, a dead one's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from pipeline.core.runs.experiment import Experiment
from pipeline.core.util.errors import UserError


def _lock_file(path: Path, pid: int, stage: str = "train") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "host": socket.gethostname(), "stage": stage, "since": "then"}
    path.write_text(json.dumps(holder))


def test_a_live_holder_is_named_and_its_lock_kept(tmp_path: Path):
    run = Experiment(tmp_path, "exp")
    _lock_file(run.lock_path(1), os.getpid())
    busy = rf"fold 1 is in use by train \(pid {os.getpid()} on "
    with pytest.raises(UserError, match=busy), run.locked([0, 1], "infer"):
        pass
    assert run.lock_path(1).exists() and not run.lock_path(0).exists()  # fold 0 let go


def test_a_gone_holders_lock_is_taken_over_and_released(tmp_path: Path, capsys):
    run = Experiment(tmp_path, "exp")
    _lock_file(run.lock_path(0), 2**22 + 12345)  # above any pid this machine hands out
    with run.locked([0], "infer"):
        mine = json.loads(run.lock_path(0).read_text())
        assert (mine["pid"], mine["stage"]) == (os.getpid(), "infer")
    assert not run.lock_path(0).exists()
    assert capsys.readouterr().out == (
        f"infer: taking over {run.lock_path(0)} from pid {2**22 + 12345}, "
        "which is no longer running\n"
    )
