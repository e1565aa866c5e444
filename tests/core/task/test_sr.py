"""Super-resolution: MATLAB bicubic, Y PSNR/SSIM, the published Set5 bicubic table, LR/HR stores
and crops, and the models as super-resolution trains them (scale, bicubic input and skip)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from pipeline.core.config.load import load_config
from pipeline.core.data.augment import Augmenter
from pipeline.core.data.dataset import PatchDataset
from pipeline.core.data.store import PairStore
from pipeline.core.models.factory import BicubicInput, BicubicSkip, build_checked_model
from pipeline.core.scoring.evaluation import score_folders
from pipeline.core.task.metrics import psnr_y, shave, ssim, ssim_y, y_bt601
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import list_images, read_rgb
from pipeline.core.util.resize import contributions, imresize, imresize_uint8, modcrop
from pipeline.evaluate import main as evaluate_main
from pipeline.upscale import main as upscale_main
from pipeline.upscale import output_stem, upscale_folder
from tests.conftest import REPO, assert_user_error, make_sr, run_cli, save, sr_overrides

# The repository's ../shared/data/set5 (as the issue names it), or where SET5_DIR points.
SET5 = Path(os.environ.get("SET5_DIR", REPO.parent / "shared" / "data" / "set5"))
if not SET5.is_dir() and "SET5_DIR" not in os.environ:
    SET5 = Path("/work/shared/data/set5")  # the shared copy, seen from a worktree
PUBLISHED_Y_PSNR = {2: 33.66, 3: 30.39, 4: 28.42}
needs_set5 = pytest.mark.skipif(not SET5.is_dir(), reason="Set5 is not on this machine")


def test_upscaling_a_ramp_lands_on_matlab_pixel_centres():
    # The cubic reproduces a linear ramp exactly away from the borders, so each output pixel
    # reads the input coordinate MATLAB maps it to: u = x / s + (1 - 1 / s) / 2 (1-based).
    for s in (2, 3, 4):
        ramp = torch.arange(1, 21, dtype=torch.float64).repeat(3, 1)  # f(i) = i
        out = imresize(ramp, s)[0]
        x = torch.arange(1, 20 * s + 1, dtype=torch.float64)
        u = x / s + 0.5 * (1 - 1 / s)
        inner = slice(3 * s, -3 * s)
        assert out.shape == (20 * s,)
        torch.testing.assert_close(out[inner], u[inner], rtol=0, atol=1e-12)


def test_downscaling_widens_the_kernel_and_mirrors_the_border():
    indices, weights = contributions(12, 4, 1 / 3)
    assert indices.shape == weights.shape == (4, 14)  # 4 / (1/3) = 12 taps, plus 2
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert indices.min() == 0 and indices.max() == 11
    # Output pixel 1 is centred on input 2 (1-based); its taps reach 1-based -4..9, and those
    # before the first pixel are mirrored: 0 -> 1, -1 -> 2, ..., -4 -> 5 (0-based: 4, 3, ..., 0).
    assert indices[0, :8].tolist() == [4, 3, 2, 1, 0, 0, 1, 2]
    # Without antialiasing (upscaling) only 4 taps have weight.
    _, up = contributions(4, 8, 2.0)
    assert (np.abs(up) > 0).sum(axis=1).max() == 4


def test_sizes_follow_matlab_and_uint8_matches_float_before_rounding():
    rng = np.random.default_rng(0)
    # Values in 60..190: bicubic overshoot stays inside 0..255, so nothing saturates.
    rgb = rng.integers(60, 191, (17, 23, 3), dtype=np.uint8)
    assert imresize_uint8(rgb, 3).shape == (51, 69, 3)
    assert imresize_uint8(rgb, 1 / 3).shape == (6, 8, 3)  # ceil(17/3), ceil(23/3)
    batch = torch.from_numpy(rgb).permute(2, 0, 1)[None].double()
    assert imresize(batch, 2).shape == (1, 3, 34, 46)
    # Rounding after each pass moves a value by less than a level or two.
    diff = imresize_uint8(rgb, 2).astype(float) - imresize(batch, 2)[0].permute(1, 2, 0).numpy()
    assert np.abs(diff).max() < 2.0
    with pytest.raises(ValueError, match="float tensor"):
        imresize(torch.zeros(4, 4, dtype=torch.uint8), 2)


def test_modcrop_and_output_names():
    assert modcrop(np.zeros((512, 343, 3)), 3).shape == (510, 342, 3)
    assert modcrop(np.zeros((512, 512)), 4).shape == (512, 512)
    assert output_stem("babyx2", 2) == "baby"
    assert output_stem("babyx2", 3) == "babyx2"
    assert output_stem("x4", 4) == "x4"  # never an empty name


def test_y_bt601_by_hand():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(y_bt601(rgb), [[16.0, 235.0, 16 + 65.481, 16 + 24.966]])


def test_crop_border_leaves_out_exactly_the_border():
    a = np.full((12, 14, 3), 100, np.uint8)
    b = a.copy()
    b[:2, :] = 0
    b[:, -2:] = 0
    assert psnr_y(b, a, crop_border=2) == float("inf")
    b[2, 2] = 110  # one pixel inside: Y moves by 10 * 219 / 255
    dy = 10 * (65.481 + 128.553 + 24.966) / 255
    expected = 10 * np.log10(255**2 / (dy**2 / (8 * 10)))
    assert psnr_y(b, a, crop_border=2) == pytest.approx(expected)
    assert shave(a, 2).shape == (8, 10, 3)
    with pytest.raises(ValueError, match="nothing left"):
        shave(a, 6)


def test_ssim_equals_the_reference_gaussian_ssim():
    # scikit-image with Wang et al.'s settings is an independent implementation.
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    settings = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    ref_y = structural_similarity(y_bt601(a), y_bt601(b), data_range=255, **settings)
    assert ssim_y(a, b) == pytest.approx(ref_y, abs=1e-9)
    ref_rgb = structural_similarity(a, b, data_range=255, channel_axis=2, **settings)
    assert ssim(a, b) == pytest.approx(ref_rgb, abs=1e-9)
    assert ssim_y(a, a) == pytest.approx(1.0)
    assert 0.9 < ssim(a, b) < 0.99


@needs_set5
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscaling_set5_reproduces_its_matlab_low_resolution_images(scale: int):
    hr = list_images(SET5 / "HR")
    lr = list_images(SET5 / "LR_bicubic" / f"X{scale}")
    for name, path in hr.items():
        ours = imresize_uint8(modcrop(read_rgb(path), scale), 1 / scale)
        assert np.array_equal(ours, read_rgb(lr[f"{name}x{scale}"])), name


@needs_set5
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_set5_bicubic_baseline_matches_the_published_y_psnr(scale: int, tmp_path: Path):
    assert upscale_folder(SET5 / "LR_bicubic" / f"X{scale}", tmp_path, scale) == 5
    values = score_folders(tmp_path, SET5 / "HR", "psnr_y", crop_border=scale, scale=scale)
    assert sorted(values) == ["baby", "bird", "butterfly", "head", "woman"]
    assert np.mean(list(values.values())) == pytest.approx(PUBLISHED_Y_PSNR[scale], abs=0.02)


@needs_set5
def test_set5_x4_from_the_command_line(tmp_path: Path):
    out = tmp_path / "x4"
    result = run_cli("pipeline.upscale", str(SET5 / "LR_bicubic" / "X4"), str(out), "--scale", "4")
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == [
        f"{n}.png" for n in ("baby", "bird", "butterfly", "head", "woman")
    ]
    result = run_cli("pipeline.evaluate", str(out), str(SET5 / "HR"), "--scale", "4")
    assert result.code == 0, result.err
    assert float(result.out.splitlines()[-1]) == pytest.approx(28.42, abs=0.02)
    ssim_values = score_folders(out, SET5 / "HR", "ssim_y", crop_border=4, scale=4)
    assert np.mean(list(ssim_values.values())) == pytest.approx(0.8104, abs=0.001)  # published


def _pair(tmp_path: Path, pred_size=(24, 24), gt_size=(24, 24)) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    save(tmp_path / "pred" / "a.png", rng.integers(0, 256, (*pred_size, 3), dtype=np.uint8))
    save(tmp_path / "gt" / "a.png", rng.integers(0, 256, (*gt_size, 3), dtype=np.uint8))
    return tmp_path / "pred", tmp_path / "gt"


def test_evaluate_rgb_psnr_by_hand_with_no_crop_by_default(tmp_path: Path, capsys):
    a = np.zeros((16, 16, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # a corner pixel: mse = 256 / 768, and a crop would hide it
    save(tmp_path / "pred" / "a.png", b)
    save(tmp_path / "gt" / "a.png", a)
    assert evaluate_main([str(tmp_path / "pred"), str(tmp_path / "gt"), "--metric", "psnr"]) == 0
    assert float(capsys.readouterr().out.splitlines()[-1]) == pytest.approx(
        10 * np.log10(255**2 * 3)
    )


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("missing_pred", "no prediction for ground truth 'b'"),
        ("missing_gt", "no ground truth for prediction(s) 'c'"),
        ("tiny", "SSIM needs at least 11x11"),
    ],
)
def test_evaluate_user_errors(tmp_path: Path, case: str, fragment: str):
    pred, gt = _pair(tmp_path)
    if case == "missing_pred":
        save(gt / "b.png", np.zeros((24, 24, 3), np.uint8))
    if case == "missing_gt":
        save(pred / "c.png", np.zeros((24, 24, 3), np.uint8))
    metric, border = ("ssim_y", 7) if case == "tiny" else ("psnr_y", 0)
    with pytest.raises(UserError, match=re.escape(fragment)):
        score_folders(pred, gt, metric, border)


def test_evaluate_size_mismatch_is_a_one_line_error(tmp_path: Path):
    pred, gt = _pair(tmp_path, gt_size=(48, 48))
    assert_user_error(
        run_cli("pipeline.evaluate", str(pred), str(gt)),
        "prediction is 24x24 but ground truth a.png is 48x48",
        "--scale",
    )
    with pytest.raises(UserError, match="after cropping to a multiple of 3"):
        score_folders(pred, gt, "psnr_y", 3, scale=3)  # 48 stays 48, still not 24


def test_upscale_user_errors_leave_nothing_behind(tmp_path: Path, capsys):
    src = tmp_path / "lr"
    save(src / "ax2.png", np.zeros((8, 8, 3), np.uint8))
    save(src / "a.png", np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out"
    with pytest.raises(UserError, match=re.escape("'a' and 'ax2' would both be written as a.png")):
        upscale_folder(src, out, 2)
    with pytest.raises(UserError, match="would replace the input folder"):
        upscale_folder(src, src, 2)
    with pytest.raises(SystemExit) as info:
        upscale_main([str(src), str(out), "--scale", "1"])
    assert info.value.code == 2 and "at least 2" in capsys.readouterr().err
    (src / "a.png").unlink()
    (src / "bx2.png").write_bytes(b"not an image")  # found only after ax2 is upscaled
    assert_user_error(run_cli("pipeline.upscale", str(src), str(out), "--scale", "2"), "bx2.png")
    assert not out.exists()


@pytest.mark.parametrize(("main", "prog"), [(evaluate_main, "evaluate"), (upscale_main, "upscale")])
def test_help_names_the_command(main, prog: str, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert f"python -m pipeline.{prog}" in capsys.readouterr().out


def test_sr_needs_a_scale_and_no_synthetic_scans():
    with pytest.raises(UserError, match=r"task\.scale"):
        load_config(None, ["task.kind=sr", "augment.synthetic_p=0"])
    with pytest.raises(UserError, match=r"augment\.synthetic_p"):
        load_config(None, ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0.25"])


def test_hr_that_is_not_scale_times_lr_names_the_file(tmp_path: Path):
    root = make_sr(tmp_path / "sr", 2)
    bad = root / "train" / "clean" / "T1.00001.01.png"
    save(bad, np.zeros((47, 48, 3), np.uint8))
    result = run_cli("pipeline.prepare", *sr_overrides(tmp_path, root, 2))
    assert_user_error(result, "T1.00001.01.png", "24x24", "48x47", "2x the scan's size")


def test_sr_crops_are_taken_at_matching_coordinates(tmp_path: Path):
    scale = 3
    root = make_sr(tmp_path / "sr", scale, hr=72)
    assert run_cli("pipeline.prepare", *sr_overrides(tmp_path, root, scale)).code == 0
    store = PairStore(next((tmp_path / "prepared").iterdir()))
    assert store.scale == 3 and store.manifest["settings"]["patch_size"] == 16
    assert store.clean(0).shape == (72, 72, 3) and store.scan(0).shape == (24, 24, 3)
    augmenter = Augmenter(scale=store.scale, hflip=False, vflip=False, rot90=False)
    data = PatchDataset(store, store.patches, 16, augmenter, jitter=3)
    checked = 0
    for i in range(len(data)):
        lr, hr = (t.numpy().transpose(1, 2, 0) for t in data[(0, i, i)])
        assert lr.shape == (16, 16, 3) and hr.shape == (48, 48, 3)
        # Away from the crop's border (the bicubic kernel reads 2 LR pixels around), the HR
        # crop shrunk by MATLAB bicubic is the LR crop, bit for bit.
        down = imresize_uint8(np.ascontiguousarray(hr), 1 / scale)
        np.testing.assert_array_equal(down[2:-2, 2:-2], lr[2:-2, 2:-2])
        checked += 1
    assert checked == len(store.patches) > 4


def test_sr_models_get_the_scale_or_a_bicubic_input():
    x = torch.rand(1, 3, 10, 12)
    sr = ["task.kind=sr", "task.scale=3", "augment.synthetic_p=0"]
    for name, arg in (("edsr", "model.args.n_blocks=1"), ("srcnn", "model.args.n1=8")):
        cfg = load_config(None, [f"model.name={name}", arg, *sr])
        model, _ = build_checked_model(cfg)
        assert model(x).shape == (1, 3, 30, 36)
        assert isinstance(model, BicubicInput) == (name == "srcnn")


@pytest.mark.parametrize("name", ["edsr", "rdn", "srresnet"])
def test_bicubic_skip_starts_the_model_at_bicubic(name: str):
    """With the weights zeroed the model adds nothing (EDSR: nothing beyond the mean colour
    it adds back, which the skip takes off), so the output is exactly MATLAB bicubic."""
    sr = ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0", "model.bicubic_skip=true"]
    model, _ = build_checked_model(load_config(None, [f"model.name={name}", *sr]))
    assert isinstance(model, BicubicSkip)
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        assert (model(x) - imresize(x, 2)).abs().max() > 0.01  # initialised: not bicubic yet
        for p in model.model.parameters():
            p.zero_()
        torch.testing.assert_close(model(x), imresize(x, 2))


def test_a_model_that_cannot_upscale_is_refused_for_sr():
    sr = ["task.kind=sr", "task.scale=2", "augment.synthetic_p=0"]
    result = run_cli("pipeline.train", *sr, "model.name=dncnn")
    assert_user_error(result, "model.name", "dncnn does not upscale", "task.scale=2")
