"""Experiment configuration: typed defaults, one YAML per experiment, `key=value` overrides.

The dataclasses below are the schema: every key a YAML file or an override may set, its type
and its default. A key that is not here, or a value of the wrong type, is a user error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from .errors import UserError
from .synth import PRESETS, Ranges, check_setting, make_ranges

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shipped configs live in the package (pipeline/configs; configs/ in the repository points
# there), so an installed `descan` finds them from any folder.
PACKAGE_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
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


@dataclass
class TaskConfig:
    # descan: the course competition (leaderboard metric = mean-Y MAE, submission CSV);
    # deblur | denoise | deflare: same-size restoration, RGB PSNR/SSIM, no CSV;
    # sr: super-resolution, train/scan holds LR, train/clean HR = scale x LR, Y PSNR/SSIM.
    kind: str = "descan"
    scale: int = 1  # HR side / LR side; > 1 only (and required) for kind=sr


@dataclass
class DataConfig:
    root: str = "data/demo"  # competition folder: train/scan, train/clean, test/scan
    # pairs: train/scan + train/clean (input/target; for sr LR/HR); gopro (task.kind=deblur):
    # train/<sequence>/{blur,sharp}, test/<sequence>/blur; auto: gopro when train/scan is
    # missing and task.kind=deblur
    layout: str = "auto"
    train_scan: str = "train/scan"  # the next four are relative to root
    train_clean: str = "train/clean"
    test_scan: str = "test/scan"
    test_truth: str = "test/truth.csv"  # scored after export when it exists (the demo has one)
    sample_submission: str | None = None  # its ids and order are followed by export
    prepared: str = "data/prepared"  # patch stores live in <prepared>/<store name>


@dataclass
class DemoConfig:
    seed: int = 0
    titles: int = 6  # magazine titles; folds are split by title
    pages_per_title: int = 5  # training pages per title
    test_pages: int = 6
    test_titles: int = 2  # the test pages' titles, none of them a training title
    size: int = 256  # side of each square page, pixels
    preset: str = "magazine"  # print-scan simulator preset the demo scans are made with
    # magazine: the demo's pages; other: other images on white, dark or tinted paper, photo-led
    # or text-led (a set a model tuned on the demo has never seen)
    pages: str = "magazine"
    task: str = ""  # the degradation to build (a task.kind); empty: task.kind


@dataclass
class PrepareConfig:
    patch_size: int = 128  # shrunk to the smallest image side when an image is smaller
    stride: int = 64
    folds: int = 3
    group: str = "auto"  # folds split by: title | image | auto (title when >= folds titles)
    seed: int = 0  # breaks ties when titles are assigned to folds
    name: str = ""  # store folder name; empty: derived from data.root and the settings above


@dataclass
class ModelConfig:
    name: str = "resunet"
    max_params: int = 10_000_000  # the competition's budget, checked before training
    args: dict[str, Any] = field(default_factory=dict)  # passed to the model's constructor
    # Super-resolution: add the MATLAB bicubic upscale of the input to the model's output, so
    # the model learns only what bicubic misses and starts from the bicubic baseline.
    bicubic_skip: bool = False


@dataclass
class TrainConfig:
    fold: Any = "all"  # "all" or a fold index
    epochs: int = 30
    batch_size: int = 16
    samples_per_epoch: int = 0  # 0: one pass over the fold's training patches
    lr: float = 2e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"  # cosine | plateau | none
    plateau_factor: float = 0.5
    plateau_patience: int = 3  # epochs without improvement before the lr is cut
    loss: str = "l1"  # l1 | mse | charbonnier | l1_mean_y (L1 + the patch mean-luma error)
    # Weighted loss terms, e.g. {l1: 1.0, perceptual: 0.2, tv: 5e-5} (the deblurring recipe);
    # terms: l1, mse, charbonnier, l1_mean_y, perceptual (VGG16, needs vgg_weights), tv.
    # Empty: train.loss alone.
    loss_terms: dict[str, float] = field(default_factory=dict)
    vgg_weights: str | None = None  # local torchvision vgg16 state dict, for perceptual
    optimizer: str = "adamw"  # adamw | adam (Adam's weight decay is L2 in the gradient)
    grad_clip: float = 1.0  # max gradient norm; 0 turns clipping off
    agc: float = 0.0  # adaptive gradient clipping lambda (unit-wise, NFNets); 0: off
    ema: float = 0.0  # decay of the weight average that is validated and saved; 0: off
    amp: bool = True  # mixed precision, used only on CUDA
    # score | y_mae | psnr | ssim: picks best.pt, early stopping, plateau lr; empty: the task's
    # metric (score for descan, psnr for the others). psnr and ssim follow the task: Y with a
    # `scale` border crop for sr, RGB otherwise (descan: RGB PSNR, no ssim)
    monitor: str = ""
    # early stopping, epochs without a better validation score; 0: off. It stops on the
    # held-out images, so it needs select=best (and its CV is then optimistic)
    patience: int = 0
    # The weights each fold contributes: final (the last epoch's, or its EMA: nothing is chosen
    # on the held-out images, so the CV is honest) | best (the epoch with the best monitor on
    # the held-out images: its CV is optimistic; see the README's "Which CV to trust")
    select: str = "final"
    # Minutes of training per fold; 0: train.epochs. With a budget the number of epochs is
    # what fits (estimated from timed steps before training), at most train.epochs, so the
    # schedule and the EMA run their whole course and experiments compare at equal compute.
    time_budget: float = 0.0
    # An experiment whose folds hold checkpoints: false refuses to train it again, true
    # continues each fold from its last.pt (a finished fold is kept), auto does the same and
    # starts the folds that have none (run_all.sh); overwrite=true trains them anew.
    resume: Any = False
    overwrite: bool = False
    checkpoint_minutes: float = 10.0  # last.pt is also saved inside an epoch this often; 0: off
    num_workers: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    seed: int = 42
    log_images: int = 3  # scan/prediction/clean triplets logged per validation


@dataclass
class GanConfig:
    """Adversarial training beside the content loss (train.loss / train.loss_terms)."""

    discriminator: str = ""  # a registered discriminator; empty: no GAN
    args: dict[str, Any] = field(default_factory=dict)  # its constructor arguments
    weight: float = 1e-3  # adversarial weight in the generator loss (SRGAN 1e-3, pix2pix 1)
    mode: str = "vanilla"  # vanilla (BCE, non-saturating) | lsgan
    lr: float = 1e-4  # the discriminator's Adam learning rate
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # pix2pix: [0.5, 0.999]


@dataclass
class AugmentConfig:
    # albumentations pipelines in albumentations' own serialized form (what A.to_dict writes:
    # {__version__, transform}), as a mapping here, YAML text, or the path of a .yaml/.yml/.json
    # file A.save wrote. pipeline: geometric transforms, applied identically to scan and clean
    # (for super-resolution only flips, quarter turns and transposes); empty: the flips and
    # quarter turns the three switches below allow (all on: D4). scan_only: photometric
    # degradations of the scan alone (ImageCompression, GaussNoise, ColorJitter, Downscale...).
    pipeline: Any = None
    scan_only: Any = None
    hflip: bool = True
    vflip: bool = True
    rot90: bool = True
    jitter: bool = True  # shift each patch by up to half the stride, off the prepared grid
    # Chance, in [0, 1], that a training sample's scan is replaced by a synthetic scan of its
    # clean patch (for pagenet: of its whole clean page), made with the `synth` settings
    # (DESCAN-18K replaced a quarter; the demo and descan configs use 0.5). Validation and
    # test images are never touched.
    synthetic_p: float = 0.0


@dataclass
class SynthConfig:
    """The print-scan simulator (pipeline/core/synth), as augment.synthetic_p and
    `python -m pipeline.synth` use it: a preset, and any of its settings replaced. A setting
    is a range [low, high] drawn uniformly for each scan (or, for *_p, a chance); null keeps
    the preset's. Each must stay within the limits in brackets. Counts are per megapixel."""

    preset: str = "magazine"  # magazine | newspaper | photo_print | light
    halftone_p: float | None = None  # chance of a dot-screen print, else continuous tone [0, 1]
    screen_period: list[float] | None = None  # screen cell in scan pixels, dpi / lpi [2, 32]
    dot_gain: list[float] | None = None  # coverage a prints as a + g * a * (1 - a) [0, 0.5]
    misregistration: list[float] | None = None  # offset of each CMYK plate, pixels [0, 4]
    paper_white: list[float] | None = None  # brightness of blank paper as scanned [0.5, 1]
    paper_tint: list[float] | None = None  # yellowing: blue loses 1.6x, red 0.2x this [0, 0.3]
    black: list[float] | None = None  # lifted blacks: what solid black scans as [0, 0.4]
    gamma: list[float] | None = None  # tone curve exponent [0.4, 2.5]
    contrast: list[float] | None = None  # tone slope about mid grey [0.5, 1.5]
    saturation: list[float] | None = None  # share of the chroma kept [0, 1.5]
    channel_gain: list[float] | None = None  # each channel's gain is 1 +- this [0, 0.2]
    bleed: list[float] | None = None  # back page show-through where it is solid black [0, 0.5]
    bleed_blur: list[float] | None = None  # its scatter in the paper, Gaussian sigma px [0, 10]
    grain: list[float] | None = None  # paper grain, relative standard deviation [0, 0.1]
    warp: list[float] | None = None  # wrinkles: smooth displacement, pixels [0, 10]
    creases: list[float] | None = None  # folds, lit on one side, shadowed on the other [0, 20]
    crease_shade: list[float] | None = None  # strength of that light and shadow [0, 0.3]
    dust: list[float] | None = None  # dark specks [0, 2000]
    hairs: list[float] | None = None  # hairs and fibres [0, 50]
    stains: list[float] | None = None  # brownish stains with a darker rim [0, 20]
    scanner_lines: list[float] | None = None  # streaks along the sensor's travel [0, 0.1]
    banding: list[float] | None = None  # slow brightness bands across it [0, 0.1]
    blur: list[float] | None = None  # scanner optics (MTF), Gaussian sigma px [0, 5]
    noise: list[float] | None = None  # sensor noise standard deviation at white [0, 0.1]
    jpeg_p: float | None = None  # chance the scan was saved as JPEG [0, 1]
    jpeg_quality: list[float] | None = None  # its quality [10, 100]
    shift: list[float] | None = None  # misregistration of scan and original, pixels [0, 4]
    rotation: list[float] | None = None  # and its rotation, degrees [0, 3]


