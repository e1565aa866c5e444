"""The benchmark: a quick run end to end, its baseline loader, its training-step variants."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import bench
from pipeline.core.errors import UserError
from pipeline.core.models import build_model, list_models
from tests.conftest import assert_user_error, run_cli


def test_quick_run_writes_every_number(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--no-demo", "--json", str(out), "model.args.base=4"]) == 0
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
    assert "| patch | workers | prepared store | decode every sample | speedup |" in printed
    assert "| demo run, seconds | <= 600 | n/a | not run |" in printed


def test_the_baseline_decodes_and_crops_both_images_alike(tmp_path: Path):
    pairs = bench.write_pairs(tmp_path, 1, 64)
    scan_full = np.asarray(bench.cv2.imread(str(pairs[0].scan)))[..., ::-1]
    clean_full = np.asarray(bench.cv2.imread(str(pairs[0].clean)))[..., ::-1]
    dataset = bench.DecodeEverySample(pairs, 16)
    for _ in range(5):
        scan, clean = (t.numpy().transpose(1, 2, 0) for t in dataset[0])
        # Find the window by undoing each of the 8 dihedral transforms on the scan crop.
        found = [
            (y, x)
            for mirror in (False, True)
            for turns in range(4)
            for y in range(49)
            for x in range(49)
            if np.array_equal(
                bench.apply_dihedral(scan_full[y : y + 16, x : x + 16], mirror, turns), scan
            )
            and np.array_equal(
                bench.apply_dihedral(clean_full[y : y + 16, x : x + 16], mirror, turns), clean
            )
        ]
        assert found, "the scan and clean crops are not the same window of their images"


def test_training_step_variants_take_the_same_step():
    torch.manual_seed(0)
    model = build_model("resunet", base=4, norm="none")
    initial = copy.deepcopy(model.state_dict())
    cpu = torch.device("cpu")
    gen = torch.Generator().manual_seed(1)
    scan, clean = (torch.rand(2, 3, 32, 32, generator=gen) for _ in range(2))

    def two_steps(**variant) -> tuple[float, dict]:
        m = copy.deepcopy(model)
        step = bench.make_step(m, cpu, **variant)
        losses = [float(step(scan, clean)) for _ in range(2)]
        return losses[-1], m.state_dict()

    loss, weights = two_steps()
    for variant, tol in (
        ({"channels_last": True, "compile": "eager"}, 1e-5),
        ({"amp": True}, 0.02),
    ):
        v_loss, v_weights = two_steps(**variant)
        assert v_loss == pytest.approx(loss, rel=tol, abs=tol), variant
        for name, value in weights.items():
            moved = (value - initial[name]).abs().max()
            assert moved > 1e-4 and (v_weights[name] - initial[name]).abs().max() > 1e-4, name
            if tol < 1e-3:
                assert torch.allclose(v_weights[name], value, atol=tol), (variant, name)


def test_a_failing_demo_stage_is_reported_by_name(tmp_path: Path):
    with pytest.raises(UserError, match=r"stage make_demo failed: error: train\.epochs"):
        bench.bench_demo(
            str(bench.REPO_ROOT / "configs" / "demo.yaml"), ["train.epochs=0"], tmp_path
        )


def test_json_into_a_missing_folder_is_a_user_error(tmp_path: Path):
    result = run_cli("pipeline.bench", "--json", str(tmp_path / "no" / "b.json"))
    assert_user_error(result, "--json", "does not exist")
