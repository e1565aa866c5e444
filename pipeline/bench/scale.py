"""python -m pipeline.bench scale: how time and memory grow with the training pairs.

For N and 4N training pairs it builds two demo folders, runs each stage of run_all.sh's
default pipeline in its own process, samples /proc/<pid>/status of it and of the processes it
starts (DataLoader workers) every ~50 ms and reports per stage seconds per pair, peak anonymous
and file-backed RSS summed over them, and the 4N/N ratios."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..core.config.load import REPO_ROOT
from ..core.util.errors import UserError

STAGES = ("prepare", "train", "infer", "export", "baselines")
TARGETS = {"time": 1.2, "anon": 1.3}
FIELDS = ("VmRSS", "RssAnon", "RssFile")


def read_status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon and RssFile of a process, in bytes; empty once it has gone."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in FIELDS:
            out[key] = int(value.split()[0]) * 1024
    return out


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (DataLoader workers, torchrun ranks), from the
    parent ids in /proc/<pid>/stat."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def tree_status(pid: int) -> dict[str, int]:
    """read_status summed over `pid` and its descendants: a stage's memory with its workers.
    Anonymous memory adds up; file-backed pages shared by the processes count once each."""
    total = read_status(pid)
    for child in descendants(pid):
        for key, value in read_status(child).items():
            total[key] = total.get(key, 0) + value
    return total


def run_sampled(
    command: list[str], cwd: Path, env: dict[str, str], every: float = 0.05
) -> dict[str, Any]:
    """Run `command`, sampling its memory every `every` seconds; seconds and peak bytes."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = dict.fromkeys(FIELDS, 0)
    while proc.poll() is None:
        for key, value in tree_status(proc.pid).items():
            peak[key] = max(peak[key], value)
        time.sleep(every)
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        last = (err.strip().splitlines() or ["(no message)"])[-1]
        raise UserError(f"scale: {command[2]} failed: {last}")
    return {
        "seconds": seconds,
        "rss": peak["VmRSS"],
        "anon": peak["RssAnon"],
        "file": peak["RssFile"],
    }


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(pairs: int, size: int, work: Path, config: str) -> dict[str, Any]:
    """Build a demo of `pairs` training pages and run every stage on it."""
    paths = [
        f"data.root={work / 'demo'}",
        f"data.prepared={work / 'prepared'}",
        f"runs={work / 'runs'}",
        f"submissions={work / 'submissions'}",
        f"demo.titles={pairs}",
        "demo.pages_per_title=1",
        f"demo.size={size}",
        "train.epochs=1",
        f"prepare.folds={min(3, pairs)}",  # a tiny run has fewer pages than the default folds
    ]
    if size < 128:  # small pages: patches that fit them
        paths += [f"prepare.patch_size={size // 2}", f"prepare.stride={size // 4}"]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "WANDB_MODE": "disabled",
    }
    base = [sys.executable, "-m"]
    run_sampled([*base, "pipeline.make_demo", "--config", config, *paths], work, env)
    stages = {}
    for stage in STAGES:
        row = run_sampled([*base, f"pipeline.{stage}", "--config", config, *paths], work, env)
        row["seconds_per_pair"] = row["seconds"] / pairs
        stages[stage] = row
    return {"pairs": pairs, "stages": stages, "store_bytes_per_pair": du(work / "prepared") / pairs}


def bench_scale(pairs: int, size: int, config: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        runs = {}
        for n in (pairs, 4 * pairs):
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            print(f"scale: {n} pairs ...", file=sys.stderr)
            runs[n] = measure(n, size, work, config)
    small, big = runs[pairs], runs[4 * pairs]
    stages = {}
    for stage in STAGES:
        a, b = small["stages"][stage], big["stages"][stage]
        stages[stage] = {
            "n": a,
            "4n": b,
            "time_ratio": b["seconds_per_pair"] / a["seconds_per_pair"],
            "anon_ratio": b["anon"] / a["anon"],
            "file_ratio": b["file"] / a["file"] if a["file"] else float("nan"),
        }
    return {
        "pairs": pairs,
        "size": size,
        "targets": TARGETS,
        "stages": stages,
        "store_bytes_per_pair": {
            "n": small["store_bytes_per_pair"],
            "4n": big["store_bytes_per_pair"],
        },
    }


def table(result: dict[str, Any]) -> str:
    mib = 2**20
    head = (
        "stage",
        "s/pair N",
        "s/pair 4N",
        "time x",
        "anon MiB N",
        "anon MiB 4N",
        "anon x",
        "file MiB N",
        "file MiB 4N",
    )
    rows = [head]
    for stage, r in result["stages"].items():
        rows.append(
            (
                stage,
                f"{r['n']['seconds_per_pair']:.3f}",
                f"{r['4n']['seconds_per_pair']:.3f}",
                f"{r['time_ratio']:.2f}" + ("" if r["time_ratio"] <= TARGETS["time"] else " !"),
                f"{r['n']['anon'] / mib:.0f}",
                f"{r['4n']['anon'] / mib:.0f}",
                f"{r['anon_ratio']:.2f}" + ("" if r["anon_ratio"] <= TARGETS["anon"] else " !"),
                f"{r['n']['file'] / mib:.0f}",
                f"{r['4n']['file'] / mib:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    p = result["pairs"]
    s = result["store_bytes_per_pair"]
    lines.append(
        f"N={p}, 4N={4 * p}, size {result['size']} px; targets: time x <= {TARGETS['time']}, "
        f"anon x <= {TARGETS['anon']} (! = missed)"
    )
    lines.append(f"store bytes per pair: N {s['n']:.0f}, 4N {s['4n']:.0f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench scale", description=__doc__)
    parser.add_argument(
        "--pairs", type=int, default=25, help="N: the runs use N and 4N training pairs"
    )
    parser.add_argument("--size", type=int, default=128, help="demo page size in px (default 128)")
    parser.add_argument("--config", default=str(REPO_ROOT / "configs" / "demo.yaml"))
    parser.add_argument(
        "--json", action="store_true", help="print a JSON dict instead of the table"
    )
    args = parser.parse_args(argv)
    if args.pairs < 1:
        raise UserError("--pairs must be at least 1")
    if args.size < 16:
        raise UserError("--size must be at least 16")
    result = bench_scale(args.pairs, args.size, str(Path(args.config).resolve()))
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0