@dataclass
class InferConfig:
    tta: list[int] = field(default_factory=lambda: list(range(8)))  # dihedral views, 0 = identity
    tile: int = 256
    overlap: int = 32
    batch: int = 0  # images per forward pass (tiles x views); 0: 2 on the CPU, 16 on CUDA
    folds: Any = "all"  # "all" or a list of fold indices to ensemble
    oof: bool = True  # also predict each fold's held-out training images, for the CV score
    # Metric-aware finishing (descan): move each restored image's mean Y to w x its own + (1 - w)
    # x the baseline regressor's, w fitted out of fold (nested for the CV); chroma unchanged.
    finish: bool = False


@dataclass
class ExportConfig:
    pred_dir: str = ""  # empty: runs/<experiment>/pred/test
    out: str = ""  # empty: submissions/<experiment>.csv (and a copy as submission.csv)


@dataclass
class WandbConfig:
    mode: str = "offline"  # offline | online | disabled; the WANDB_MODE variable wins
    project: str = "descan"
    entity: str | None = None
    # scan | prediction | clean images in the summary run's out-of-fold table, worst first
    # (every image gets a row; images are capped because a real dataset has thousands)
    oof_images: int = 24


@dataclass
class PlotsConfig:
    worst: int = 6  # out-of-fold images in runs/<experiment>/plots/worst.png, worst first


