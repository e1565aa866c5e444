"""The scale benchmark: every stage at N and 4N pairs, each in its own process (tiny: N=2, 32 px,
about 50 s on 2 CPU cores). No assertion on speed."""

from __future__ import annotations

import json

import pytest

from pipeline.bench.scale import STAGES, read_status, table
from tests.conftest import run_cli


def test_scale_reports_every_stage_and_its_own_ratios():
    result = run_cli("pipeline.bench", "scale", "--pairs", "2", "--size", "32", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["pairs"] == 2 and data["size"] == 32
    assert list(data["stages"]) == list(STAGES)
    for r in data["stages"].values():
        for side, pairs in (("n", 2), ("4n", 8)):
            row = r[side]
            assert row["seconds"] > 0 and row["anon"] > 0 and row["file"] > 0
            assert row["rss"] >= row["anon"]
            assert row["seconds_per_pair"] == pytest.approx(row["seconds"] / pairs)
        assert r["time_ratio"] == pytest.approx(
            r["4n"]["seconds_per_pair"] / r["n"]["seconds_per_pair"]
        )
        assert r["anon_ratio"] == pytest.approx(r["4n"]["anon"] / r["n"]["anon"])
    assert data["store_bytes_per_pair"]["n"] > 0 and data["store_bytes_per_pair"]["4n"] > 0
    text = table(data)
    assert all(stage in text for stage in STAGES) and "4N=8" in text


def test_read_status_of_this_process_and_of_none():
    import os

    status = read_status(os.getpid())
    assert status["VmRSS"] >= status["RssAnon"] > 0
    assert read_status(2**31 - 1) == {}


@pytest.mark.parametrize("pairs", ["0", "-3"])
def test_a_bad_pairs_is_the_error_line(pairs):
    result = run_cli("pipeline.bench", "scale", "--pairs", pairs)
    assert result.code == 2 and result.err.startswith("error:") and "--pairs" in result.err


def test_a_stage_is_measured_with_the_processes_it_starts():
    import subprocess
    import sys
    import time

    from pipeline.bench.scale import descendants, tree_status

    # a parent holding a child that allocates 64 MiB: the tree counts both
    code = (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', "
        "'b = bytearray(64 << 20); import time; time.sleep(30)']); time.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(100):
            kids = descendants(parent.pid)
            if kids and read_status(kids[0]).get("RssAnon", 0) > 64 << 20:
                break
            time.sleep(0.1)
        assert len(kids) == 1
        alone, tree = read_status(parent.pid), tree_status(parent.pid)
        assert tree["RssAnon"] - alone["RssAnon"] >= 64 << 20
    finally:
        for pid in descendants(parent.pid):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()
