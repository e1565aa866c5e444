"""Experiment configuration: typed defaults, one YAML per experiment, `key=value` overrides.

The schema, every key a YAML file or an override may set with its type and default, is the
dataclasses of schema.py. A key that is not there, or a value of the wrong type, is a
user error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from ..synth import PRESETS, Ranges, check_setting, make_ranges
from ..util.errors import UserError
from .schema import LOSS_TERMS, PIXEL_LOSSES, Config

REPO_ROOT = Path(__file__).resolve().parents[3]
# The shipped configs live in the package (pipeline/configs; configs/ in the repository points
# there), so an installed `descan` finds them from any folder.
PACKAGE_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_CONFIG = PACKAGE_CONFIGS / "demo.yaml"


def config_path(path: str | Path | None) -> Path:
    """The config file a --config value names: the path as given, or else a shipped config of
    that name (`configs/descan.yaml` or `descan.yaml` outside the repository)."""
    if path is None:
        return DEFAULT_CONFIG
    path = Path(path)
    if path.is_file() or path.is_absolute() or path.parent.name not in ("", "configs"):
        return path
    shipped = PACKAGE_CONFIGS / path.name
    return shipped if shipped.is_file() else path


LAYOUTS = ("auto", "pairs", "gopro")


def _first_line(message: str) -> str:
    """OmegaConf appends lines of context (full_key, reference_type, ...) to its messages; the
    error contract is one line, and the first one says what is wrong."""
    return message.strip().splitlines()[0] if message.strip() else message


def _merge(base: DictConfig, other: DictConfig, source: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)  # type: ignore[return-value]
    except ConfigKeyError as e:
        raise UserError(f"{source}: unknown config key '{e.full_key}'") from None
    except ValidationError as e:
        raise UserError(f"{source}: bad value for '{e.full_key}': {_first_line(e.msg)}") from None
    except OmegaConfBaseException as e:
        raise UserError(f"{source}: {_first_line(e.msg)}") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Schema defaults <- YAML file <- `key=value` overrides, checked for unknown keys and types."""
    cfg = OmegaConf.structured(Config)
    path = config_path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    try:
        from_file = OmegaConf.load(path)
    except Exception as e:  # the YAML parser raises many types
        raise UserError(f"{path}: not a valid YAML config ({str(e).splitlines()[0]})") from None
    if not isinstance(from_file, DictConfig):
        raise UserError(f"{path}: a config must be a mapping of keys to values")
    cfg = _merge(cfg, from_file, str(path))
    file_model, file_root = cfg.model.name, cfg.data.root
    arg_overrides = []
    for item in overrides or []:
        if "=" not in item or item.startswith("="):
            raise UserError(f"override '{item}' is not of the form key=value")
        try:
            dotlist = OmegaConf.from_dotlist([item])
        except OmegaConfBaseException as e:
            raise UserError(f"override '{item}': {_first_line(e.msg)}") from None
        if item.split("=", 1)[0].strip().startswith("model.args"):
            arg_overrides.append((item, dotlist))
        cfg = _merge(cfg, dotlist, f"override '{item}'")
    if cfg.model.name != file_model:
        # The file's model.args are its own model's constructor arguments: a model named on
        # the command line starts from its defaults plus the model.args.* given there.
        cfg.model.args = {}
        for item, dotlist in arg_overrides:
            cfg = _merge(cfg, dotlist, f"override '{item}'")
    named = any(item.split("=", 1)[0].strip() == "experiment" for item in overrides or [])
    if not cfg.experiment:
        cfg.experiment = path.stem
    if Path(cfg.data.root).resolve() != Path(file_root).resolve() and not named:
        # Another dataset than the config file's: an experiment of its own, so its folds and
        # submission never land on the file's experiment (the demo's, say).
        cfg.experiment = f"{cfg.experiment}-{_slug(Path(cfg.data.root).resolve().name)}"
    validate(cfg)
    OmegaConf.set_readonly(cfg, True)
    return cfg


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "data"


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise UserError(f"{key}: {message}")


def fold_list(value: Any, key: str, k: int) -> list[int]:
    """Folds named by `value` ("all", an index or a list of indices), checked against k."""
    if value == "all":
        return list(range(k))
    items = list(value) if OmegaConf.is_list(value) or isinstance(value, list) else [value]
    folds = []
    for item in items:
        try:
            fold = int(item)
        except (TypeError, ValueError):
            raise UserError(f"{key}: expected 'all' or fold indices, got '{value}'") from None
        _check(0 <= fold < k, key, f"fold {fold} does not exist (folds are 0..{k - 1})")
        folds.append(fold)
    _check(len(folds) > 0, key, "no folds selected")
    return sorted(set(folds))


