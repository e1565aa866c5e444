"""What every stage's command line shares: the parser, the config, and the error contract."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from omegaconf import DictConfig

from ..util.errors import Interrupted, UserError
from ..util.progress import close_all
from .load import load_config

CONFIG_EPILOG = (
    "Overrides are key=value pairs on top of the config file, e.g. train.epochs=5 "
    "model.name=nafnet data.root=/data/descan. The keys and defaults are in "
    "pipeline/core/config/schema.py and configs/demo.yaml."
)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one `error:` line and exit code 2, and lets
    options and key=value overrides come in any order."""

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        return self.parse_intermixed_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def stage_parser(prog: str, description: str, config: bool = True) -> Parser:
    parser = Parser(
        prog=f"python -m {prog}",
        description=description,
        epilog=CONFIG_EPILOG if config else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if config:
        parser.add_argument(
            "--config",
            default="configs/demo.yaml",
            help="experiment YAML (default: %(default)s)",
        )
        parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    return parser


def parse_config(
    parser: Parser, argv: list[str] | None = None
) -> tuple[argparse.Namespace, DictConfig]:
    args = parser.parse_args(argv)
    return args, load_config(args.config, args.overrides)


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run a stage's main, turning user errors into the `error:` line and exit code 2."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        code = main() or 0
    except UserError as e:
        close_all()
        print(f"error: {e}", file=sys.stderr)
        code = 2
    except Interrupted as e:
        close_all()
        print(str(e), file=sys.stderr)
        code = 130
    except KeyboardInterrupt:
        close_all()
        print("error: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # the reader went away (`python -m pipeline.models | head`): nothing left to say to it
        sys.stderr.close()
        os._exit(0)
    sys.exit(code)
