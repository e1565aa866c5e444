"""Progress bars: shown on a terminal, silent when output goes to a file or a pipe (so logs and
the one-line error contract stay clean). PIPELINE_PROGRESS=1 forces them on, =0 off. Under
torchrun only rank 0 shows bars and messages, so a run prints each line once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

from .distributed import is_main


def progress(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    forced = os.environ.get("PIPELINE_PROGRESS")
    disable = None if forced is None else forced == "0"
    if not is_main():
        disable = True
    return tqdm(iterable, disable=disable, dynamic_ncols=True, **kwargs)


def close_all() -> None:
    """End every open bar with a newline, so a message printed next starts on its own line."""
    for bar in list(getattr(tqdm, "_instances", [])):
        bar.close()


def say(message: str) -> None:
    """Print a line to stdout without tearing an open progress bar (rank 0 only)."""
    if is_main():
        tqdm.write(message)
