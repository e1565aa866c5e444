"""Progress bars: shown on a terminal, silent when output goes to a file or a pipe (so logs and
the one-line error contract stay clean). PIPELINE_PROGRESS=1 forces them on, =0 off. Under
torchrun only rank 0 shows bars and messages, so a run prints each line once."""

from __future__ import annotations

import math
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


def duration(seconds: float) -> str:
    """A time as a person reads it at any scale: `0.02 s`, `3.2 s`, `95 s`, `3.2 min`, `2.5 h`.
    Two significant digits below ten seconds, so a positive time never prints as 0."""
    if seconds <= 0 or not math.isfinite(seconds):
        return f"{seconds:g} s"
    if seconds < 1e-4:
        return "under 0.0001 s"
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
