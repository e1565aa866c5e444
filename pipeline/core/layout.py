"""Where each stage reads and writes, derived from the config in one place."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def data_path(cfg: DictConfig, key: str) -> Path:
    """A path under data.root (`train_scan`, `train_clean`, `test_scan`, `test_truth`)."""
    return Path(cfg.data.root) / cfg.data[key]


def store_dir(cfg: DictConfig) -> Path:
    p = cfg.prepare
    name = p.name or f"{Path(cfg.data.root).resolve().name}-p{p.patch_size}-s{p.stride}-k{p.folds}"
    if not p.name and cfg.task.scale > 1:
        name += f"-x{cfg.task.scale}"
    return Path(cfg.data.prepared) / name


def run_dir(cfg: DictConfig) -> Path:
    return Path(cfg.runs) / cfg.experiment


def fold_dir(cfg: DictConfig, fold: int) -> Path:
    return run_dir(cfg) / f"fold{fold}"


def test_pred_dir(cfg: DictConfig) -> Path:
    return Path(cfg.export.pred_dir) if cfg.export.pred_dir else run_dir(cfg) / "pred" / "test"


def oof_dir(cfg: DictConfig) -> Path:
    return run_dir(cfg) / "pred" / "oof"


def leaderboard_csv(cfg: DictConfig) -> Path:
    return Path(cfg.runs) / "leaderboard.csv"
