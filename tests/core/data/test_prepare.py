"""prepare: pairing, every validation error (exit 2, one `error:` line), the store's contents."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline import prepare as prepare_stage
from pipeline.core.data.store import PairStore, grid_starts
from tests.conftest import assert_user_error, make_dataset, random_page, run_stage, save


def prepare(root: Path, tmp: Path, *extra: str):
    """The prepare stage as its command line runs it (in this process: the same error
    contract, without starting Python and torch each time)."""
    return run_stage(
        prepare_stage.main,
        f"data.root={root}",
        f"data.prepared={tmp / 'prepared'}",
        "prepare.patch_size=32",
        "prepare.stride=16",
        *extra,
    )


def store_of(tmp: Path) -> PairStore:
    (store,) = (tmp / "prepared").iterdir()
    return PairStore(store)


def test_store_holds_the_decoded_pairs_and_patches(tmp_path: Path):
    root = make_dataset(tmp_path / "d", titles=("A", "B", "C", "D"), pages=2, size=(40, 56))
    result = prepare(root, tmp_path)
    assert result.code == 0, result.err
    store = store_of(tmp_path)
    assert store.manifest["images"] == 8 and store.folds == 3
    assert store.manifest["sizes"] == ["56x40"]
    # 40 px high: starts 0, 8 (flush); 56 wide: 0, 16, 24 -> 6 patches per image
    assert grid_starts(40, 32, 16) == [0, 8] and grid_starts(56, 32, 16) == [0, 16, 24]
    assert store.manifest["patches"] == 8 * 6
    for i, rec in enumerate(store.images):
        assert np.array_equal(store.scan(i), np.asarray(Image.open(rec.scan_file).convert("RGB")))
        assert np.array_equal(store.clean(i), np.asarray(Image.open(rec.clean_file).convert("RGB")))
    for f in store.manifest["folds"]:  # titles sit in exactly one fold
        for other in store.manifest["folds"]:
            if other is not f:
                assert not set(f["titles"]) & set(other["titles"])
    again = prepare(root, tmp_path)
    assert again.code == 0 and "up to date" in again.out


@pytest.mark.parametrize("ext", [".tif", ".jpg", ".bmp"])
def test_other_formats_pair_up(tmp_path: Path, ext: str):
    root = make_dataset(tmp_path / "d", ext=ext)
    result = prepare(root, tmp_path)
    assert result.code == 0, result.err
    store = store_of(tmp_path)
    rec = store.images[0]
    assert rec.scan_file.endswith(ext)
    if ext != ".jpg":  # lossless formats decode to exactly what was saved
        assert np.array_equal(store.clean(0), np.asarray(Image.open(rec.clean_file)))


def test_grayscale_and_opaque_rgba_are_converted(tmp_path: Path):
    root = make_dataset(tmp_path / "d")
    clean = root / "train" / "clean" / "Alpha.00001.01.png"
    scan = root / "train" / "scan" / "Alpha.00001.01.png"
    gray = np.asarray(Image.open(clean).convert("L"))
    Image.fromarray(gray).save(clean)
    rgba = np.dstack([np.asarray(Image.open(scan)), np.full(gray.shape, 255, np.uint8)])
    Image.fromarray(rgba).save(scan)
    assert prepare(root, tmp_path).code == 0
    store = store_of(tmp_path)
    i = [r.stem for r in store.images].index("Alpha.00001.01")
    assert np.array_equal(store.clean(i), np.dstack([gray] * 3))
    assert np.array_equal(store.scan(i), rgba[..., :3])


def _break(root: Path, how: str) -> str:
    scan_dir, clean_dir = root / "train" / "scan", root / "train" / "clean"
    target = clean_dir / "Beta.00001.01.png"
    if how == "missing clean":
        target.unlink()
        return "no clean image for scan(s) 'Beta.00001.01'"
    if how == "missing scan":
        (scan_dir / "Beta.00001.01.png").unlink()
        return "no scan for clean image(s) 'Beta.00001.01'"
    if how == "duplicate stem":
        Image.open(scan_dir / "Beta.00001.01.png").save(scan_dir / "Beta.00001.01.tif")
        return "duplicate stem 'Beta.00001.01'"
    if how == "size mismatch":
        save(target, random_page(np.random.default_rng(1), 50, 64))
        return "is 64x48 but clean Beta.00001.01.png is 64x50"
    if how == "unreadable":
        target.write_bytes(b"this is not an image")
        return "Beta.00001.01.png: not a readable image"
    if how == "truncated":
        data = target.read_bytes()
        target.write_bytes(data[: len(data) * 2 // 3])
        return "Beta.00001.01.png: unreadable or truncated"
    if how == "truncated jpeg":
        target.unlink()
        save(clean_dir / "Beta.00001.01.jpg", random_page(np.random.default_rng(1), 48, 64))
        data = (clean_dir / "Beta.00001.01.jpg").read_bytes()
        (clean_dir / "Beta.00001.01.jpg").write_bytes(data[: len(data) // 2])
        return "Beta.00001.01.jpg: unreadable or truncated"
    if how == "16-bit":
        rgb = np.asarray(Image.open(target)).astype(np.uint16) * 257
        cv2.imwrite(str(target), rgb[..., ::-1])
        return "16-bit image"
    if how == "translucent":
        rgb = np.asarray(Image.open(target))
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[0, 0] = 128
        Image.fromarray(np.dstack([rgb, alpha])).save(target)
        return "transparent pixels"
    if how == "empty folder":
        for p in scan_dir.iterdir():
            p.unlink()
        return "no scans found"
    if how == "no folder":
        for p in clean_dir.iterdir():
            p.unlink()
        clean_dir.rmdir()
        return "folder of clean images not found"
    raise ValueError(how)


@pytest.mark.parametrize(
    "how",
    [
        "missing clean",
        "missing scan",
        "duplicate stem",
        "size mismatch",
        "unreadable",
        "truncated",
        "truncated jpeg",
        "16-bit",
        "translucent",
        "empty folder",
        "no folder",
    ],
)
def test_broken_datasets_are_user_errors_that_lose_nothing(tmp_path: Path, how: str):
    root = make_dataset(tmp_path / "d")
    assert prepare(root, tmp_path).code == 0
    manifest = next((tmp_path / "prepared").iterdir()) / "manifest.json"
    before = manifest.read_text()
    message = _break(root, how)
    assert_user_error(prepare(root, tmp_path, "--force"), message)
    assert manifest.read_text() == before  # the previous store is untouched
    assert [p.name for p in (tmp_path / "prepared").iterdir()] == [manifest.parent.name]


def test_images_smaller_than_the_patch_shrink_it(tmp_path: Path):
    root = make_dataset(tmp_path / "d", size=(24, 64))
    result = prepare(root, tmp_path)
    assert result.code == 0, result.err
    assert "using 24px patches" in result.out
    store = store_of(tmp_path)
    assert store.manifest["settings"]["patch_size"] == 24
    # 24 high: one row; 64 wide with stride 16: starts 0, 16, 32, 40 -> 4 patches per image
    assert store.manifest["patches"] == 6 * 4


def test_an_image_too_small_to_train_on(tmp_path: Path):
    root = make_dataset(tmp_path / "d", size=(12, 64))
    assert_user_error(prepare(root, tmp_path), "12 is too small to train on")
    assert not (tmp_path / "prepared").exists()


def test_too_few_titles_split_by_image(tmp_path: Path):
    root = make_dataset(tmp_path / "d", titles=("A", "B"), pages=3)
    result = prepare(root, tmp_path)
    assert result.code == 0, result.err
    assert "folds are split by image" in result.out
    store = store_of(tmp_path)
    assert store.manifest["settings"]["group"] == "image"
    assert [f["images"] for f in store.manifest["folds"]] == [2, 2, 2]
    assert_user_error(prepare(root, tmp_path, "prepare.group=title"), "prepare.folds=3", "only 2")


def test_manifest_counts(tmp_path: Path):
    root = make_dataset(tmp_path / "d", titles=("A", "B", "C"), pages=3)
    assert prepare(root, tmp_path, "prepare.folds=3").code == 0
    manifest = json.loads((next((tmp_path / "prepared").iterdir()) / "manifest.json").read_text())
    assert [f["images"] for f in manifest["folds"]] == [3, 3, 3]
    assert sum(f["patches"] for f in manifest["folds"]) == manifest["patches"]
