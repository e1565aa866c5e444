"""The leaderboard metric and the submission CSV, against values computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.core.task.metrics import mean_y, psnr, y_channel, y_mae
from pipeline.core.task.submission import format_csv, leaderboard_score, read_submission
from pipeline.core.util.errors import UserError
from tests.conftest import assert_user_error, run_cli, save


def test_y_is_opencv_rounded_bt601():
    # OpenCV: Y = (4899 R + 9617 G + 1868 B + 2^13) >> 14, i.e. 0.299 R + 0.587 G + 0.114 B
    # rounded to uint8. Pure red 76.245 -> 76, green 149.685 -> 150, blue 29.07 -> 29.
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    # (10, 20, 30): 2.99 + 11.74 + 3.42 = 18.15 -> 18
    assert y_channel(rgb).tolist() == [[76, 150, 29, 18]]


def test_mean_y_averages_the_rounded_plane():
    # Red and blue: rounded Y 76 and 29 average to 52.5; unrounded Y would give 52.6575.
    rgb = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    assert mean_y(rgb) == 52.5


def test_pixel_metrics_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 10  # one pixel, all channels: Y 0 -> 10
    assert y_mae(a, b) == pytest.approx(10 / 4)
    mse = 3 * 100 / 12
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / mse))
    assert psnr(a, a) == float("inf")


def test_csv_text_is_exact():
    text = format_csv({"b.00002.01": 100.25, "a.00001.01": 52.5, "c": 1 / 3})
    assert text == (
        "Image File,Y Channel Value\na.00001.01,52.5\nb.00002.01,100.25\nc,0.3333333333333333\n"
    )


def test_score_matches_rows_by_id_not_position(tmp_path: Path):
    sub = tmp_path / "sub.csv"
    truth = tmp_path / "truth.csv"
    sub.write_text("Image File,Y Channel Value\nb,110\na,50\n")
    truth.write_text("Image File,Y Channel Value,Usage\na,52.5,Public\nb,100,Private\n")
    # |50 - 52.5| = 2.5, |110 - 100| = 10 -> 6.25
    assert leaderboard_score(read_submission(sub), read_submission(truth, True)) == 6.25
    result = run_cli("pipeline.score", str(sub), str(truth))
    assert result.code == 0
    assert result.out.strip().splitlines()[-1] == "6.25"


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ("a,50\n", "missing 1 id(s)"),
        ("a,50\nb,100\nc,3\n", "not in"),
        ("a,50\na,51\nb,100\n", "duplicate id 'a'"),
        ("a,abc\nb,100\n", "'abc' is not a number"),
        ("a,300\nb,100\n", "outside [0, 255]"),
        ("a,nan\nb,100\n", "outside [0, 255]"),
    ],
)
def test_score_refuses_bad_submissions(tmp_path: Path, rows: str, fragment: str):
    sub = tmp_path / "sub.csv"
    truth = tmp_path / "truth.csv"
    sub.write_text("Image File,Y Channel Value\n" + rows)
    truth.write_text("Image File,Y Channel Value\na,52.5\nb,100\n")
    assert_user_error(run_cli("pipeline.score", str(sub), str(truth)), fragment)


def test_bad_header_is_a_user_error(tmp_path: Path):
    sub = tmp_path / "sub.csv"
    sub.write_text("id,value\na,1\n")
    with pytest.raises(UserError, match="header must be"):
        read_submission(sub)


def test_export_uses_the_saved_uint8_image(tmp_path: Path):
    """The CSV value is the mean Y of the PNG as written, not of any float prediction."""
    pred = tmp_path / "pred"
    a = np.zeros((2, 2, 3), np.uint8)
    a[0, 0] = (255, 0, 0)  # Y 76
    a[1, 1] = (0, 0, 255)  # Y 29
    save(pred / "x.00001.01.png", a)
    save(pred / "y.00001.01.png", np.full((3, 3, 3), 200, np.uint8))
    out = tmp_path / "sub.csv"
    result = run_cli("pipeline.export", str(pred), str(out), f"data.root={tmp_path / 'none'}")
    assert result.code == 0, result.err
    assert out.read_text() == "Image File,Y Channel Value\nx.00001.01,26.25\ny.00001.01,200.0\n"


def test_export_follows_a_sample_submission(tmp_path: Path):
    pred = tmp_path / "pred"
    for name, v in (("a", 10), ("b", 20), ("c", 30)):
        save(pred / f"{name}.png", np.full((2, 2, 3), v, np.uint8))
    sample = tmp_path / "sample.csv"
    sample.write_text("Image File,Y Channel Value\nc,0\na,0\nb,0\n")
    out = tmp_path / "sub.csv"
    result = run_cli(
        "pipeline.export",
        str(pred),
        str(out),
        "--sample",
        str(sample),
        f"data.root={tmp_path / 'none'}",
    )
    assert result.code == 0, result.err
    assert out.read_text() == "Image File,Y Channel Value\nc,30.0\na,10.0\nb,20.0\n"
    sample.write_text("Image File,Y Channel Value\nc,0\na,0\nd,0\n")
    out.write_text("previous")
    result = run_cli(
        "pipeline.export",
        str(pred),
        str(out),
        "--sample",
        str(sample),
        f"data.root={tmp_path / 'none'}",
    )
    assert_user_error(result, "'d'")
    assert out.read_text() == "previous"  # nothing lost on error
