"""Part 5: the demo run, stage by stage, each stage in its own process as run_all.sh runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..core.config.load import REPO_ROOT
from ..core.util.errors import UserError

DEMO_STAGES = ("make_demo", "prepare", "train", "infer", "export", "score")


def bench_demo(config: str, overrides: list[str], work: Path) -> list[dict[str, Any]]:
    """The stages run_all.sh chains, each timed as its own process, writing into `work`."""
    paths = [
        f"data.root={work / 'demo'}",
        f"data.prepared={work / 'prepared'}",
        f"runs={work / 'runs'}",
        f"submissions={work / 'submissions'}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    rows = []
    for stage in DEMO_STAGES:
        command = [sys.executable, "-m", f"pipeline.{stage}", "--config", config]
        start = time.perf_counter()
        proc = subprocess.run(
            [*command, *overrides, *paths], cwd=work, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise UserError(f"demo run: stage {stage} failed: {last}")
        rows.append({"stage": stage, "seconds": seconds, "last_line": proc.stdout.strip()[-200:]})
    return rows
