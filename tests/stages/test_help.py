"""Every stage's --help, as `descan STAGE --help` runs it: exit code 0 and a usage line that
names the stage's own command."""

from __future__ import annotations

import contextlib
import io
import sys

import pytest

from pipeline import __main__ as descan
from pipeline.__main__ import STAGES


def stage_help(stage: str) -> tuple[int, str]:
    """(exit code, stdout) of `descan STAGE --help`, run in this process."""
    out = io.StringIO()
    argv = sys.argv
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
            descan.main([stage, "--help"])
    finally:
        sys.argv = argv  # descan.main sets it for the stage's parser
    return exit_.value.code, out.getvalue()


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_has_a_help_that_names_its_command(stage: str):
    code, out = stage_help(stage)
    assert code == 0, out
    assert out.startswith(f"usage: python -m pipeline.{stage} "), out.splitlines()[:2]
    if stage == "leaderboard":
        assert "--diff EXP_A EXP_B" in out


def test_the_stage_list_is_what_descan_offers():
    assert descan.available() == STAGES
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        descan.main(["--help"])
    assert exit_.value.code == 0
    listed = [line.split()[0] for line in out.getvalue().splitlines() if line.startswith("  ")]
    assert listed == list(STAGES)
