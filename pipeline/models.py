"""The model list: every registered architecture and its parameter count at default settings."""

from __future__ import annotations

import inspect
import json

from .core.config import cli
from .core.models import (
    build_model,
    count_params,
    list_models,
    model_defaults,
    model_kind,
    needs_bicubic_input,
)

DESCRIPTION = """\
List the registered architectures: their kind, trainable parameter counts at default settings
(model.args empty), default super-resolution scale, and a one-line summary. Their settings
(model.args) are the constructor arguments, documented in pipeline/core/models/<name>.py.

  kind     restorer: what model.name names, degraded image in, restored image out;
           discriminator: scores images for GAN training
  scale    the default upscaling factor of models that take a `scale` argument (they map
           h x w to h*scale x w*scale); "-" for same-size models
  bicubic  "yes" for models that work at the output resolution (SRCNN, ARCNN): for
           super-resolution they take the input already upsampled with MATLAB bicubic

  python -m pipeline.models           an aligned table, sorted by name
  python -m pipeline.models --json    a JSON list of {"name", "kind", "params", "scale",
                                      "bicubic_input"} (scale null for same-size models)"""


def summary() -> list[dict]:
    """Name, kind, trainable parameters, default scale, whether the input must be bicubic
    upsampled for super-resolution, and a one-line description of every model at its
    defaults."""
    rows = []
    for name in list_models():
        model = build_model(name)
        # Each architecture's module docstring opens with its summary: the first paragraph,
        # on one line.
        doc = inspect.getdoc(inspect.getmodule(type(model))) or ""
        about = " ".join(doc.split("\n\n")[0].split())
        rows.append(
            {
                "name": name,
                "kind": model_kind(name),
                "params": count_params(model),
                "scale": model_defaults(name).get("scale"),
                "bicubic_input": needs_bicubic_input(name),
                "about": about,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = cli.stage_parser("pipeline.models", DESCRIPTION, config=False)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rows = summary()
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "about"} for r in rows]))
        return 0
    table = [
        {
            "name": r["name"],
            "kind": r["kind"],
            "params": f"{r['params']:,}",
            "scale": "-" if r["scale"] is None else f"x{r['scale']}",
            "bicubic": "yes" if r["bicubic_input"] else "-",
        }
        for r in rows
    ]
    widths = {k: max(len(k), *(len(t[k]) for t in table)) for k in table[0]}
    right = {"params", "scale"}  # numbers line up on the right

    def line(cells: dict[str, str]) -> str:
        return "  ".join(
            f"{cells[k]:>{w}}" if k in right else f"{cells[k]:<{w}}" for k, w in widths.items()
        )

    print(line({k: k for k in widths}) + "  about")
    for t, r in zip(table, rows, strict=True):
        print(line(t) + "  " + r["about"])
    return 0


if __name__ == "__main__":
    cli.run(main)
