"""The test images' ids, checked once for `export` and `submit`, and their mean Y as saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.core.config.load import load_config
from pipeline.core.scoring.held_out import check_test_ids, saved_mean_y
from pipeline.core.task.metrics import mean_y
from pipeline.core.util.errors import UserError
from pipeline.core.util.images import list_images
from tests.conftest import save


def test_ids_follow_the_sample_submission_else_the_test_scans(tmp_path: Path):
    rng = np.random.default_rng(0)
    for stem in ("b", "a", "c"):
        save(
            tmp_path / "data" / "test" / "scan" / f"{stem}.png",
            rng.integers(0, 256, (4, 4, 3), np.uint8),
        )
    cfg = load_config(None, [f"data.root={tmp_path / 'data'}"])
    assert check_test_ids(cfg, {"c", "a", "b"}, "preds") == ["a", "b", "c"]
    with pytest.raises(UserError, match=r"^preds: missing 1 id\(s\) of .*test/scan: 'c'$"):
        check_test_ids(cfg, {"a", "b"}, "preds")
    sample = tmp_path / "sample.csv"
    sample.write_text("Image File,Y Channel Value\nx,0\nw,0\n")
    assert check_test_ids(cfg, {"w", "x"}, "preds", str(sample)) == ["x", "w"]  # its order
    with pytest.raises(UserError, match=rf"^preds: 1 id\(s\) not in {sample}: 'v'$"):
        check_test_ids(cfg, {"v", "w", "x"}, "preds", str(sample))
    elsewhere = load_config(None, [f"data.root={tmp_path / 'none'}"])  # no test scans: any ids
    assert check_test_ids(elsewhere, {"q", "p"}, "preds") == ["p", "q"]


def test_mean_y_is_read_from_the_files_as_saved(tmp_path: Path):
    rng = np.random.default_rng(1)
    pages = {s: rng.integers(0, 256, (6, 5, 3)).astype(np.uint8) for s in ("p", "q")}
    for stem, page in pages.items():
        save(tmp_path / f"{stem}.png", page)
    means = saved_mean_y(list_images(tmp_path), ["q", "p"], "test")
    assert list(means) == ["q", "p"]
    assert means == {s: mean_y(pages[s]) for s in ("q", "p")}
