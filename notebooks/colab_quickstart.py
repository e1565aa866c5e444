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
# # descan quickstart: from a data folder to `submission.csv`
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/OWNER/descan/blob/main/notebooks/colab_quickstart.ipynb)
#
# Runs the same stages as `bash run_all.sh`, one cell each: build the demo data (or use
# yours), prepare patches, train the folds, restore the test scans with the fold ensemble and
# TTA, write the submission. Then it shows restored images next to their scans and clean
# pages, the cross-validation table and the local leaderboard.
#
# On Colab: *Runtime > Change runtime type > GPU* first. The setup cell clones the project
# and installs it; set `MOUNT_DRIVE = True` and `DATA_ROOT` to use a competition folder on
# Google Drive. Anywhere else (Jupyter, VS Code) the notebook runs from the repository as it
# is, and the Colab-only steps are skipped.

# %% tags=["parameters"]
REPO_URL = "https://github.com/OWNER/descan.git"  # where Colab clones the project from
CONFIG = "configs/demo.yaml"  # the experiment's config
DATA_ROOT = ""  # empty: the demo data; else a folder with train/scan, train/clean, test/scan
MOUNT_DRIVE = False  # Colab only: mount Google Drive, e.g. for DATA_ROOT="/content/drive/..."
OVERRIDES: list[str] = []  # key=value settings on top of CONFIG, e.g. ["train.epochs=10"]
SHOW = 4  # out-of-fold images in the scan / prediction / clean grid

# %% [markdown]
# ## Setup
# On Colab: clone and install (torch is already there, so the pinned CUDA build, a large
# download, is skipped). Elsewhere: work from this repository.

# %%
import os
import subprocess
import sys
from pathlib import Path

IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    ROOT = Path("/content/descan")
    if not ROOT.exists():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(ROOT)], check=True)
    requirements = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith(("#", "torch==", "torchvision=="))
    ]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements], check=True)
else:
    ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))
os.environ["PIPELINE_PROGRESS"] = "1"  # progress bars in the cell output
print("working in", ROOT, "(Colab)" if IN_COLAB else "")

# %%
if IN_COLAB and MOUNT_DRIVE:
    from google.colab import drive

    drive.mount("/content/drive")

# %% [markdown]
# ## The stages
# Each cell is `python -m pipeline.<stage> --config CONFIG key=value ...`, run in this
# kernel. Every stage reads what the one before wrote, so any cell can be rerun alone.

# %%
import pandas as pd
from IPython.display import Image, display

from pipeline import export, infer, make_demo, prepare, score, train
from pipeline.core.config import load_config
from pipeline.core.experiment import Experiment

SETTINGS = [*OVERRIDES, *([f"data.root={DATA_ROOT}"] if DATA_ROOT else [])]
ARGS = ["--config", CONFIG, *SETTINGS]
cfg = load_config(CONFIG, SETTINGS)
RUN = Experiment.of(cfg)
print(f"experiment '{cfg.experiment}': data {cfg.data.root}, outputs in {RUN.root}")


def run(stage, *options):
    """`python -m pipeline.<stage> [options] --config CONFIG key=value ...`, in this kernel."""
    stage.main([*options, *ARGS])

# %%
run(make_demo, "--if-needed")  # builds data/demo once; leaves other data folders alone
run(prepare)

# %%
run(train)

# %%
run(infer)

# %%
run(export)
run(score)

# %% [markdown]
# ## What the model does
# Out-of-fold images (each restored by the fold model that never saw it): the scan, the
# prediction and the clean page, with the leaderboard error |ΔY| of each.

# %%
from pipeline.core.plots import png_bytes, triplet_figure
from pipeline.core.experiment import load_triplets

oof = RUN.read_oof()
display(Image(png_bytes(triplet_figure(load_triplets(cfg, oof[:SHOW])))))

# %% [markdown]
# Training curves per fold, and the per-image errors against submitting the scans
# unchanged (`infer` wrote both to `runs/<experiment>/plots/`).

# %%
for name in ("curves.png", "errors.png"):
    display(Image(filename=str(RUN.plots_dir / name)))

# %% [markdown]
# ## Cross-validation and the leaderboard
# `val_score` is each fold's best epoch in training (one view); `oof_score` is the same
# fold scored by `infer` with the TTA views. The CV is the leaderboard metric over all the
# out-of-fold images, as the leaderboard computes it over the test images.

# %%
cv = RUN.read_cv()
folds = pd.DataFrame(RUN.fold_table()).set_index("fold")
display(folds)
print(f"CV {cv['cv']:.4f} (folds ± {cv['fold_std']:.4f})   identity {cv['identity']:.4f}")

# %%
board = pd.read_csv(RUN.leaderboard_path).sort_values("cv")
display(board)

# %% [markdown]
# ## The submission

# %%
SUBMISSION = Path(cfg.submissions) / "submission.csv"
display(pd.read_csv(SUBMISSION).head())
print("submission:", SUBMISSION.resolve())
if IN_COLAB:
    from google.colab import files

    files.download(str(SUBMISSION))
