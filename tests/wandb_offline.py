"""Read what W&B wrote offline (wandb/offline-run-*/run-*.wandb), without the network.

A .wandb file is a LevelDB-style log of protobuf records: a 7-byte file header, then 32 KiB
blocks of chunks, each with a 7-byte header (CRC32C, length, type: 1 full, 2 first,
3 middle, 4 last) and zero padding at a block's end.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wandb
from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32 * 1024
HEADER = 7


def records(path: Path) -> Iterator[pb.Record]:
    data = path.read_bytes()
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0:  # padding up to the block's end
            pos += left
            continue
        pending += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


@dataclass
class OfflineRun:
    folder: Path
    group: str = ""
    job_type: str = ""
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, list[str]] = field(default_factory=dict)  # name -> file paths
    # name -> type, digest, aliases and metadata, for the artifacts the run logged itself
    # (W&B also logs a run's tables and media as artifacts; they are in `artifacts` only)
    logged: dict[str, dict[str, Any]] = field(default_factory=dict)


def offline_runs(wandb_dir: Path) -> list[OfflineRun]:
    """Every offline run under `wandb_dir` (the folder holding offline-run-* folders). The W&B
    service of this process is shut down first: a finished run's file is complete only then
    (a command's runs are complete when it exits)."""
    wandb.teardown()
    runs = []
    for folder in sorted(wandb_dir.glob("offline-run-*")):
        run = OfflineRun(folder)
        for r in records(next(folder.glob("run-*.wandb"))):
            kind = r.WhichOneof("record_type")
            if kind == "run":  # a later run record (a rename) may carry only what changed
                run.group = r.run.run_group or run.group
                run.job_type = r.run.job_type or run.job_type
                run.name = r.run.display_name or run.name
                for item in r.run.config.update:
                    run.config[item.key] = json.loads(item.value_json)
            elif kind == "config":
                for item in r.config.update:
                    run.config[item.key] = json.loads(item.value_json)
            elif kind == "summary":
                for item in r.summary.update:
                    key = item.key or "/".join(item.nested_key)
                    run.summary[key] = json.loads(item.value_json)
            elif kind == "artifact":
                a = r.artifact
                run.artifacts[a.name] = [c.path for c in a.manifest.contents]
                run.logged[a.name] = {
                    "type": a.type,
                    "digest": a.digest,
                    "aliases": list(a.aliases),
                    "metadata": json.loads(a.metadata) if a.metadata else {},
                }
        runs.append(run)
    return runs
