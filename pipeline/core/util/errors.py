"""The exception types for what a user can fix (bad data, bad config) and for numbers that
stopped being numbers; and how a message names the files or ids at fault."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """A problem with the user's input: reported as one `error:` line and exit code 2."""


class Interrupted(Exception):
    """Stopped on Ctrl-C after saving what resumes it; the message says how to go on."""


class NonFiniteError(ArithmeticError):
    """A loss, a weight or a model output became NaN or infinite."""


def first_names(names: Iterable[str]) -> str:
    """The first five of `names` in sorted order, quoted, and how many more there are: what an
    error message shows of a long list."""
    ordered = sorted(names)
    shown = ", ".join(f"'{n}'" for n in ordered[:5])
    return shown + (f" and {len(ordered) - 5} more" if len(ordered) > 5 else "")
