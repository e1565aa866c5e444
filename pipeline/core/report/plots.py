"""An experiment's plots, written as PNG to runs/<experiment>/plots/ after `infer`:

  curves.png  training loss and validation score per fold, epoch by epoch
  errors.png  the distribution of per-image leaderboard errors, out of fold, against identity
  worst.png   the worst out-of-fold images (scan | prediction | clean), worst first

Figures are drawn with matplotlib's object API on the Agg canvas, never through pyplot, so
plotting works without a display and leaves a notebook's own matplotlib backend alone. Sizes
are fixed (inches x DPI, no tight bounding box) so a file's pixel size is known in advance.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from omegaconf import DictConfig

from ..runs.experiment import Experiment, Triplet, load_triplets
from ..scoring.evaluation import worst_first
from ..util.files import write_bytes

DPI = 100
WIDE = (10.0, 4.0)  # curves and errors: 1000 x 400 pixels
WORST_WIDTH = 9.0  # worst grid: 900 pixels wide, WORST_ROW pixels per image
WORST_ROW = 3.0
THUMB = 256  # images in the grid are shrunk by an integer step to at most this side


def worst_size(k: int) -> tuple[int, int]:
    """Pixel size (width, height) of a worst grid of k images."""
    return round(WORST_WIDTH * DPI), round(WORST_ROW * k * DPI)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def curves_figure(histories: dict[int, list[dict[str, Any]]]) -> Figure:
    """Training loss and validation score (leaderboard metric) per fold against the epoch; the
    dashed line is the fold's identity score, the dot its lowest validation score."""
    fig = _figure(WIDE)
    loss_ax, val_ax = fig.subplots(1, 2)
    for n, (fold, rows) in enumerate(histories.items()):
        color = f"C{n % 10}"
        epochs = [r["epoch"] for r in rows]
        loss_ax.plot(epochs, [r["train_loss"] for r in rows], color=color, label=f"fold {fold}")
        scores = [r["val_score"] for r in rows]
        val_ax.plot(epochs, scores, color=color, label=f"fold {fold}")
        best = int(np.argmin(scores))
        val_ax.plot([epochs[best]], [scores[best]], "o", color=color)
        val_ax.axhline(rows[0]["val_identity"], color=color, linestyle="--", linewidth=0.8)
    loss_ax.set(title="training loss", xlabel="epoch", ylabel="loss")
    val_ax.set(
        title="validation score (dashed: scans unchanged)",
        xlabel="epoch",
        ylabel="|mean Y error| (lower is better)",
    )
    for ax in (loss_ax, val_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if histories:
            ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    return fig


def errors_figure(rows: list[dict[str, Any]]) -> Figure:
    """Left: histogram of the per-image leaderboard error, model vs scans unchanged. Right: each
    image's error against its identity error; points under the diagonal got better."""
    fig = _figure(WIDE)
    hist_ax, scatter_ax = fig.subplots(1, 2)
    err = np.array([r["abs_err"] for r in rows])
    ident = np.array([r["identity_err"] for r in rows])
    top = max(float(err.max()), float(ident.max()), 1e-6)
    bins = np.linspace(0.0, top, 31)
    hist_ax.hist(ident, bins=bins, alpha=0.5, label=f"identity (mean {ident.mean():.3f})")
    hist_ax.hist(err, bins=bins, alpha=0.7, label=f"model, out of fold (mean {err.mean():.3f})")
    hist_ax.set(title="per-image |mean Y error|", xlabel="|ΔY|", ylabel="images")
    hist_ax.legend(fontsize=8)
    better = int((err < ident).sum())
    scatter_ax.scatter(ident, err, s=12, alpha=0.7)
    scatter_ax.plot([0, top], [0, top], color="grey", linewidth=0.8)
    scatter_ax.set(
        title=f"{better} of {len(rows)} images better than the scan",
        xlabel="identity |ΔY| (scan unchanged)",
        ylabel="model |ΔY|",
        xlim=(0, top * 1.05),
        ylim=(0, top * 1.05),
    )
    for ax in (hist_ax, scatter_ax):
        ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    return fig


def _thumb(image: np.ndarray) -> np.ndarray:
    step = max(1, -(-max(image.shape[:2]) // THUMB))
    return image[::step, ::step]


def triplet_figure(triplets: list[Triplet]) -> Figure:
    """One row per image: scan | prediction | clean, each titled with its numbers."""
    fig = _figure((WORST_WIDTH, WORST_ROW * len(triplets)))
    axes = fig.subplots(len(triplets), 3, squeeze=False)
    for row_axes, t in zip(axes, triplets, strict=True):
        r = t.row
        titles = (
            f"scan: |ΔY| {r['identity_err']:.2f}",
            f"prediction: |ΔY| {r['abs_err']:.2f}, PSNR {r['psnr']:.1f}",
            f"clean: mean Y {r['mean_y_true']:.1f}",
        )
        for ax, image, title in zip(row_axes, (t.scan, t.pred, t.clean), titles, strict=True):
            ax.imshow(_thumb(image), interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[0].set_ylabel(f"{r['stem']}\nfold {r['fold']}", fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.01, top=1 - 0.3 / fig.get_figheight())
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, e.g. for IPython.display.Image in a notebook."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def write_plots(cfg: DictConfig) -> list[Path]:
    """Draw the experiment's three plots from what train and infer wrote; returns their paths."""
    run = Experiment.of(cfg)
    rows = run.read_oof()
    worst = load_triplets(cfg, worst_first(rows)[: cfg.plots.worst])
    figures = {
        "curves.png": curves_figure(run.fold_histories()),
        "errors.png": errors_figure(rows),
        "worst.png": triplet_figure(worst),
    }
    paths = []
    for name, fig in figures.items():
        path = run.plots_dir / name
        write_bytes(path, png_bytes(fig))
        paths.append(path)
    return paths
