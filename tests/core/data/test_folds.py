"""Fold assignment: titles never straddle folds; folds are balanced and reproducible."""

from __future__ import annotations

import pytest

from pipeline.core.data.folds import assign_folds, grouping, title_of
from pipeline.core.util.errors import UserError


def test_title_is_the_stem_before_the_first_dot():
    assert title_of("BookOfMaking.00001.01") == "BookOfMaking"
    assert title_of("plain_name") == "plain_name"


def test_no_title_is_split_and_folds_are_balanced():
    sizes = {"A": 7, "B": 5, "C": 4, "D": 4, "E": 3, "F": 2, "G": 1}
    stems = [f"{t}.{p:05d}.01" for t, n in sizes.items() for p in range(n)]
    fold_of = assign_folds(stems, 3, seed=0)
    for title in sizes:
        assert len({fold_of[s] for s in stems if title_of(s) == title}) == 1
    counts = sorted(sum(1 for s in stems if fold_of[s] == f) for f in range(3))
    assert counts == [8, 9, 9]  # 26 images: as even as whole titles allow
    assert assign_folds(stems, 3, seed=0) == fold_of


def test_names_without_titles_split_by_image():
    stems = [f"img{i}" for i in range(10)]
    fold_of = assign_folds(stems, 5)
    assert sorted(fold_of.values()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_too_few_titles_is_a_user_error_when_titles_are_asked_for():
    stems = ["A.1.1", "A.2.1", "B.1.1"]
    with pytest.raises(UserError, match="only 2 title"):
        assign_folds(stems, 3, group="title")
    assert grouping(stems, 3) == "image" and grouping(stems, 2) == "title"
    assert sorted(assign_folds(stems, 3, group="auto").values()) == [0, 1, 2]
    with pytest.raises(UserError, match="only 3 image"):
        assign_folds(stems, 4, group="auto")
