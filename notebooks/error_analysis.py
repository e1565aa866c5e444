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
# # Error analysis of one experiment
#
# Every training image was restored once, out of fold, by the model of the fold that held it
# out (`python -m pipeline.infer` wrote them to `runs/<experiment>/pred/oof/` and scored them
# in `oof_scores.csv`). Here they are ranked by the official metric, worst first, with their
# pixel metrics; then the CV per fold and per magazine title. With `COMPARE` set to another
# experiment, it also lists what changed between the two and which images got worse.

# %% tags=["parameters"]
CONFIG = "configs/demo.yaml"  # the config the experiment was run with
OVERRIDES: list[str] = []  # the same key=value settings as for the run
EXPERIMENT = ""  # empty: the config's experiment
COMPARE = ""  # another experiment to compare with, e.g. "demo_lr4e-3"; empty: none
WORST = 8  # images in the worst-first grid
TABLE = 20  # rows of the ranked table

# %%
import os
from pathlib import Path

# The package is installed (run_all.sh and run_tests.sh install it into .venv; elsewhere
# `pip install -e .`); paths in the config are relative to the repository.
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
os.chdir(ROOT)

import pandas as pd
from IPython.display import Image, display

from pipeline.core.config.load import load_config
from pipeline.core.report.plots import curves_figure, errors_figure, png_bytes, triplet_figure
from pipeline.core.runs.experiment import Experiment, load_triplets
from pipeline.core.scoring.evaluation import title_table, worst_first

cfg = load_config(CONFIG, [*OVERRIDES, *([f"experiment={EXPERIMENT}"] if EXPERIMENT else [])])
RUN = Experiment.of(cfg)
cv = RUN.read_cv()
ranked = worst_first(RUN.read_oof())
print(
    f"{cfg.experiment}: CV {cv['cv']:.4f} over {len(ranked)} out-of-fold images "
    f"({len(cv['folds'])} folds: {cv['fold_mean']:.4f} ± {cv['fold_std']:.4f}); "
    f"identity {cv['identity']:.4f}"
)

# %% [markdown]
# ## Worst first
# `abs_err` is the image's leaderboard error |mean Y(prediction) - mean Y(clean)|;
# `identity_err` the same for the scan; `y_mae` and `psnr` are pixel metrics beside it.

# %%
table = pd.DataFrame(ranked)
table.insert(0, "rank", range(1, len(table) + 1))
display(table.head(TABLE).set_index("rank"))

# %%
display(Image(png_bytes(triplet_figure(load_triplets(cfg, ranked[:WORST])))))

# %% [markdown]
# ## The distribution of errors
# Points under the diagonal are images the model made better than the scan.

# %%
display(Image(png_bytes(errors_figure(ranked))))

# %% [markdown]
# ## CV per fold
# The CV is the leaderboard metric over all out-of-fold images; folds differ in size, so it is
# not the mean of the folds' scores. `val_score` is the fold's chosen epoch (`train.select`) as training
# validated it (one view), `oof_score` the fold's images through `infer` (TTA).

# %%
folds = pd.DataFrame(RUN.fold_table()).set_index("fold")
display(folds)
weighted = (folds["oof_score"] * folds["images"]).sum() / folds["images"].sum()
print(f"folds weighted by their images: {weighted:.4f}   (cv.json: {cv['cv']:.4f})")
display(Image(png_bytes(curves_figure(RUN.fold_histories()))))

# %% [markdown]
# ## CV per title
# Titles are never split across folds, so a bad title is one the other titles did not teach.

# %%
titles = pd.DataFrame(title_table(ranked)).set_index("title")
display(titles)

# %% [markdown]
# ## Compared with another experiment
# The config keys that differ (`python -m pipeline.leaderboard --diff` prints the same), the
# CV delta, and the images whose error grew the most.

# %%
if COMPARE:
    from pipeline.core.runs.leaderboard import diff_report

    print(diff_report(Path(cfg.runs), COMPARE, cfg.experiment))
    other = pd.DataFrame(Experiment(cfg.runs, COMPARE).read_oof()).set_index("stem")["abs_err"]
    delta = table.set_index("stem")[["title", "fold", "abs_err"]].join(
        other.rename(f"abs_err_{COMPARE}"), how="inner"
    )
    delta["change"] = delta["abs_err"] - delta[f"abs_err_{COMPARE}"]
    print(f"{(delta['change'] > 0).sum()} of {len(delta)} images got worse than in {COMPARE}")
    display(delta.sort_values("change", ascending=False).head(TABLE))
