"""The refusal to score or resume weights on a store whose folds they did not train on."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.core.data.store import check_trained_folds
from pipeline.core.util.errors import UserError


def test_weights_trained_on_other_folds_are_refused(tmp_path: Path):
    store = SimpleNamespace(root=tmp_path / "store", fold_map=lambda: {"a": 0, "b": 1})
    check_trained_folds(store, {"a": 0, "b": 1}, "w.pt", "exp", "; never")  # the same: fine
    for trained in ({"a": 1, "b": 0}, {"a": 0}, None):
        with pytest.raises(UserError) as e:
            check_trained_folds(store, trained, "w.pt", "exp", ": train it again")
        assert str(e.value) == (
            f"w.pt: experiment 'exp' was trained on other folds than store {tmp_path / 'store'} "
            "holds (the data or prepare.* changed since): train it again"
        )
