"""The local leaderboard: one row per finished experiment, best CV first."""

from __future__ import annotations

from pathlib import Path

from .core import cli
from .core.tracking import LEADERBOARD_COLUMNS, read_leaderboard

DESCRIPTION = """\
Print runs/leaderboard.csv sorted by CV score (lower is better). `infer` adds a row each time an
experiment's out-of-fold predictions are scored."""


def format_table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r.get(c, "").ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.leaderboard", DESCRIPTION, config=False)
    parser.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    args = parser.parse_args(argv)
    path = Path(args.runs) / "leaderboard.csv"
    rows = read_leaderboard(path)
    if not rows:
        print(f"no finished experiments yet ({path} is empty or missing)")
        return 0
    rows.sort(key=lambda r: float(r["cv_mean"]))
    print(format_table(rows, LEADERBOARD_COLUMNS))
    return 0


if __name__ == "__main__":
    cli.run(main)
