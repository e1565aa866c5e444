"""The local leaderboard: one row per finished experiment, best CV first; and what changed
between two experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .core import cli
from .core.config import config_diff
from .core.errors import UserError
from .core.experiment import LEADERBOARD_COLUMNS, Experiment, read_leaderboard

DESCRIPTION = """\
  python -m pipeline.leaderboard
      Print runs/leaderboard.csv sorted by CV score (lower is better). `infer` adds a row each
      time an experiment's out-of-fold predictions are scored.

  python -m pipeline.leaderboard --diff EXP_A EXP_B
      What a change bought: the config keys whose values differ between
      runs/EXP_A/config.yaml and runs/EXP_B/config.yaml (the experiment name aside), then both
      CV scores from cv.json and the delta B - A (negative: B is better)."""


def format_table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r.get(c, "").ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


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
    delta = cv_b["cv_mean"] - cv_a["cv_mean"]
    verdict = "no change" if delta == 0 else f"{b if delta < 0 else a} is better"
    lines.append(
        f"CV: {a} {cv_a['cv_mean']:.4f} ± {cv_a['cv_std']:.4f} -> "
        f"{b} {cv_b['cv_mean']:.4f} ± {cv_b['cv_std']:.4f}   "
        f"delta {delta:+.4f} (lower is better: {verdict})"
    )
    return "\n".join(lines)


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
    rows.sort(key=lambda r: float(r["cv_mean"]))
    print(format_table(rows, LEADERBOARD_COLUMNS))
    return 0


if __name__ == "__main__":
    cli.run(main)
