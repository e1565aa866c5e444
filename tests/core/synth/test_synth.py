"""The print-scan simulator: each operation does what it says, in numbers; presets, config,
the CLI, make_demo and the online augmentation."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage.registration import phase_cross_correlation
from torch.utils.data import DataLoader

from pipeline.core.config.load import load_config, synth_ranges
from pipeline.core.config.schema import SynthConfig
from pipeline.core.data.dataset import EpochDraws, PatchDataset
from pipeline.core.data.store import PairStore
from pipeline.core.demo.dataset import build
from pipeline.core.synth import (
    LIMITS,
    PRESETS,
    Ranges,
    check_setting,
    make_ranges,
    ops,
    sample_params,
    simulate_scan,
)
from pipeline.core.task.metrics import abs_error_of_means
from pipeline.core.train.trainer import FoldTrainer
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import read_rgb
from tests.conftest import assert_user_error, make_dataset, random_page, run_cli, save


def _quiet(params, **changes):
    """`params` with the noisy and geometric operations off, so one effect can be isolated."""
    off = {
        "grain": 0.0,
        "warp": 0.0,
        "creases": 0.0,
        "dust": 0.0,
        "hairs": 0.0,
        "stains": 0.0,
        "scanner_lines": 0.0,
        "banding": 0.0,
        "noise": 0.0,
        "jpeg_quality": None,
        "shift": (0.0, 0.0),
        "rotation": 0.0,
    }
    return dataclasses.replace(params, **{**off, **changes})


def _params(seed: int = 0, preset: str = "magazine"):
    return sample_params(PRESETS[preset], np.random.default_rng(seed))


def _shift_between(reference: np.ndarray, moved: np.ndarray) -> tuple[float, float]:
    """(dx, dy) of the cross-correlation peak (to 1/20 pixel): how far `moved` is displaced
    from `reference`. Zero-mean and a Hann window keep the borders out of it."""
    window = np.outer(np.hanning(reference.shape[0]), np.hanning(reference.shape[1]))

    def prepared(a: np.ndarray) -> np.ndarray:
        return (a - a.mean()) * window

    shift = phase_cross_correlation(
        prepared(reference), prepared(moved), upsample_factor=20, normalization=None
    )[0]
    return -float(shift[1]), -float(shift[0])


def _chroma(rgb: np.ndarray) -> float:
    """Mean distance of a colour from the grey of the same luma."""
    rgb = rgb.astype(np.float32)
    return float(np.abs(rgb - ops.luminance(rgb)[..., None]).mean())


# -- the operations, one by one ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("ink", "angle"),
    [((50, 50, 50), 45.0), ((150, 255, 255), 15.0), ((255, 150, 255), 75.0)],  # K, C, M
)
def test_halftone_puts_energy_at_the_screen_frequency_along_the_screen_angle(ink, angle):
    n, period = 256, 8.0
    rng = np.random.default_rng(0)
    # A smooth tint of one ink (dark grey prints in black alone): a clean page with no energy
    # at the screen frequency.
    shade = ops.smooth_field(rng, n, n, 64.0)[..., None] * 8
    clean = np.clip(np.array(ink, np.float32) + shade, 0, 255).round().astype(np.uint8)

    def power(image: np.ndarray) -> np.ndarray:
        lum = ops.luminance(image.astype(np.float32))
        return np.abs(np.fft.fftshift(np.fft.fft2(lum - lum.mean()))) ** 2

    fy, fx = np.mgrid[-n // 2 : n // 2, -n // 2 : n // 2]
    ring = np.abs(np.hypot(fx, fy) - n / period) <= 2  # the screen frequency: 32 cycles
    direction = np.degrees(np.arctan2(fy, fx)) % 90  # a screen's two axes, 90 degrees apart
    along = ring & (np.abs((direction - angle % 90 + 45) % 90 - 45) <= 6)

    printed = power(ops.print_page(clean, True, period, 0.1, ((0.0, 0.0),) * 4))
    continuous = power(ops.print_page(clean, False, period, 0.1, ((0.0, 0.0),) * 4))
    clean_power = power(clean.astype(np.float32) / 255)
    assert printed[ring].sum() > 1e4 * clean_power[ring].sum()
    assert printed[ring].sum() > 1e4 * continuous[ring].sum()
    assert printed[along].sum() > 0.9 * printed[ring].sum()


def test_halftone_keeps_the_mean_tone_of_a_flat_tint():
    # A linearized screen: a 30% cyan tint inks 30% of the paper, whatever the period.
    clean = np.zeros((128, 128, 3), np.uint8) + np.array([178, 255, 255], np.uint8)
    for period in (4.0, 6.5):
        printed = ops.print_page(clean, True, period, 0.0, ((0.0, 0.0),) * 4)
        continuous = ops.print_page(clean, False, period, 0.0, ((0.0, 0.0),) * 4)
        assert printed[..., 0].mean() == pytest.approx(continuous[..., 0].mean(), abs=0.01)
        assert (printed[..., 0].max(), printed[..., 0].min()) == pytest.approx((1.0, 0.05), 0.01)


def test_misregistration_shifts_the_cross_correlation_peak_by_the_set_amount():
    rng = np.random.default_rng(1)
    blobs = cv2.GaussianBlur(rng.random((128, 128)).astype(np.float32), (0, 0), 3)
    cyan = np.clip(blobs * 4 - 1.5, 0, 1)  # cyan coverage; only the cyan plate carries ink
    clean = np.full((128, 128, 3), 255, np.uint8)
    clean[..., 0] = np.round(255 * (1 - cyan)).astype(np.uint8)
    offsets = ((2.5, -1.5), (-1.0, 2.0), (0.0, 0.0), (0.0, 0.0))  # C moves; M has no ink

    def red_tone(sheet: np.ndarray) -> np.ndarray:  # cyan ink absorbs red; blur out the dots
        return cv2.GaussianBlur(np.ascontiguousarray(sheet[..., 0]), (0, 0), 2)

    printed = ops.print_page(clean, True, 4.0, 0.0, offsets)
    dx, dy = _shift_between(1 - cyan, red_tone(printed))
    assert (dx, dy) == pytest.approx((2.5, -1.5), abs=0.25)
    in_register = ops.print_page(clean, True, 4.0, 0.0, ((0.0, 0.0),) * 4)
    assert _shift_between(1 - cyan, red_tone(in_register)) == pytest.approx((0, 0), abs=0.25)


def test_scan_shift_moves_the_cross_correlation_peak_by_the_set_amount():
    rng = np.random.default_rng(2)
    texture = cv2.GaussianBlur(rng.standard_normal((128, 128)).astype(np.float32), (0, 0), 2)
    image = np.repeat(texture[..., None], 3, axis=2)
    moved = ops.geometry(image, rng, 0.0, (1.25, -0.5), 0.0)
    assert _shift_between(texture, moved[..., 0]) == pytest.approx((1.25, -0.5), abs=0.05)


def test_bleed_through_correlates_with_the_mirrored_back_page():
    rng = np.random.default_rng(3)
    back = random_page(rng, 96, 128)
    back[:, :40] = 255  # a blank left margin makes the page far from symmetric
    transmission = ops.bleed_through(back, 96, 128, 0.2, 1.5)
    darkening = 1.0 - transmission
    ink = 1.0 - ops.luminance(back.astype(np.float32) / 255)
    assert np.corrcoef(darkening.ravel(), ink[:, ::-1].ravel())[0, 1] > 0.95
    assert np.corrcoef(darkening.ravel(), ink.ravel())[0, 1] < 0.5
    assert darkening.max() <= 0.2 + 1e-6  # the set strength, where the back is solid black

    # In a whole scan: the difference the back page makes follows the mirrored back, and it is
    # multiplicative, so it is weaker where the front is inked than on blank paper.
    front = np.full((96, 128, 3), 255, np.uint8)
    front[:48] = 30
    p = _quiet(_params(3), bleed=0.2, bleed_blur=1.5, halftone=False)
    with_back = simulate_scan(front, p, np.random.default_rng(0), back=back).astype(np.float32)
    without = simulate_scan(front, p, np.random.default_rng(0), back=None).astype(np.float32)
    diff = ops.luminance(without - with_back)
    lower = diff[48:].ravel()
    assert np.corrcoef(lower, ink[48:, ::-1].ravel())[0, 1] > 0.9
    assert diff[:48].mean() < 0.5 * diff[48:].mean()


def test_saturation_loss_lowers_mean_chroma():
    rng = np.random.default_rng(4)
    sheet = rng.random((64, 64, 3), dtype=np.float32)
    full = ops.color_transition(sheet, saturation=1.0)
    half = ops.color_transition(sheet, saturation=0.5)
    assert _chroma(half) == pytest.approx(0.5 * _chroma(full), rel=0.01)
    assert ops.luminance(half).mean() == pytest.approx(ops.luminance(full).mean(), abs=1e-4)

    clean = random_page(rng, 96, 96)
    p = _quiet(_params(4))
    scans = [
        simulate_scan(clean, dataclasses.replace(p, saturation=s), np.random.default_rng(0))
        for s in (1.0, 0.6)
    ]
    assert _chroma(scans[1]) < 0.7 * _chroma(scans[0])


def test_color_transition_lifts_blacks_and_tints_paper_white():
    sheet = np.zeros((2, 2, 3), np.float32)
    sheet[1] = 1.0
    out = ops.color_transition(sheet, paper=(0.95, 0.9, 0.8), black=0.1, gamma=1.3)
    assert out[0] == pytest.approx(np.full((2, 3), 0.1))
    assert out[1] == pytest.approx(np.tile([0.95, 0.9, 0.8], (2, 1)))


# -- the whole scan ----------------------------------------------------------------------------
@pytest.mark.parametrize("preset", list(PRESETS))
def test_scan_is_uint8_rgb_of_the_input_size_and_fixed_by_the_seed(preset: str):
    rng = np.random.default_rng(5)
    clean, back = random_page(rng, 67, 45), random_page(rng, 50, 80)  # odd sizes, other shape

    def scan(seed: int) -> np.ndarray:
        g = np.random.default_rng(seed)
        params = sample_params(PRESETS[preset], g)
        return simulate_scan(clean, dataclasses.replace(params, dust=3000.0, hairs=300.0), g, back)

    a, b, c = scan(1), scan(1), scan(2)
    assert a.dtype == np.uint8 and a.shape == clean.shape
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.abs(a.astype(int) - clean).mean() > 3  # it does degrade the page


def test_every_extra_operation_changes_the_scan():
    clean = random_page(np.random.default_rng(6), 128, 128)
    base = _quiet(_params(6))
    reference = simulate_scan(clean, base, np.random.default_rng(0))
    for change in [
        {"grain": 0.02},
        {"creases": 400.0},
        {"stains": 400.0},
        {"dust": 2000.0},
        {"hairs": 200.0},
        {"warp": 2.0},
        {"scanner_lines": 0.03},
        {"banding": 0.03},
        {"noise": 0.02},
        {"jpeg_quality": 50},
        {"rotation": 0.5},
    ]:
        scan = simulate_scan(clean, dataclasses.replace(base, **change), np.random.default_rng(0))
        assert np.abs(scan.astype(int) - reference).mean() > 0.1, change


def test_presets_config_and_limits_agree():
    names = [f.name for f in dataclasses.fields(Ranges)]
    assert list(LIMITS) == names
    assert [f.name for f in dataclasses.fields(SynthConfig)] == ["preset", *names]
    for preset, ranges in PRESETS.items():
        for name in names:
            assert check_setting(name, getattr(ranges, name)) is None, (preset, name)
    assert make_ranges("newspaper", {"blur": [0.1, 0.2]}).blur == (0.1, 0.2)
    cfg = load_config(None, ["synth.preset=light", "synth.jpeg_p=0.5", "synth.noise=[0,0.01]"])
    ranges = synth_ranges(cfg)
    assert ranges.jpeg_p == 0.5 and ranges.noise == (0.0, 0.01)
    assert ranges.blur == PRESETS["light"].blur
    assert synth_ranges(cfg, "newspaper").noise == (0.0, 0.01)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("synth.blur=[2,1]", "synth.blur"),
        ("synth.bleed=[0,0.9]", "0.5"),
        ("synth.jpeg_p=1.5", "synth.jpeg_p"),
        ("synth.preset=comic", "synth.preset"),
        ("demo.preset=comic", "demo.preset"),
        ("augment.synthetic_p=-0.1", "augment.synthetic_p"),
    ],
)
def test_bad_simulator_settings_are_user_errors(override: str, fragment: str):
    with pytest.raises(UserError) as info:
        load_config(None, [override])
    assert fragment in str(info.value)


# -- make_demo ---------------------------------------------------------------------------------
def _digest(folder: Path) -> str:
    h = hashlib.sha1()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_make_demo_is_fixed_by_its_seed(tmp_path: Path):
    demo = {"seed": 3, "titles": 2, "pages_per_title": 2, "test_pages": 2, "size": 64}
    demo["preset"] = "magazine"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        build(tmp_path / name, demo)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    scan = read_rgb(next((tmp_path / "a" / "train" / "scan").iterdir()))
    assert scan.shape == (64, 64, 3)


# -- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def cleans(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    for i, size in enumerate([(64, 48), (40, 72), (64, 64)]):
        save(tmp_path / "clean" / f"page{i}.png", random_page(rng, *size))
    return tmp_path / "clean"


def test_cli_scans_a_folder_with_a_preview_and_the_same_bytes_twice(cleans: Path, tmp_path):
    out_a, out_b, preview = tmp_path / "a", tmp_path / "b", tmp_path / "look" / "grid.png"
    result = run_cli("pipeline.synth", str(cleans), str(out_a), "--preview", str(preview))
    assert result.code == 0, result.err
    for path in sorted(cleans.iterdir()):
        scan = read_rgb(out_a / path.name)
        assert scan.shape == read_rgb(path).shape
    grid = read_rgb(preview)
    assert grid.shape == (3 * 256 + 2 * 4, 4 * 256 + 3 * 4, 3)
    result = run_cli("pipeline.synth", str(cleans), str(out_b), "--seed", "0")
    assert result.code == 0, result.err
    assert _digest(out_a) == _digest(out_b)
    # Its own output folder is replaced on a rerun; another preset gives other scans.
    result = run_cli("pipeline.synth", str(cleans), str(out_a), "--preset", "newspaper")
    assert result.code == 0, result.err
    assert _digest(out_a) != _digest(out_b)


def test_cli_user_errors_leave_nothing_behind(cleans: Path, tmp_path: Path):
    result = run_cli("pipeline.synth", "--help")
    assert result.code == 0 and "python -m pipeline.synth" in result.out and "IN_DIR" in result.out
    out = tmp_path / "out"
    result = run_cli("pipeline.synth", str(tmp_path / "missing"), str(out))
    assert_user_error(result, "missing", "not found")
    result = run_cli("pipeline.synth", str(cleans), str(out), "--preset", "comic")
    assert_user_error(result, "--preset", "comic")
    (cleans / "page9.png").write_bytes(b"not a png")
    result = run_cli("pipeline.synth", str(cleans), str(out), "--preview", str(tmp_path / "p.png"))
    assert_user_error(result, "page9.png")
    assert not out.exists() and not (tmp_path / "p.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    (cleans / "page9.png").unlink()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    result = run_cli("pipeline.synth", str(cleans), str(mine))
    assert_user_error(result, "not written by pipeline.synth")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


# -- online augmentation -----------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> PairStore:
    root = make_dataset(tmp_path / "data", titles=("A", "B", "C"), pages=2, size=(48, 64))
    prepared = tmp_path / "prepared"
    result = run_cli(
        "pipeline.prepare",
        f"data.root={root}",
        f"data.prepared={prepared}",
        "prepare.patch_size=32",
        "prepare.stride=16",
    )
    assert result.code == 0, result.err
    return PairStore(next(prepared.iterdir()))


def _samples(dataset: PatchDataset, epoch: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    return [tuple(t.numpy() for t in dataset[(epoch, i, i)]) for i in range(len(dataset))]


def test_synthetic_p_replaces_that_share_of_scans_and_no_clean(store: PairStore):
    rows = store.patch_rows([0, 1, 2])
    real = _samples(PatchDataset(store, rows, 32, seed=1, jitter=8))
    for p, low, high in ((1.0, 1.0, 1.0), (0.25, 0.15, 0.35)):
        dataset = PatchDataset(store, rows, 32, seed=1, jitter=8, synthetic_p=p)
        synthetic = _samples(dataset)
        replaced = [not np.array_equal(a[0], b[0]) for a, b in zip(real, synthetic, strict=True)]
        assert low <= np.mean(replaced) <= high, np.mean(replaced)
        for (_, clean_a), (scan_b, clean_b) in zip(real, synthetic, strict=True):
            assert scan_b.shape == (3, 32, 32) and scan_b.dtype == np.uint8
            if p == 1.0:  # the same patches, transformed alike: only the scan changes
                assert np.array_equal(clean_a, clean_b)
    off = _samples(PatchDataset(store, rows, 32, seed=1, jitter=8, synthetic_p=0.0))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(real, off, strict=True))


def test_synthetic_scans_depend_on_seed_epoch_and_draw_not_on_workers(store: PairStore):
    rows = store.patch_rows([0, 1])
    dataset = PatchDataset(store, rows, 32, seed=2, synthetic_p=1.0, synth_ranges=PRESETS["light"])
    first = _samples(dataset)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, _samples(dataset), strict=True))
    other_epoch = _samples(dataset, epoch=1)
    assert not np.array_equal(first[0][0], other_epoch[0][0])
    draws = EpochDraws(len(dataset), len(dataset), seed=2, epoch=1)
    loaders = [DataLoader(dataset, batch_size=4, sampler=draws, num_workers=n) for n in (0, 2)]
    batches = [torch.cat([scan for scan, _ in loader]) for loader in loaders]
    assert torch.equal(batches[0], batches[1])


def test_training_with_synthetic_scans_validates_on_the_real_scans(tmp_path: Path, store):
    overrides = [
        f"runs={tmp_path / 'runs'}",
        "model.name=dncnn",
        "model.args.depth=3",
        "model.args.channels=8",
        "train.epochs=1",
        "train.batch_size=4",
        "augment.synthetic_p=1.0",
        "synth.preset=newspaper",
        "infer.tile=32",
        "infer.overlap=8",
    ]
    trainer = FoldTrainer(load_config(None, overrides), store, 0, torch.device("cpu"))
    assert trainer.dataset.synthetic_p == 1.0
    assert trainer.dataset.synth_ranges == PRESETS["newspaper"]
    val_images = set(store.image_indices([0]))
    assert val_images.isdisjoint(int(i) for i in trainer.dataset.rows[:, 0])
    trainer.start()
    trainer.run()
    identity = np.mean(
        [
            abs_error_of_means(
                read_rgb(store.images[i].scan_file), read_rgb(store.images[i].clean_file)
            )
            for i in sorted(val_images)
        ]
    )
    assert trainer.history[0]["val_identity"] == pytest.approx(identity)