def validate(cfg: DictConfig) -> None:
    """Range checks that types alone cannot express."""
    p, t, i = cfg.prepare, cfg.train, cfg.infer
    _check(p.patch_size >= 16, "prepare.patch_size", f"must be at least 16, got {p.patch_size}")
    _check(p.stride >= 1, "prepare.stride", f"must be positive, got {p.stride}")
    _check(p.folds >= 2, "prepare.folds", f"need at least 2 folds, got {p.folds}")
    _check(
        p.group in ("auto", "title", "image"),
        "prepare.group",
        f"expected auto, title or image, got '{p.group}'",
    )
    fold_list(t.fold, "train.fold", p.folds)
    fold_list(i.folds, "infer.folds", p.folds)
    _check(t.epochs >= 1, "train.epochs", f"must be at least 1, got {t.epochs}")
    _check(t.batch_size >= 1, "train.batch_size", f"must be at least 1, got {t.batch_size}")
    _check(t.lr > 0, "train.lr", f"must be positive, got {t.lr}")
    _check(
        t.scheduler in ("cosine", "plateau", "none"),
        "train.scheduler",
        f"expected cosine, plateau or none, got '{t.scheduler}'",
    )
    _check(
        t.loss in PIXEL_LOSSES,
        "train.loss",
        f"unknown loss '{t.loss}' (known: {', '.join(sorted(PIXEL_LOSSES))})",
    )
    _check(
        t.optimizer in ("adamw", "adam"),
        "train.optimizer",
        f"expected adamw or adam, got '{t.optimizer}'",
    )
    _check(t.agc >= 0, "train.agc", f"must be >= 0 (0: off), got {t.agc}")
    validate_loss_terms(cfg)
    validate_task(cfg)
    validate_gan(cfg)
    _check(0 <= t.ema < 1, "train.ema", f"must be in [0, 1), got {t.ema}")
    _check(t.grad_clip >= 0, "train.grad_clip", f"must be >= 0, got {t.grad_clip}")
    _check(t.patience >= 0, "train.patience", f"must be >= 0, got {t.patience}")
    _check(t.val_every >= 1, "train.val_every", f"must be >= 1 epoch, got {t.val_every}")
    _check(t.val_images >= 0, "train.val_images", f"must be >= 0 (0: all), got {t.val_images}")
    _check(
        t.select in ("final", "best", "inner"),
        "train.select",
        f"expected final, best or inner, got '{t.select}'",
    )
    _check(
        t.patience == 0 or t.select in ("best", "inner"),
        "train.patience",
        "early stopping picks the epoch on validation images; it needs train.select=inner "
        "(an inner split of the training titles) or best (optimistic CV), or train.patience=0",
    )
    _check(t.time_budget >= 0, "train.time_budget", f"must be >= 0 minutes, got {t.time_budget}")
    _check(
        t.resume in (True, False, "auto"),
        "train.resume",
        f"expected true, false or auto, got '{t.resume}'",
    )
    _check(
        not (t.overwrite and t.resume is True),
        "train.overwrite",
        "train.overwrite=true trains the folds anew; it cannot go with train.resume=true",
    )
    _check(
        t.checkpoint_minutes >= 0,
        "train.checkpoint_minutes",
        f"must be >= 0 (0: at the end of each epoch only), got {t.checkpoint_minutes}",
    )
    _check(t.num_workers >= 0, "train.num_workers", f"must be >= 0, got {t.num_workers}")
    _check(
        len(i.tta) > 0 and all(0 <= v < 8 for v in i.tta),
        "infer.tta",
        f"expected a list of views in 0..7, got {list(i.tta)}",
    )
    _check(i.tile >= 16, "infer.tile", f"must be at least 16, got {i.tile}")
    _check(
        0 <= i.overlap < i.tile // 2,
        "infer.overlap",
        f"must be in [0, infer.tile/2), got {i.overlap} with tile {i.tile}",
    )
    _check(i.batch >= 0, "infer.batch", f"must be >= 0 (0: by device), got {i.batch}")
    _check(
        cfg.wandb.mode in ("offline", "online", "disabled"),
        "wandb.mode",
        f"expected offline, online or disabled, got '{cfg.wandb.mode}'",
    )
    _check(cfg.model.max_params >= 1, "model.max_params", "must be positive")
    _check(
        cfg.wandb.oof_images >= 0,
        "wandb.oof_images",
        f"must be >= 0, got {cfg.wandb.oof_images}",
    )
    _check(cfg.plots.worst >= 1, "plots.worst", f"must be at least 1, got {cfg.plots.worst}")
    _check(
        re.fullmatch(r"[a-z0-9-]*", cfg.kaggle.competition) is not None,
        "kaggle.competition",
        f"expected the slug from the competition's URL (a-z, 0-9, -), "
        f"got '{cfg.kaggle.competition}'",
    )
    _check(
        cfg.demo.pages in ("magazine", "other"),
        "demo.pages",
        f"expected magazine or other, got '{cfg.demo.pages}'",
    )
    _check(
        cfg.demo.test_titles >= 1,
        "demo.test_titles",
        f"must be at least 1, got {cfg.demo.test_titles}",
    )
    presets = ", ".join(PRESETS)
    for key, preset in (("demo.preset", cfg.demo.preset), ("synth.preset", cfg.synth.preset)):
        _check(preset in PRESETS, key, f"expected one of {presets}, got '{preset}'")
    a = cfg.augment
    if a.pipeline or a.scan_only or not (a.hflip and a.vflip and a.rot90):
        from ..data.augment import check_config  # here: albumentations takes a second to import

        check_config(a, cfg.task.scale, p.patch_size)
    p_syn = cfg.augment.synthetic_p
    _check(0 <= p_syn <= 1, "augment.synthetic_p", f"must be in [0, 1], got {p_syn}")
    for name, value in synth_overrides(cfg).items():
        problem = check_setting(name, value)
        _check(problem is None, f"synth.{name}", str(problem))


