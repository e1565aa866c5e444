"""The local leaderboard: one row per finished experiment, best CV first; and what changed
between two experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .core.config import cli
from .core.config.load import config_diff
from .core.runs.experiment import LEADERBOARD_COLUMNS, Experiment, read_leaderboard
from .core.task.task import Task
from .core.util.errors import UserError

DESCRIPTION = """\
  python -m pipeline.leaderboard
      Print runs/leaderboard.csv, best CV first within each task: `cv` is the task's metric
      over all out-of-fold images (descan: the leaderboard's mean-Y MAE, lower is better;
      the other tasks: PSNR, higher is better), `baseline` the same for the scans unchanged
      (or bicubic), `fold_std` the spread of the folds. `infer` adds or replaces a row each
      time an experiment's out-of-fold predictions are scored.

  python -m pipeline.leaderboard --diff EXP_A EXP_B
      What a change bought: the config keys whose values differ between
      runs/EXP_A/config.yaml and runs/EXP_B/config.yaml (the experiment name aside), then both
      CV scores from cv.json and the delta B - A (negative: B is better)."""


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
    """The text `--diff A B` prints: changed keys as `key: A -> B`, then the CV line."""
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
        task = Task(r.get("task") or "descan")
        return (task.kind, value if task.lower_is_better else -value)

    return sorted(rows, key=key)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.leaderboard", DESCRIPTION, config=False)
    parser.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    parser.add_argument(
        "--diff",
        nargs=2,
        metavar=("EXP_A", "EXP_B"),
        help="the config keys that differ between two experiments, and the CV delta",
    )
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    if args.diff:
        a, b = args.diff
        if a == b:
            raise UserError(f"--diff: compare two different experiments, got '{a}' twice")
        print(diff_report(runs, a, b))
        return 0
    path = runs / "leaderboard.csv"
    rows = read_leaderboard(path)
    if not rows:
        print(f"no finished experiments yet ({path} is empty or missing)")
        return 0
    print(format_table(ranked(rows), LEADERBOARD_COLUMNS))
    return 0


if __name__ == "__main__":
    cli.run(main)
