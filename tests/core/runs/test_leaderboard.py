"""The local leaderboard as `leaderboard` prints it."""

from __future__ import annotations

from pipeline.core.runs.leaderboard import format_table


def test_the_leaderboard_table_puts_every_value_under_its_header():
    rows = [
        {"experiment": "a-long-name", "cv": "2.5", "model": "pagenet"},
        {"experiment": "b", "cv": "12.25", "model": "resunet"},
    ]
    lines = format_table(rows, ["experiment", "cv", "model"]).splitlines()
    starts = [lines[0].index(h) for h in ("experiment", "cv", "model")]
    assert starts == [0, 12, 18]
    for line, row in zip(lines[1:], rows, strict=True):
        assert [
            line.index(row[c], s)
            for c, s in zip(("experiment", "cv", "model"), starts, strict=True)
        ] == starts