@dataclass
class KaggleConfig:
    competition: str = ""  # the competition's slug (last part of its URL), for pipeline.submit


@dataclass
class Config:
    experiment: str = ""  # empty: the config file's name
    runs: str = "runs"
    submissions: str = "submissions"
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    infer: InferConfig = field(default_factory=InferConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    plots: PlotsConfig = field(default_factory=PlotsConfig)
    kaggle: KaggleConfig = field(default_factory=KaggleConfig)


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
    _check(
        t.select in ("final", "best"), "train.select", f"expected final or best, got '{t.select}'"
    )
    _check(
        t.patience == 0 or t.select == "best",
        "train.patience",
        "early stopping picks the epoch on the held-out images; it needs train.select=best "
        "(whose CV is then optimistic), or train.patience=0",
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
        from .augment import check_config  # here: albumentations takes a second to import

        check_config(a, cfg.task.scale, p.patch_size)
    p_syn = cfg.augment.synthetic_p
    _check(0 <= p_syn <= 1, "augment.synthetic_p", f"must be in [0, 1], got {p_syn}")
    for name, value in synth_overrides(cfg).items():
        problem = check_setting(name, value)
        _check(problem is None, f"synth.{name}", str(problem))


def validate_task(cfg: DictConfig) -> None:
    from .task import check_task  # here: the task module imports torch, config need not

    _check(
        cfg.data.layout in LAYOUTS,
        "data.layout",
        f"expected auto, pairs or gopro, got '{cfg.data.layout}'",
    )
    check_task(cfg)


def validate_loss_terms(cfg: DictConfig) -> None:
    from .losses import COMPOSITE_TERMS  # here: losses imports torch, config need not

    t = cfg.train
    for name, weight in t.loss_terms.items():
        _check(
            name in COMPOSITE_TERMS,
            f"train.loss_terms.{name}",
            f"unknown loss term (known: {', '.join(COMPOSITE_TERMS)})",
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
