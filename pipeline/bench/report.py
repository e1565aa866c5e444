"""The benchmark's report: markdown tables, the headline numbers and the targets."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

import torch

from ..core.runs.tracking import git_commit
from ..core.util.distributed import usable_cpus
from .training import variants


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table, numbers to 3 significant digits (DataFrame.to_markdown would need
    the tabulate package for what these few lines do)."""

    def cell(v: Any) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine(device: torch.device) -> dict[str, Any]:
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "usable_cpus": usable_cpus(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "commit": git_commit(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = os.getloadavg()[0]
    return info


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The top-level numbers of the JSON, and the targets they are held to."""
    loading = {(r["patch"], r["workers"]): r for r in result["loading"]}
    inference = {r["mode"]: r for r in result["inference"]}
    memory = result["memory"]["rows"]
    rss = [r["rss_peak_mb"] for r in memory]
    ratio = None
    if all(v is not None and v > 0 for v in (rss[0], rss[-1])):
        ratio = rss[-1] / rss[0]
    demo = result.get("demo")
    return {
        "loader_speedup_256": loading[(256, 2)]["speedup"],
        # the albumentations default pipeline against the hand-written flips, the worst case
        "augment_vs_hand_written": min(r["vs_hand_written"] for r in result["loading"]),
        "tta8_cost_ratio": inference["8-view TTA"]["cost_vs_one_pass"],
        "tiled_peak_mem_ratio_16mp_1mp": ratio,
        "demo_wall_s": sum(r["seconds"] for r in demo) if demo else None,
    }


TARGETS = [
    ("loader_speedup_256", ">=", 5.0, "prepared loading vs decode-every-sample, patch 256"),
    ("augment_vs_hand_written", ">=", 0.9, "default augment pipeline vs hand-written flips, worst"),
    ("tta8_cost_ratio", "<=", 8.5, "8-view TTA time / one pass"),
    ("tiled_peak_mem_ratio_16mp_1mp", "<=", 1.3, "tiled inference peak memory, 16 MP / 1 MP"),
    ("demo_wall_s", "<=", 600.0, "demo run, seconds"),
]


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    parts = [
        f"Machine: {m['device']}, {m['usable_cpus']} usable CPU(s), {m['torch_threads']} torch "
        f"thread(s), torch {m['torch']}; load average {result['load_before']:.1f} before, "
        f"{result['load_after']:.1f} after (other processes share the CPUs when it exceeds "
        f"{m['usable_cpus']}).",
        f"\nData loading, samples/s (batches of {result['batch']}, {result['scale']['pairs']} "
        f"{result['scale']['image']}x{result['scale']['image']} PNG pairs):\n",
        table(
            [
                "patch",
                "workers",
                "prepared store",
                "hand-written flips",
                "decode every sample",
                "speedup",
                "vs hand-written",
            ],
            [
                [
                    r["patch"],
                    r["workers"],
                    r["prepared"],
                    r["hand_written"],
                    r["decode_every_sample"],
                    r["speedup"],
                    r["vs_hand_written"],
                ]
                for r in result["loading"]
            ],
        ),
    ]
    labels = list(variants(torch.device(result["device"])))
    side, batch = result["scale"]["train_size"], result["scale"]["train_batch"]
    parts += [
        f"\nTraining step, images/s ({side}x{side}, batches of {batch}, L1 + AdamW, "
        f"{result['device']}):\n",
        table(
            ["model", "params", *labels],
            [[r["model"], f"{r['params']:,}", *(r[k] for k in labels)] for r in result["training"]],
        ),
    ]
    inf = result["inference_setup"]
    parts += [
        f"\nInference ({inf['model']}, {inf['side']}x{inf['side']} image, tile {inf['tile']}, "
        f"overlap {inf['overlap']}, batch {inf['batch']}):\n",
        table(
            ["mode", "seconds", "MP/s", "time vs one pass"],
            [
                [r["mode"], r["seconds"], r["mp_per_s"], r["cost_vs_one_pass"]]
                for r in result["inference"]
            ],
        ),
    ]
    mem = result["memory"]
    cuda = any("cuda_peak_mb" in r for r in mem["rows"])
    first = mem["rows"][0]
    cold = first["rss_cold_first_mb"]
    parts += [
        f"\nTiled inference memory (one view, {mem['batch']} tiles per forward pass, tile "
        f"{inf['tile']}). Each size in a fresh process that first restores a "
        f"{first['side']}x{first['side']} image, as `infer` goes from image to image; peak "
        "resident memory above the process holding the model, the images and the outputs "
        f"(a cold process's first {first['side']}x{first['side']} image: "
        f"{'n/a' if cold is None else f'{cold:.1f}'} MB):\n",
        table(
            ["image", "MP", "seconds", "peak RSS growth, MB", "numpy peak, MB"]
            + (["CUDA peak, MB"] if cuda else []),
            [
                [
                    f"{r['side']}x{r['side']}",
                    r["megapixels"],
                    r["seconds"],
                    r["rss_peak_mb"],
                    r["numpy_peak_mb"],
                ]
                + ([r.get("cuda_peak_mb")] if cuda else [])
                for r in mem["rows"]
            ],
        ),
    ]
    if result.get("demo"):
        demo = result["demo"]
        parts += [
            f"\nDemo run ({result['config']}), seconds by stage:\n",
            table(
                ["stage", "seconds"],
                [[r["stage"], r["seconds"]] for r in demo]
                + [["total", sum(r["seconds"] for r in demo)]],
            ),
        ]
    rows = []
    for key, op, limit, what in TARGETS:
        value = result[key]
        met = None if value is None else value >= limit if op == ">=" else value <= limit
        rows.append(
            [what, f"{op} {limit:g}", value, {None: "not run", True: "met"}.get(met, "MISSED")]
        )
    parts += ["\nTargets:\n", table(["target", "limit", "measured", ""], rows)]
    return "\n".join(parts)
