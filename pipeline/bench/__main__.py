"""python -m pipeline.bench: every part, side by side in one run; markdown, and --json FILE."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..core.config import cli
from ..core.infer.tiling import auto_batch
from ..core.util.distributed import configure_threads, resolve_device
from ..core.util.errors import UserError
from ..core.util.files import write_text
from . import FULL, QUICK, QUICK_DEMO
from .demo import bench_demo
from .inference import bench_inference
from .loading import bench_loading
from .memory import bench_memory
from .report import headline, machine, report
from .training import bench_training

DESCRIPTION = """\
Measure, side by side in one run, with medians of repeats:
  1. data loading, samples/s: the prepared patch store vs decoding both full image files and
     cropping a random patch for every sample, at patch 128 and 256, with 0 and 2 workers;
  2. a training step, images/s, of every registered restorer (default settings) at 128x128;
     on CUDA also bf16 autocast, channels_last and torch.compile;
  3. inference, megapixels/s, with the configured model and tiling: one pass, 8-view TTA,
     8-view TTA x 3 folds;
  4. peak memory of tiled inference on 1, 4 and 16 megapixel images, each in a fresh process;
  5. the wall time of the demo run (the config's stages, in a temporary folder), by stage.
Prints markdown tables (docs/speed.md is this output) and the targets met or missed;
--json FILE writes every number, with the headline ratios at the top level. About 9 minutes
on 2 quiet CPU cores without the demo, 14 with it; --no-demo skips part 5.

Commands of their own (each with --help):
  python -m pipeline.bench coverage     the ladder's 95% intervals on many simulated sets
  python -m pipeline.bench scale        time and memory per stage at N and 4N training pairs
  python -m pipeline.bench study-sets   a folder whose scans the simulator did not make
  python -m pipeline.bench ranking      whether the CV ranks methods as the test does"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["coverage"]:  # its own command: the ladder's intervals, no model
        from . import coverage

        return coverage.main(argv[1:])
    if argv[:1] == ["scale"]:  # its own command: time and memory at N and 4N training pairs
        from . import scale

        return scale.main(argv[1:])
    if argv[:1] == ["ranking"]:  # its own command: does the CV rank methods as the test does
        from . import ranking

        return ranking.main(argv[1:])
    if argv[:1] == ["study-sets"]:  # its own command: folders degraded apart from the simulator
        from . import study_sets

        return study_sets.main(argv[1:])
    parser = cli.stage_parser("pipeline.bench", DESCRIPTION)
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo run (part 5)")
    args, cfg = cli.parse_config(parser, argv)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UserError(f"--json: folder {Path(args.json).parent} does not exist")
    scale = QUICK if args.quick else FULL
    device = resolve_device(cfg.train.device)
    configure_threads()
    tile = scale.tile or cfg.infer.tile
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result: dict[str, Any] = {
        "config": args.config,
        "overrides": args.overrides,
        "device": str(device),
        "machine": machine(device),
        "scale": scale.__dict__,
        "batch": cfg.train.batch_size,
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        print("bench: data loading ...", file=sys.stderr)
        result["loading"] = bench_loading(work, scale, cfg.train.batch_size)
        print("bench: training steps ...", file=sys.stderr)
        result["training"] = bench_training(args.config, args.overrides, work, device, scale)
        print("bench: inference ...", file=sys.stderr)
        result["inference_setup"] = {
            "model": cfg.model.name,
            "side": scale.infer_side,
            "tile": tile,
            "overlap": min(cfg.infer.overlap, tile // 4),
            "batch": cfg.infer.batch or auto_batch(device),
        }
        result["inference"] = bench_inference(cfg, device, scale, tile)
        print("bench: tiled inference memory ...", file=sys.stderr)
        rows, batch = bench_memory(args.config, args.overrides, cfg, device, scale, tile)
        result["memory"] = {"rows": rows, "batch": batch}
        if not args.no_demo:
            print("bench: the demo run ...", file=sys.stderr)
            config = str(Path(args.config).resolve())
            extra = QUICK_DEMO if args.quick else []
            result["demo"] = bench_demo(config, [*args.overrides, *extra], work)
    result["load_before"] = load_before
    result["load_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {**headline(result), **result}
    print(report(result))
    if args.json:
        write_text(args.json, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    cli.run(main)
