"""The benchmark: a quick run end to end, its baseline loader, its training-step variants."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import bench
from pipeline.bench.__main__ import main as bench_main
from pipeline.bench.demo import bench_demo
from pipeline.bench.loading import DecodeEverySample, apply_dihedral
from pipeline.bench.training import make_trainer, trainer_step
from pipeline.core.config.load import REPO_ROOT
from pipeline.core.models import list_models
from pipeline.core.util.errors import UserError
from tests.conftest import assert_user_error, run_cli


def test_quick_run_writes_every_number(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    out = tmp_path / "bench.json"
    assert bench_main(["--quick", "--no-demo", "--json", str(out), "model.args.width=8"]) == 0
    result = json.loads(out.read_text())
    for key in ("loader_speedup_256", "tta8_cost_ratio", "tiled_peak_mem_ratio_16mp_1mp"):
        assert isinstance(result[key], float) and result[key] > 0, key
    assert result["demo_wall_s"] is None
    assert [(r["patch"], r["workers"]) for r in result["loading"]] == [
        (128, 0),
        (128, 2),
        (256, 0),
        (256, 2),
    ]
    assert [r["model"] for r in result["training"]] == list_models("restorer")
    assert [r["mode"] for r in result["inference"]] == [
        "single pass",
        "8-view TTA",
        "8-view TTA x 3 folds",
    ]
    # The blending buffers grow with the image's width (one band), not with its area.
    memory = result["memory"]["rows"]
    assert [r["side"] for r in memory] == list(bench.QUICK.memory_sides)
    assert memory[-1]["numpy_peak_mb"] / memory[0]["numpy_peak_mb"] < 192 / 64
    printed = capsys.readouterr().out
    header = (
        "| patch | workers | prepared store | hand-written flips | decode every sample | speedup "
    )
    assert header + "| vs hand-written |" in printed
    for r in result["loading"]:  # the default albumentations pipeline against the hand-written
        assert r["vs_hand_written"] == pytest.approx(r["prepared"] / r["hand_written"])
    assert result["augment_vs_hand_written"] == min(r["vs_hand_written"] for r in result["loading"])
    assert "| demo run, seconds | <= 600 | n/a | not run |" in printed


def test_the_baseline_decodes_and_crops_both_images_alike(tmp_path: Path):
    pairs = bench.write_pairs(tmp_path, 1, 64)
    scan_full = np.asarray(bench.cv2.imread(str(pairs[0].scan)))[..., ::-1]
    clean_full = np.asarray(bench.cv2.imread(str(pairs[0].clean)))[..., ::-1]
    dataset = DecodeEverySample(pairs, 16)
    for draw in range(5):
        scan, clean = (t.numpy().transpose(1, 2, 0) for t in dataset[(0, draw, 0)])
        # Find the window by undoing each of the 8 dihedral transforms on the scan crop.
        found = [
            (y, x)
            for mirror in (False, True)
            for turns in range(4)
            for y in range(49)
            for x in range(49)
            if np.array_equal(
                apply_dihedral(scan_full[y : y + 16, x : x + 16], mirror, turns), scan
            )
            and np.array_equal(
                apply_dihedral(clean_full[y : y + 16, x : x + 16], mirror, turns), clean
            )
        ]
        assert found, "the scan and clean crops are not the same window of their images"


def test_the_timed_step_is_the_trainers_and_its_variants_take_the_same_step(tmp_path: Path):
    """The benchmark times FoldTrainer.train_step itself (loss, clipping, EMA, schedule): two
    of its steps move the weights and the EMA exactly as two steps of the trainer do, and the
    channels_last + compiled variant takes the same steps."""
    cpu = torch.device("cpu")
    overrides = ["train.ema=0.9", "train.grad_clip=0.5"]
    gen = torch.Generator().manual_seed(1)
    scan, clean = (torch.rand(2, 3, 32, 32, generator=gen) for _ in range(2))

    def two_steps(**variant) -> tuple[float, dict, dict]:
        trainer = make_trainer("arcnn", None, overrides, tmp_path, cpu)
        step = trainer_step(trainer, **variant)
        losses = [step(scan, clean)["train_loss"] for _ in range(2)]
        return losses[-1], trainer.model.state_dict(), trainer.ema.module.state_dict()

    reference = make_trainer("arcnn", None, overrides, tmp_path, cpu)
    initial = {k: v.clone() for k, v in reference.model.state_dict().items()}
    for _ in range(2):
        loss = reference.train_step(scan, clean)["train_loss"]
    assert reference.ema is not None and reference.state.step == 0  # train_step alone: no counters
    for variant, tol in (({}, 0.0), ({"channels_last": True, "compile": "eager"}, 1e-4)):
        v_loss, weights, ema = two_steps(**variant)
        assert v_loss == pytest.approx(loss, rel=tol, abs=tol), variant
        for name, value in reference.model.state_dict().items():
            assert (value - initial[name]).abs().max() > 1e-4, name  # the step moved it
            assert torch.allclose(weights[name], value, atol=tol), (variant, name)
        for name, value in reference.ema.module.state_dict().items():
            assert torch.allclose(ema[name], value, atol=tol), (variant, name)


def test_a_failing_demo_stage_is_reported_by_name(tmp_path: Path):
    with pytest.raises(UserError, match=r"stage make_demo failed: error: train\.epochs"):
        bench_demo(str(REPO_ROOT / "configs" / "demo.yaml"), ["train.epochs=0"], tmp_path)


def test_json_into_a_missing_folder_is_a_user_error(tmp_path: Path):
    result = run_cli("pipeline.bench", "--json", str(tmp_path / "no" / "b.json"))
    assert_user_error(result, "--json", "does not exist")


def test_every_command_the_bench_help_lists_has_a_help_of_its_own():
    listed = run_cli("pipeline.bench", "--help")
    assert listed.code == 0
    commands = [
        line.split()[3]
        for line in listed.out.splitlines()
        if line.startswith("  python -m pipeline.bench ")
    ]
    assert commands == ["coverage", "scale", "study-sets", "ranking"]
    for command in commands:
        result = run_cli("pipeline.bench", command, "--help")
        assert result.code == 0, result.err
        assert result.out.startswith(f"usage: python -m pipeline.bench {command} "), command
