# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Explore the data
#
# What is in the training folder, seen the way the leaderboard sees it: pairs and sizes,
# pages per magazine title, each image's mean Y (the only number the metric looks at) for the
# scan and the clean page, and how far submitting the scans unchanged ("identity") is from the
# truth. Last, the kinds of degradation a scan carries, one at a time.

# %% tags=["parameters"]
CONFIG = "configs/demo.yaml"  # the experiment's config (data.root says where the data is)
OVERRIDES: list[str] = []  # key=value settings, e.g. ["data.root=/data/descan"]
SAMPLE = 400  # pairs read for the mean-Y statistics (0: all of them)
EXAMPLES = 3  # scan / clean pairs shown

# %%
import os
from pathlib import Path

# The package is installed (run_all.sh and run_tests.sh install it into .venv; elsewhere
# `pip install -e .`); paths in the config are relative to the repository.
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
os.chdir(ROOT)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from pipeline import make_demo
from pipeline.core.config.load import load_config
from pipeline.core.data.folds import title_of
from pipeline.core.data.layout import data_path, pair_folders
from pipeline.core.task.metrics import mean_y
from pipeline.core.util.images import list_images, read_rgb

make_demo.main(["--if-needed", "--config", CONFIG, *OVERRIDES])  # builds data/demo if missing
cfg = load_config(CONFIG, OVERRIDES)

# %% [markdown]
# ## Pairs and sizes
# Scans and clean pages pair up by file stem (`Title.page.crop` in DESCAN-18K).

# %%
pairs = pair_folders(data_path(cfg, "train_scan"), data_path(cfg, "train_clean"))
test_scans = list_images(data_path(cfg, "test_scan"), "test scans")
df = pd.DataFrame(
    {
        "stem": [p.stem for p in pairs],
        "title": [title_of(p.stem) for p in pairs],
        "height": [p.height for p in pairs],
        "width": [p.width for p in pairs],
    }
)
print(f"{len(pairs)} training pairs, {len(test_scans)} test scans under {cfg.data.root}")
display(df.groupby(["height", "width"]).size().rename("pairs").to_frame())

# %% [markdown]
# ## Pages per title
# Folds keep a title's pages together, so the CV scores titles the model has never seen.

# %%
per_title = df["title"].value_counts().rename("pages").to_frame()
display(per_title)

# %% [markdown]
# ## The metric's view: mean Y per image
# The leaderboard compares one number per image, the mean of the Y plane. Identity's error
# on a pair is |mean Y(scan) - mean Y(clean)|; its mean over the pairs is the score of
# submitting the scans unchanged, the baseline a model has to beat.

# %%
rng = np.random.default_rng(0)
chosen = range(len(pairs))
if 0 < SAMPLE < len(pairs):
    chosen = sorted(rng.choice(len(pairs), SAMPLE, replace=False))
rows = []
for i in chosen:
    p = pairs[i]
    scan_y, clean_y = mean_y(read_rgb(p.scan)), mean_y(read_rgb(p.clean))
    rows.append({"stem": p.stem, "title": title_of(p.stem), "scan_y": scan_y, "clean_y": clean_y})
ys = pd.DataFrame(rows)
ys["identity_err"] = (ys["scan_y"] - ys["clean_y"]).abs()
IDENTITY = ys["identity_err"].mean()
print(f"identity (scans unchanged) over {len(ys)} pairs: {IDENTITY:.4f}")
display(ys.groupby("title")[["scan_y", "clean_y", "identity_err"]].mean())

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
lo, hi = ys[["scan_y", "clean_y"]].min().min() - 5, ys[["scan_y", "clean_y"]].max().max() + 5
left.scatter(ys["clean_y"], ys["scan_y"], s=12)
left.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8)
left.set(xlabel="mean Y of the clean page", ylabel="mean Y of the scan", title="scan vs clean")
right.hist(ys["scan_y"] - ys["clean_y"], bins=30)
right.set(xlabel="mean Y(scan) - mean Y(clean)", ylabel="pairs", title="signed identity error")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Examples

# %%
fig, axes = plt.subplots(EXAMPLES, 2, figsize=(8, 4 * EXAMPLES), squeeze=False)
for (scan_ax, clean_ax), p in zip(axes, pairs[:EXAMPLES], strict=False):
    scan_ax.imshow(read_rgb(p.scan))
    clean_ax.imshow(read_rgb(p.clean))
    scan_ax.set_title(f"{p.stem}: scan", fontsize=9)
    clean_ax.set_title("clean", fontsize=9)
    for ax in (scan_ax, clean_ax):
        ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Degradation types
# What a scan of a printed magazine page carries (the DESCAN-18K categories), each applied
# alone to a clean page with the building blocks of the demo's print-scan simulator. Bottom
# row: a close-up. Real scans mix all of them; the demo's scans chain them all.

# %%
import dataclasses

from pipeline.core.synth import ScanParams, make_ranges, sample_params, simulate_scan

page = read_rgb(pairs[0].clean)
back = read_rgb(pairs[1 % len(pairs)].clean)
# A print with every degradation switched off, then one group at a time switched on: at a
# setting drawn from the magazine preset, exaggerated where the effect is subtle at this size.
drawn = sample_params(make_ranges("magazine"), np.random.default_rng(0))
neutral = ScanParams(
    halftone=False, screen_period=drawn.screen_period, dot_gain=0.0,
    plate_offsets=((0.0, 0.0),) * 4, paper=(1.0, 1.0, 1.0), black=0.0, gamma=1.0,
    contrast=1.0, saturation=1.0, gains=(1.0, 1.0, 1.0), bleed=0.0, bleed_blur=1.0, grain=0.0,
    warp=0.0, creases=0.0, crease_shade=0.0, dust=0.0, hairs=0.0, stains=0.0,
    scanner_lines=0.0, banding=0.0, blur=0.0, noise=0.0, jpeg_quality=None, shift=(0.0, 0.0),
    rotation=0.0,
)  # fmt: skip
groups = {
    "halftone, as scanned": dict(
        halftone=True, dot_gain=drawn.dot_gain, plate_offsets=drawn.plate_offsets,
        blur=drawn.blur,
    ),
    "color transition": dict(
        paper=drawn.paper, black=drawn.black, gamma=drawn.gamma, contrast=drawn.contrast,
        saturation=drawn.saturation, gains=drawn.gains,
    ),
    "bleed-through": dict(bleed=0.25, bleed_blur=drawn.bleed_blur),
    "texture (grain, creases)": dict(grain=0.04, warp=drawn.warp, creases=2.0, crease_shade=0.15),
    "external noise": dict(dust=4 * drawn.dust, hairs=4.0, stains=1.0),
    "internal noise (lines)": dict(scanner_lines=0.03, banding=0.04),
    "optics and sensor": dict(blur=1.2, noise=0.02),
}  # fmt: skip
effects = {"clean page": page}
for name, settings in groups.items():
    params = dataclasses.replace(neutral, **settings)
    effects[name] = simulate_scan(page, params, np.random.default_rng(1), back)
fig, axes = plt.subplots(2, len(effects), figsize=(2.6 * len(effects), 5.4))
h, w = page.shape[:2]
for (top, zoom), (name, image) in zip(axes.T, effects.items(), strict=True):
    top.imshow(image)
    zoom.imshow(image[h // 3 : h // 3 + h // 5, w // 3 : w // 3 + w // 5], interpolation="nearest")
    top.set_title(name, fontsize=9)
    for ax in (top, zoom):
        ax.axis("off")
plt.tight_layout()
plt.show()
