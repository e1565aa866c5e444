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
# On Colab: *Runtime > Change runtime type > GPU* first. The setup cell installs the package
# (`pip install git+REPO_URL`: set `REPO_URL` once, where the repository is published); set
# `MOUNT_DRIVE = True` and `DATA_ROOT` to use a competition folder on Google Drive.
#
# On Kaggle (detected, or `KAGGLE = True`): the competition is read from `/kaggle/input/...`
# (read-only; the first folder there with `train/scan`, or `DATA_ROOT`), and everything is
# written under `/kaggle/working`, `submission.csv` at its top where Kaggle looks for it. With
# the notebook's internet off, add a dataset holding the package's wheel (`pip wheel . -w
# dist` in the repository) and set `WHEELS` to its folder: nothing else is downloaded.
#
# Anywhere else (Jupyter, VS Code) the notebook runs from the repository, where `run_all.sh`
# and `run_tests.sh` installed the package into `.venv`.

# %% tags=["parameters"]
# Set once, when the repository is published: Colab and Kaggle install the package from it.
REPO_URL = "https://github.com/OWNER/descan.git"
WHEELS = ""  # a folder holding the descan wheel: installed from there, without the network
CONFIG = "configs/demo.yaml"  # the experiment's config (a shipped one, or a file of yours)
DATA_ROOT = ""  # empty: the demo data (on Kaggle: the competition); else train/scan, ...
MOUNT_DRIVE = False  # Colab only: mount Google Drive, e.g. for DATA_ROOT="/content/drive/..."
KAGGLE = None  # None: detect a Kaggle notebook; True / False to say
KAGGLE_INPUT = "/kaggle/input"  # Kaggle: the read-only datasets and competitions
KAGGLE_WORKING = "/kaggle/working"  # Kaggle: where everything is written
OVERRIDES: list[str] = []  # key=value settings on top of CONFIG, e.g. ["train.epochs=10"]
SHOW = 4  # out-of-fold images in the scan / prediction / clean grid

# %% [markdown]
# ## Setup
# Installs the package where it is not installed yet (Colab, Kaggle; torch is already there,
# so the pinned CUDA build, a large download, is skipped), then picks where data is read and
# outputs are written.

# %%
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

IN_COLAB = "google.colab" in sys.modules
ON_KAGGLE = bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE")) if KAGGLE is None else KAGGLE
if importlib.util.find_spec("pipeline") is None:
    offline = ["--no-index", "--find-links", WHEELS, "descan"]  # the wheels in WHEELS only
    source = offline if WHEELS else [f"git+{REPO_URL}"]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *source], check=True)
PLACES: list[str] = []  # where outputs go, when not under the working folder
if ON_KAGGLE:
    WORK = Path(KAGGLE_WORKING)
    if not DATA_ROOT:
        found = sorted(p.parent.parent for p in Path(KAGGLE_INPUT).glob("*/train/scan"))
        DATA_ROOT = str(found[0]) if found else ""
    PLACES = [f"runs={WORK / 'runs'}", f"data.prepared={WORK / 'prepared'}", f"submissions={WORK}"]
    os.environ.setdefault("WANDB_DIR", str(WORK))
elif IN_COLAB:
    WORK = Path("/content")
else:
    WORK = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
WORK.mkdir(parents=True, exist_ok=True)
os.chdir(WORK)
os.environ["PIPELINE_PROGRESS"] = "1"  # progress bars in the cell output
print("working in", WORK, "(Kaggle)" if ON_KAGGLE else "(Colab)" if IN_COLAB else "")

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
from pipeline.core.config.load import load_config
from pipeline.core.runs.experiment import Experiment

SETTINGS = [*OVERRIDES, *PLACES, *([f"data.root={DATA_ROOT}"] if DATA_ROOT else [])]
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
from pipeline.core.report.plots import png_bytes, triplet_figure
from pipeline.core.runs.experiment import load_triplets

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
