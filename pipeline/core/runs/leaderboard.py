"""The local leaderboard, runs/leaderboard.csv, as `leaderboard` prints it: best CV first
within each task; and what changed between two experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..config.load import config_diff
from ..task.task import Task
from .experiment import LEADERBOARD_COLUMNS, Experiment, leaderboard_path, read_leaderboard


def format_table(rows: list[dict[str, str]], columns: list[str]) -> str:
    """The rows as a plain-text table, every column left-aligned under its header (pandas
    lays it out; it right-aligns strings, so each value is padded to its column first)."""
    table = pd.DataFrame([{c: str(r.get(c, "")) for c in columns} for r in rows], columns=columns)
    for c in columns:
        table[c] = table[c].str.ljust(max(len(c), int(table[c].str.len().max() or 0)))
    return table.to_string(index=False, justify="left")


def _show(value: Any) -> str:
    return str(value) if not isinstance(value, str) or value else "''"


def diff_report(runs: Path, a: str, b: str) -> str:
    """The text `--diff A B` starts with: changed keys as `key: A -> B`, then the CV line
    (`scoring.evaluation.experiment_diff` adds the paired difference)."""
    exp_a, exp_b = Experiment(runs, a), Experiment(runs, b)
    changes = config_diff(exp_a.read_config(), exp_b.read_config())
    lines = [f"config: {len(changes)} key(s) differ between {a} and {b}"]
    width = max((len(k) for k, _, _ in changes), default=0)
    lines += [f"  {k.ljust(width)}  {_show(va)} -> {_show(vb)}" for k, va, vb in changes]
    cv_a, cv_b = exp_a.read_cv(), exp_b.read_cv()
    if cv_a is None or cv_b is None:
        missing = " and ".join(e for e, cv in ((a, cv_a), (b, cv_b)) if cv is None)
        lines.append(f"CV: no cv.json for {missing} yet (`python -m pipeline.infer` writes it)")
        return "\n".join(lines)
    task = Task(cv_b["task"], cv_b["scale"])
    delta = cv_b["cv"] - cv_a["cv"]
    verdict = (
        "no change"
        if delta == 0
        else f"{b if task.better(cv_b['cv'], cv_a['cv']) else a} is better"
    )
    direction = "lower" if task.lower_is_better else "higher"
    lines.append(
        f"CV: {a} {cv_a['cv']:.4f} (folds ± {cv_a['fold_std']:.4f}) -> "
        f"{b} {cv_b['cv']:.4f} (folds ± {cv_b['fold_std']:.4f})   "
        f"delta {delta:+.4f} ({direction} is better: {verdict})"
    )
    return "\n".join(lines)


def ranked(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Leaderboard rows grouped by task, best CV first within each (the task says which way)."""

    def key(r: dict[str, str]) -> tuple[str, float]:
        value = float(r["cv"]) if r.get("cv") else float("inf")
        task = Task.named(r.get("task"))
        return (task.kind, value if task.lower_is_better else -value)

    return sorted(rows, key=key)


def leaderboard_table(runs: Path) -> str:
    """The text `leaderboard` prints: the table, ranked, or a line saying it is empty."""
    path = leaderboard_path(runs)
    rows = read_leaderboard(path)
    if not rows:
        return f"no finished experiments yet ({path} is empty or missing)"
    return format_table(ranked(rows), LEADERBOARD_COLUMNS)
