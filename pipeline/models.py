"""The model list: every registered architecture and its parameter count at default settings."""

from __future__ import annotations

import inspect
import json

from .core import cli
from .core.models import build_model, count_params, list_models

DESCRIPTION = """\
List the architectures that model.name can name: their trainable parameter counts at default
settings (model.args empty) and a one-line summary. Their settings (model.args) are the
constructor arguments, documented in pipeline/core/models/<name>.py.

  python -m pipeline.models           an aligned table, sorted by name
  python -m pipeline.models --json    a JSON list of {"name": ..., "params": ...}, sorted by name"""


def summary() -> list[dict]:
    """Name, trainable parameters and one-line description of every model at its defaults."""
    rows = []
    for name in list_models():
        model = build_model(name)
        # Each architecture's module docstring is its one-line summary.
        about = inspect.getdoc(inspect.getmodule(type(model))) or ""
        rows.append({"name": name, "params": count_params(model), "about": about})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.models", DESCRIPTION, config=False)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rows = summary()
    if args.json:
        print(json.dumps([{"name": r["name"], "params": r["params"]} for r in rows]))
        return 0
    name_width = max(len("name"), *(len(r["name"]) for r in rows))
    params = [f"{r['params']:,}" for r in rows]
    params_width = max(len("params"), *(len(p) for p in params))
    print(f"{'name':<{name_width}}  {'params':>{params_width}}  about")
    for r, p in zip(rows, params, strict=True):
        print(f"{r['name']:<{name_width}}  {p:>{params_width}}  {r['about']}")
    return 0


if __name__ == "__main__":
    cli.run(main)
