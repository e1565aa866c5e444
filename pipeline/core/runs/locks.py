"""The locks on an experiment's folds: runs/<experiment>/.lock-fold<k>, a file held while a
stage works on fold k, naming the process that holds it (pid, host, stage, since)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..util.errors import UserError
from ..util.files import write_error


@contextlib.contextmanager
def holding(root: Path, paths: dict[int, Path], stage: str) -> Iterator[None]:
    """Hold the lock files `paths` (by fold) of the experiment at `root` for the block: a
    second stage that needs any of them stops with an error naming the holder (folds trained
    by separate jobs, one fold each, do not clash). A lock left by a process that is gone is
    taken over, with a line."""
    taken: list[Path] = []
    try:
        for fold, path in paths.items():
            taken.append(_lock(root, fold, path, stage))
        yield
    finally:
        for path in taken:
            path.unlink(missing_ok=True)


def _lock(root: Path, fold: int, path: Path, stage: str) -> Path:
    me = {"pid": os.getpid(), "host": socket.gethostname(), "stage": stage}
    me["since"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(root, e) from None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if holder is not None and _alive(holder):
                raise UserError(
                    f"{root}: fold {fold} is in use by {holder.get('stage', '?')} "
                    f"(pid {holder.get('pid')} on {holder.get('host')}, since "
                    f"{holder.get('since', '?')}); wait for it to end, or remove {path} "
                    "if that process is gone"
                ) from None
            who = f"pid {holder.get('pid')}" if holder else "an unreadable lock"
            print(f"{stage}: taking over {path} from {who}, which is no longer running")
            path.unlink(missing_ok=True)
            continue
        except OSError as e:
            raise write_error(path, e) from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return path
    raise UserError(f"{path}: another process took this lock at the same moment; try again")


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process that holds a lock is still running. One on another machine cannot
    be checked from here, so it counts as running."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
