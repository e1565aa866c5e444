"""What survives what: kills at any moment, Ctrl-C, a NaN learning rate, a rerun of a finished
experiment, a changed config, a checkpoint that would run code, two trainings at once, a full
disk, and data changed after prepare. Each fault is injected for real (a killed subprocess,
an exploding learning rate, a pickle with a payload) or, for the disk, simulated."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import export, infer, prepare, train
from pipeline.core.config.load import load_config
from pipeline.core.runs.experiment import Experiment
from pipeline.core.train.trainer import FoldTrainer
from tests.conftest import (
    FAST,
    REPO,
    assert_user_error,
    make_dataset,
    paths,
    random_page,
    run_cli,
    run_stage,
    save,
)

EPOCHS = 3
# One fold, 12 steps an epoch, last.pt after every step, synthetic scans and EMA in play.
TRAIN = [
    *FAST,
    "train.fold=0",
    f"train.epochs={EPOCHS}",
    "train.samples_per_epoch=48",
    "train.checkpoint_minutes=0.000001",
    "train.ema=0.9",
    "augment.synthetic_p=0.5",
]


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """A prepared tiny dataset and the uninterrupted run every fault is compared with."""
    tmp = tmp_path_factory.mktemp("safety")
    root = make_dataset(tmp / "data", titles=("A", "B", "C"), pages=2, size=(32, 48))
    base = [*paths(tmp, root, "ref"), *TRAIN]
    assert prepare.main(base) == 0 and train.main(base) == 0
    return tmp, root, base


def overrides(ref, experiment: str, *extra: str) -> list[str]:
    _, _, base = ref
    return [*base, f"experiment={experiment}", *extra]


def rows(tmp: Path, experiment: str) -> list[dict]:
    """metrics.csv without the wall-clock column."""
    return [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in Experiment(tmp / "runs", experiment).read_metrics(0)
    ]


def same_rows(a: list[dict], b: list[dict]) -> None:
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b] == list(range(1, EPOCHS + 1))
    for ra, rb in zip(a, b, strict=True):
        assert ra == pytest.approx(rb, abs=1e-4)


def digest(folder: Path) -> dict[str, str]:
    """Every file under `folder`, by relative path, with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def start_train(args: list[str]) -> subprocess.Popen:
    """`python -m pipeline.train ARGS` in a process of its own, each step paced
    (tests/paced_train.py) so that it is still running when a test kills it at its n-th save."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "paced_train.py"), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_saves(path: Path, proc: subprocess.Popen, saves: int, timeout: float = 120) -> bool:
    """Wait until `path` has been written `saves` times; False if the process ended first."""
    seen, last = 0, None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp is not None and stamp != last:
            seen, last = seen + 1, stamp
            if seen >= saves:
                return True
        time.sleep(0.005)
    raise TimeoutError(f"{path} was not written {saves} times in {timeout} s")


def test_killed_at_random_moments_and_resumed_ends_as_if_never_stopped(ref):
    tmp = ref[0]
    args = overrides(ref, "killed", "train.resume=auto")
    last = Experiment(tmp / "runs", "killed").last(0)
    rng = random.Random(7)
    kills = []
    for _ in range(3):
        proc = start_train(args)
        if not wait_for_saves(last, proc, rng.randint(1, 12)):
            break  # it finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = torch.load(last, weights_only=True)
        kills.append((state["epoch"], state["batch"]))
    assert any(batch > 0 for _, batch in kills), kills  # at least one kill inside an epoch
    result = start_train(args)
    _, err = result.communicate(timeout=300)
    assert result.returncode == 0, err[-2000:]
    same_rows(rows(tmp, "killed"), rows(tmp, "ref"))
    run, reference = Experiment(tmp / "runs", "killed"), Experiment(tmp / "runs", "ref")
    assert run.read_done(0)["best_epoch"] == reference.read_done(0)["best_epoch"]
    a = torch.load(run.final(0), weights_only=True)["model"]
    b = torch.load(reference.final(0), weights_only=True)["model"]
    for name in b:
        assert torch.allclose(a[name], b[name], atol=1e-5), name


def test_ctrl_c_saves_last_pt_and_prints_the_command_that_resumes(ref):
    tmp = ref[0]
    args = overrides(ref, "ctrl_c")
    last = Experiment(tmp / "runs", "ctrl_c").last(0)
    proc = start_train(args)
    assert wait_for_saves(last, proc, 5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    lines = err.strip().splitlines()
    assert lines[-2].startswith("interrupted: fold 0 saved at epoch ")
    command = lines[-1].removeprefix("to continue: ")
    assert command.startswith("python -m pipeline.train ") and command.endswith("train.resume=true")
    state = torch.load(last, weights_only=True)
    assert f"step {state['step']} " in lines[-2]
    # the printed command continues where it stopped and ends as the uninterrupted run
    assert train.main(shlex.split(command)[3:]) == 0
    same_rows(rows(tmp, "ctrl_c"), rows(tmp, "ref"))


def test_a_trained_experiment_is_never_trained_over_without_being_asked(ref):
    tmp = ref[0]
    run = Experiment(tmp / "runs", "ref")
    before = digest(run.root)
    result = run_stage(train.main, *overrides(ref, "ref"))
    assert_user_error(
        result, "experiment 'ref'", "train.resume=true", "train.overwrite=true", "experiment="
    )
    assert digest(run.root) == before
    # resume=auto (what run_all.sh passes): the finished fold is kept as it is
    result = run_stage(train.main, *overrides(ref, "ref", "train.resume=auto"))
    assert result.code == 0 and "fold 0: finished: kept after epoch 3" in result.out
    assert digest(run.root) == before
    # a changed setting under the same name is refused, naming the setting
    lr = load_config(None, []).train.lr
    result = run_stage(
        train.main, *overrides(ref, "ref", "train.resume=auto", f"train.lr={2 * lr}")
    )
    assert_user_error(result, "config.yaml", "experiment 'ref'", f"train.lr: {lr} -> {2 * lr}")
    assert digest(run.root) == before


def test_overwrite_trains_the_folds_anew(ref):
    tmp = ref[0]
    args = overrides(ref, "again", "train.epochs=1")
    assert train.main(args) == 0
    first = Experiment(tmp / "runs", "again").read_done(0)
    assert train.main([*args, "train.overwrite=true", "train.lr=0.01"]) == 0
    run = Experiment(tmp / "runs", "again")
    assert run.read_done(0)["epochs_run"] == 1 and run.read_done(0) != first
    assert load_config(run.config_path, []).train.lr == 0.01


def test_a_run_on_other_data_is_an_experiment_of_its_own():
    assert load_config(None, []).experiment == "demo"
    assert load_config(None, ["data.root=/data/competition"]).experiment == "demo-competition"
    assert load_config(None, ["data.root=/data/competition", "experiment=x"]).experiment == "x"
    assert load_config(None, ["data.root=./data/demo"]).experiment == "demo"


class Payload:
    """Unpickling this runs a shell command: what a checkpoint from elsewhere could hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(ref, tmp_path):
    tmp = ref[0]
    run = Experiment(tmp / "runs", "ref")
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    torch.save({"model_name": "dncnn", "model_args": {}, "model": Payload(marker)}, evil)
    copy = Experiment(tmp / "runs", "evil")
    copy.fold_dir(0).mkdir(parents=True)
    copy.final(0).write_bytes(evil.read_bytes())
    result = run_cli("pipeline.infer", *overrides(ref, "evil", "infer.folds=[0]"))
    assert_user_error(result, "final.pt", "refused", "could run code")
    assert not marker.exists()
    # resuming from such a last.pt is refused the same way
    copy.last(0).write_bytes(evil.read_bytes())
    result = run_stage(train.main, *overrides(ref, "evil", "train.resume=true"))
    assert_user_error(result, "last.pt", "refused")
    assert not marker.exists()
    # a truncated checkpoint and another program's file
    good = run.final(0).read_bytes()
    copy.final(0).write_bytes(good[: len(good) // 2])
    result = run_stage(infer.main, *overrides(ref, "evil", "infer.folds=[0]"))
    assert_user_error(result, "final.pt", "unreadable checkpoint")
    torch.save({"weights": torch.zeros(3)}, copy.final(0))
    result = run_stage(infer.main, *overrides(ref, "evil", "infer.folds=[0]"))
    assert_user_error(result, "final.pt", "not a checkpoint of this pipeline")


def test_a_nan_learning_rate_stops_the_fold_with_the_files_it_had(ref):
    tmp = ref[0]
    result = run_cli("pipeline.train", *overrides(ref, "nan", "train.lr=1e30", "train.grad_clip=0"))
    assert_user_error(result, "fold 0, epoch 1, step", "train.lr", "train.grad_clip", "kept")
    assert "nan" in result.err or "inf" in result.err
    last = torch.load(Experiment(tmp / "runs", "nan").last(0), weights_only=True)
    assert all(torch.isfinite(v).all() for v in last["model"].values())  # the last good one


def test_a_nan_in_a_later_epoch_keeps_best_last_and_the_rows(ref, monkeypatch):
    tmp = ref[0]
    args = overrides(ref, "nan_later", "train.epochs=1", "train.checkpoint_minutes=0")
    assert train.main(args) == 0
    run = Experiment(tmp / "runs", "nan_later")
    kept = {p: p.read_bytes() for p in (run.best(0), run.last(0), run.metrics_path(0))}
    original = FoldTrainer.optimize
    calls = []

    def poisoned(self, loss, output=None):
        calls.append(1)
        return original(self, loss * float("nan") if len(calls) == 5 else loss, output)

    monkeypatch.setattr(FoldTrainer, "optimize", poisoned)
    result = run_stage(train.main, *args, "train.resume=true", "train.epochs=2")
    assert_user_error(result, "fold 0, epoch 2, step 16: the training loss is nan", "kept")
    assert {p: p.read_bytes() for p in kept} == kept


def test_two_runs_of_one_experiment_never_write_over_each_other(ref):
    tmp = ref[0]
    args = overrides(ref, "busy", "train.epochs=50", "train.checkpoint_minutes=0")
    lock = Experiment(tmp / "runs", "busy").lock_path(0)
    first = start_train(args)
    try:
        deadline = time.monotonic() + 120
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        second = run_cli("pipeline.train", *args)
        assert_user_error(second, "fold 0 is in use by train", f"pid {first.pid}")
        third = run_cli("pipeline.infer", *args, "infer.folds=[0]")
        assert_user_error(third, "fold 0 is in use by train", f"pid {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert lock.exists()  # a kill leaves its lock behind: the next run takes it over
    result = run_stage(train.main, *args, "train.resume=auto", "train.epochs=1")
    assert result.code == 0, result.err
    assert f"taking over {lock} from pid {first.pid}" in result.out
    assert not lock.exists()


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(ref, monkeypatch):
    tmp = ref[0]
    args = overrides(ref, "full", "train.epochs=1")
    assert train.main(args) == 0
    run = Experiment(tmp / "runs", "full")
    before = digest(run.fold_dir(0))
    monkeypatch.setattr(torch, "save", _no_space)
    result = run_stage(train.main, *args, "train.resume=true", "train.epochs=2")
    assert_user_error(result, str(run.fold_dir(0)), "cannot write (the disk is full)")
    assert digest(run.fold_dir(0)) == before  # no temporary file left behind either
    monkeypatch.undo()

    # predictions and the submission CSV: the same
    assert infer.main([*args, "infer.folds=[0]", "infer.oof=false"]) == 0
    assert export.main(args) == 0
    submission = tmp / "subs" / "full.csv"
    csv, preds = submission.read_bytes(), digest(run.test_dir)
    monkeypatch.setattr(Path, "write_bytes", _no_space)
    result = run_stage(infer.main, *args, "infer.folds=[0]", "infer.oof=false")
    assert_user_error(result, "cannot write (the disk is full)")
    monkeypatch.setattr(Path, "write_text", _no_space)
    result = run_stage(export.main, *args)
    assert_user_error(result, "full.csv", "cannot write (the disk is full)")
    monkeypatch.undo()
    assert submission.read_bytes() == csv and digest(run.test_dir) == preds


def test_data_changed_after_prepare_is_noticed_before_training_or_scoring(ref, tmp_path):
    _, root, base = ref
    data = tmp_path / "data"
    shutil_copy(root, data)
    args = [*base, f"data.root={data}", "experiment=changed", "train.epochs=1"]
    assert prepare.main(args) == 0
    clean = sorted((data / "train" / "clean").iterdir())[0]
    save(clean, random_page(np.random.default_rng(9), 32, 48))
    for stage in (train, infer):
        result = run_stage(stage.main, *args)
        assert_user_error(result, "training images changed since", "pipeline.prepare")


def shutil_copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)
