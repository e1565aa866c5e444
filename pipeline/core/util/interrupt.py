"""Ctrl-C during training: stop at the end of the step under way, after saving, not inside it."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class StopRequest:
    """Ctrl-C (SIGINT) asks the loop to stop at the next step it completes instead of killing
    it mid-step; a second Ctrl-C stops at once. Only the main thread can catch signals, so
    elsewhere (a notebook's worker thread, say) Ctrl-C keeps its usual meaning."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def armed(self) -> Iterator[StopRequest]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            self.requested = True
            signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts at once

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def ignore_ctrl_c(worker: int) -> None:
    """DataLoader workers leave Ctrl-C to the main process, which stops at a step's end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
