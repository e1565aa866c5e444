"""The configuration schema: every key a YAML file or an override may set, its type and its
default, as dataclasses (OmegaConf's structured config). Loading, overrides and validation
are in load.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..task.task import DEFAULT_KIND

# The names train.loss and train.loss_terms may use; core/train/losses.py implements each one.
PIXEL_LOSSES = ("l1", "mse", "charbonnier", "l1_mean_y")
LOSS_TERMS = (*PIXEL_LOSSES, "perceptual", "tv")


@dataclass
class TaskConfig:
    # descan: the course competition (leaderboard metric = mean-Y MAE, submission CSV);
    # deblur | denoise | deflare: same-size restoration, RGB PSNR/SSIM, no CSV;
    # sr: super-resolution, train/scan holds LR, train/clean HR = scale x LR, Y PSNR/SSIM.
    kind: str = DEFAULT_KIND
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
    # validation images, so it needs select=inner (honest) or select=best (optimistic CV)
    patience: int = 0
    # The weights each fold contributes: final (the last epoch's, or its EMA: nothing is chosen
    # on the held-out images, so the CV is honest) | best (the epoch with the best monitor on
    # the held-out images: its CV is optimistic; see docs/studies.md, "Which CV to trust") |
    # inner (the best epoch on an inner validation set: whole titles split off the fold's
    # training images, seeded, one title group in prepare.folds, not trained on; best.pt,
    # early stopping and the plateau lr follow it and the held-out fold is never seen during
    # training, so the CV is honest and the length of training is chosen)
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
    # Validation at scale: every val_every epochs, on a fixed seeded subset of val_images of the
    # validation images (0: all; a smaller folder validates on all). The last epoch always
    # validates on all; the CV is computed by infer on every out-of-fold image either way.
    val_every: int = 1
    val_images: int = 64


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
class AutoCandidate:
    name: str = ""  # the experiment is <experiment>-<name>
    overrides: list[str] = field(default_factory=list)  # key=value over the config


def _auto_candidates() -> list[AutoCandidate]:
    # candidates that fail differently: a whole-page correction, a local restorer, the two
    # combined; synthetic scans (this project's simulator, not the folder's scanner) are a
    # setting chosen per folder: off everywhere but in pagenet_synth (the config's share)
    return [
        AutoCandidate("pagenet", ["augment.synthetic_p=0"]),
        AutoCandidate("pagenet_synth", []),
        AutoCandidate("resunet", ["model.name=resunet", "augment.synthetic_p=0"]),
        AutoCandidate("pagenet_local", ["model.args.local=16", "augment.synthetic_p=0"]),
    ]


@dataclass
class AutoConfig:
    # python -m pipeline.auto: the whole procedure's budget in minutes (core/auto/plan.py):
    # each candidate timed first; exactly 3 shortened epochs where 3 full ones do not fit,
    # left out where 3 of 10 steps do not; its share set as each starts, from the time left,
    # so that every candidate trains the same number of steps
    minutes: float = 20.0
    candidates: list[AutoCandidate] = field(default_factory=_auto_candidates)
    # a recipe.json an earlier run wrote: its submission made again from its experiments and
    # weights, nothing trained or chosen anew
    recipe: str = ""


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
    auto: AutoConfig = field(default_factory=AutoConfig)
