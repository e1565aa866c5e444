"""Study folders degraded apart from the simulator: the competition layout with the exact test
truth, other titles in the test, the same bytes for a seed, and a refusal that writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.bench.study_sets import stains, tones
from pipeline.core.task.metrics import mean_y, y_channel
from pipeline.core.task.submission import format_csv, read_submission
from pipeline.core.util.images import read_rgb
from tests.conftest import run_cli

SMALL = ["--titles", "2", "--pages", "2", "--test-titles", "1", "--test-pages", "3"]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("kind", ["stains", "tones"])
def test_a_study_set_is_a_competition_folder_with_its_exact_truth(tmp_path, kind):
    out = tmp_path / kind
    result = run_cli(
        "pipeline.bench", "study-sets", str(out), "--kind", kind, "--size", "64", *SMALL
    )
    assert result.code == 0, result.err
    assert result.out.strip().endswith(
        f"4 training pairs over 2 titles, 3 test pages over 1 other titles ({kind})"
    )
    train = sorted(p.name for p in (out / "train" / "scan").iterdir())
    assert train == sorted(p.name for p in (out / "train" / "clean").iterdir())
    assert len(train) == 4
    test = sorted(p.stem for p in (out / "test" / "scan").iterdir())
    assert len(test) == 3
    assert {s.split(".")[0] for s in test}.isdisjoint({s.split(".")[0] for s in train})
    cleans = {s: read_rgb(out / "test" / "clean" / f"{s}.png") for s in test}
    truth_text = (out / "test" / "truth.csv").read_text()
    assert truth_text == format_csv({s: mean_y(img) for s, img in cleans.items()})
    assert set(read_submission(out / "test" / "truth.csv")) == set(test)
    for s in test:  # the scan is a degraded page: same size, and not the clean one
        scan = read_rgb(out / "test" / "scan" / f"{s}.png")
        assert scan.shape == cleans[s].shape == (64, 64, 3)
        assert np.abs(scan.astype(float) - cleans[s]).mean() > 2.0
    # the same seed gives the same bytes; another seed other scans
    again = tmp_path / "again"
    assert (
        run_cli(
            "pipeline.bench", "study-sets", str(again), "--kind", kind, "--size", "64", *SMALL
        ).code
        == 0
    )
    assert _digest(again) == _digest(out)
    other = tmp_path / "other"
    assert (
        run_cli(
            "pipeline.bench",
            "study-sets",
            str(other),
            "--kind",
            kind,
            "--size",
            "64",
            "--seed",
            "1",
            *SMALL,
        ).code
        == 0
    )
    assert _digest(other) != _digest(out)


def test_an_existing_folder_is_refused_and_kept(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    result = run_cli("pipeline.bench", "study-sets", str(out), "--kind", "stains")
    assert result.code == 2 and result.err.startswith("error: ") and "exists" in result.err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    bad = run_cli(
        "pipeline.bench", "study-sets", str(tmp_path / "x"), "--kind", "tones", "--titles", "0"
    )
    assert bad.code == 2 and "--titles" in bad.err and not (tmp_path / "x").exists()


def test_stains_darken_where_they_sit_and_tones_change_the_whole_page():
    # On a white page with a white back: stains leave some of the paper near white and darken
    # other parts (local); tones move every pixel by its curve (global), both by a seeded draw.
    white = np.full((128, 128, 3), 255, np.uint8)
    spreads = []
    for seed in range(6):
        y = y_channel(stains(white, white, np.random.default_rng(seed))).astype(float)
        spreads.append(np.percentile(y, 95) - np.percentile(y, 5))
    assert max(spreads) > 20  # a ring, a blotch or a fold: tens of grey levels on one page
    curves = [mean_y(tones(white, white, np.random.default_rng(s))) for s in range(6)]
    assert np.ptp(curves) > 5  # every page its own tone curve