def validate_task(cfg: DictConfig) -> None:
    from ..task.task import check_task  # here: the task module imports torch, config need not

    _check(
        cfg.data.layout in LAYOUTS,
        "data.layout",
        f"expected auto, pairs or gopro, got '{cfg.data.layout}'",
    )
    check_task(cfg)


def validate_loss_terms(cfg: DictConfig) -> None:
    t = cfg.train
    for name, weight in t.loss_terms.items():
        _check(
            name in LOSS_TERMS,
            f"train.loss_terms.{name}",
            f"unknown loss term (known: {', '.join(LOSS_TERMS)})",
        )
        _check(weight >= 0, f"train.loss_terms.{name}", f"must be >= 0, got {weight}")
    if t.loss_terms:
        _check(
            any(w > 0 for w in t.loss_terms.values()),
            "train.loss_terms",
            "no loss term with a non-zero weight",
        )
    if t.loss_terms.get("perceptual", 0) > 0:
        _check(
            bool(t.vgg_weights),
            "train.vgg_weights",
            "train.loss_terms.perceptual needs a local VGG16 weights file (nothing is downloaded)",
        )
        _check(
            Path(t.vgg_weights).is_file(),
            "train.vgg_weights",
            f"VGG16 weights file {t.vgg_weights} not found (train.loss_terms.perceptual needs it)",
        )


def validate_gan(cfg: DictConfig) -> None:
    g = cfg.gan
    _check(g.mode in ("vanilla", "lsgan"), "gan.mode", f"expected vanilla or lsgan, got '{g.mode}'")
    _check(g.weight >= 0, "gan.weight", f"must be >= 0, got {g.weight}")
    _check(g.lr > 0, "gan.lr", f"must be positive, got {g.lr}")
    _check(
        len(g.betas) == 2 and all(0 <= b < 1 for b in g.betas),
        "gan.betas",
        f"expected two values in [0, 1), got {list(g.betas)}",
    )


def synth_overrides(cfg: DictConfig) -> dict[str, Any]:
    """The simulator settings the config replaces in its preset (those not null)."""
    section = OmegaConf.to_container(cfg.synth, resolve=True)
    return {k: v for k, v in section.items() if k != "preset" and v is not None}


def synth_ranges(cfg: DictConfig, preset: str | None = None) -> Ranges:
    """The simulator's ranges the config asks for: `preset` (default synth.preset) with the
    settings the synth section replaces. The config has been validated, so this cannot fail."""
    return make_ranges(preset or cfg.synth.preset, synth_overrides(cfg))


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)


def to_dict(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"train.lr": 0.002, ...}, the keys as `key=value` overrides name them.
    An empty mapping (model.args: {}) adds no key, so setting one argument is one difference."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


MISSING = "(unset)"
# Keys that name an experiment rather than change what it does.
IDENTITY_KEYS = ("experiment",)


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every setting that differs, sorted by key. A key
    present on one side only (a model argument, say) shows as MISSING on the other."""
    fa, fb = flatten(a), flatten(b)
    return [
        (key, fa.get(key, MISSING), fb.get(key, MISSING))
        for key in sorted(fa.keys() | fb.keys())
        if key not in IDENTITY_KEYS and fa.get(key, MISSING) != fb.get(key, MISSING)
    ]


# Keys that do not change what a fold learns: where files go, how a run goes, what infer does.
RUN_KEYS = (
    "experiment",
    "runs",
    "submissions",
    "data.prepared",
    "data.test_scan",
    "data.test_truth",
    "data.sample_submission",
    "train.fold",
    "train.resume",
    "train.overwrite",
    "train.device",
    "train.num_workers",
    "train.log_images",
    "train.checkpoint_minutes",
    "train.amp",
)
RUN_SECTIONS = ("demo.", "infer.", "export.", "wandb.", "plots.", "kaggle.")
# What a resumed fold may change: it trains on, for longer or shorter.
RESUMABLE_KEYS = ("train.epochs", "train.patience", "train.time_budget")


def training_changes(
    recorded: dict[str, Any], current: dict[str, Any], resuming: bool = False
) -> list[tuple[str, Any, Any]]:
    """The settings that would make folds trained with `recorded` and with `current` different
    models (config_diff without the run keys; with `resuming`, without what a resumed fold may
    change too)."""
    skip = RUN_KEYS + (RESUMABLE_KEYS if resuming else ())
    return [
        (k, a, b)
        for k, a, b in config_diff(recorded, current)
        if k not in skip and not k.startswith(RUN_SECTIONS)
    ]
