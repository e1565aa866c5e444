"""The coverage of the ladder's intervals: each small set's interval against the error of the
same rungs on the population's other titles."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.bench.coverage import coverage, one_set, population, table
from pipeline.core.scoring.ladder import RUNGS, Ladder
from tests.conftest import run_cli


def test_a_set_is_scored_out_of_fold_and_on_the_titles_it_did_not_draw():
    pop = population("magazine", 0, titles=8, pages=2, size=32)
    assert len(pop.pages) == 16 and len(pop.titles()) == 8
    drawn = pop.titles()[:4]
    result = one_set(pop, drawn)
    assert set(result) == set(RUNGS)
    # identity needs no fit: its population error is the scans' own error on the other titles
    rest = [p for p in pop.pages if p.title not in drawn]
    identity = np.mean([abs(p.scan_y - p.clean_y) for p in rest])
    assert result["identity"]["population"] == pytest.approx(identity, abs=1e-12)
    trees = Ladder([p for p in pop.pages if p.title in drawn]).predict(rest)["gbt"]
    gbt = np.mean([abs(v - p.clean_y) for v, p in zip(trees, rest, strict=True)])
    assert result["gbt"]["population"] == pytest.approx(gbt, abs=1e-12)
    for r in result.values():
        assert r["low"] <= r["cv"] <= r["high"] and (r["units"], r["unit"]) == (4, "title")


def test_the_shares_of_sets_add_up_and_the_table_shows_them():
    result = coverage(["magazine"], [0], [3], sets=2, pool=8, pages=2, side=32)
    cell = result[3]["gbt"]
    assert cell["sets"] == 2 and cell["covered"] + cell["below"] + cell["above"] == 1.0
    assert table(result).splitlines()[2].startswith("| 3 | 2 | ")


def test_coverage_refuses_more_titles_than_half_the_population():
    result = run_cli("pipeline.bench", "coverage", "--titles", "30", "--pool", "40")
    assert result.code == 2 and "--titles" in result.err
