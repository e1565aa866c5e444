"""Training losses: pixel losses by name, a VGG16 perceptual loss, total variation, a weighted
composite of them, and the adversarial losses of GAN training. Images are in [0, 1]."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import LOSS_TERMS
from ..util.errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Full-range BT.601 luma weights, as in the leaderboard's BGR->YUV conversion.
_LUMA = (0.299, 0.587, 0.114)


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier loss (a smooth L1), as in LapSRN and MPRNet."""
    return torch.sqrt((pred - target) ** 2 + eps**2).mean()


def mean_y_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Absolute difference of each (B,3,H,W) sample's mean luma, averaged over the batch: the
    leaderboard metric of a patch, in [0, 1] units."""
    luma = pred.new_tensor(_LUMA).view(1, 3, 1, 1)
    return ((pred - target) * luma).sum(1).mean(dim=(-2, -1)).abs().mean()


def l1_mean_y(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 plus the patch's mean-luma error. L1 alone pulls each pixel to the median of what it
    could be, which is biased wherever the clean value is uncertain (text edges, halftone dots);
    the second term holds the mean, which is all the leaderboard scores, unbiased."""
    return F.l1_loss(pred, target) + mean_y_error(pred, target)


LOSSES: dict[str, LossFn] = {
    "l1": F.l1_loss,
    "mse": F.mse_loss,
    "charbonnier": charbonnier,
    "l1_mean_y": l1_mean_y,
}


def build_loss(name: str) -> LossFn:
    if name not in LOSSES:
        raise UserError(f"train.loss: unknown loss '{name}' (known: {', '.join(sorted(LOSSES))})")
    return LOSSES[name]


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of (B,C,H,W) images: the absolute differences between
    vertical and horizontal neighbours, summed over each image's pixels and channels (as
    tf.image.total_variation), averaged over the batch. A sum, so it grows with the crop size:
    the deblurring recipe's weight of 5e-5 is for 256x256 crops."""
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().sum(dim=(1, 2, 3))
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().sum(dim=(1, 2, 3))
    return (dy + dx).mean()


# torchvision's VGG16 `features`: conv widths per block, each block ending in a max-pool.
_VGG16_BLOCKS = (64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
VGG16_WEIGHTS_HINT = (
    "the perceptual loss needs ImageNet VGG16 weights in a local file and never downloads them: "
    "save torchvision's vgg16(weights='IMAGENET1K_V1').state_dict() (vgg16-397923af.pth) on a "
    "machine with internet access and point {key} at it; pretrained weights are banned in the "
    "descanning competition, so use this loss only where the rules allow them"
)


def vgg16_layer_indices() -> dict[str, int]:
    """VGG16 conv names ("conv1_1" ... "conv5_3") -> index in torchvision's vgg16().features
    of the ReLU after that conv: the activation the perceptual loss compares."""
    indices, i = {}, 0
    for block, widths in enumerate(_VGG16_BLOCKS, start=1):
        for conv in range(1, len(widths) + 1):
            indices[f"conv{block}_{conv}"] = i + 1  # conv at i, its ReLU at i + 1
            i += 2
        i += 1  # the max-pool
    return indices


def _vgg16_features(depth: int) -> nn.Sequential:
    """torchvision's vgg16().features up to index `depth` (inclusive), randomly initialised."""
    layers: list[nn.Module] = []
    c_in = 3
    for widths in _VGG16_BLOCKS:
        for c in widths:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = c
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers[: depth + 1])


def load_vgg16_features(path: str | Path | None, depth: int, key: str) -> nn.Sequential:
    """VGG16's feature layers up to `depth`, weights from the local file `path` (a torchvision
    vgg16 state dict, "features.N.weight" keys, or the features' own, "N.weight"); frozen.
    `key` names the config key that gives the path, for the error messages."""
    if not path:
        raise UserError(
            f"{key}: no VGG16 weights file given; " + VGG16_WEIGHTS_HINT.format(key=key)
        )
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{key}: VGG16 weights file {path} not found; " + VGG16_WEIGHTS_HINT.format(key=key)
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged or foreign file can raise nearly anything
        raise UserError(f"{path}: not a PyTorch state dict ({e})") from None
    if not isinstance(state, Mapping):
        raise UserError(f"{path}: not a PyTorch state dict (found a {type(state).__name__})")
    if any(k.startswith("features.") for k in state):
        state = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    features = _vgg16_features(depth)
    wanted = features.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise UserError(f"{path}: not VGG16 weights (no '{missing[0]}' or 'features.{missing[0]}')")
    for k, v in wanted.items():
        if state[k].shape != v.shape:
            raise UserError(
                f"{path}: not VGG16 weights ('{k}' is {tuple(state[k].shape)}, "
                f"expected {tuple(v.shape)})"
            )
    features.load_state_dict({k: state[k] for k in wanted})
    features.requires_grad_(False)
    return features.eval()


class PerceptualLoss(nn.Module):
    """Perceptual (feature) loss (Johnson et al. 2016, "Perceptual Losses for Real-Time Style
    Transfer and Super-Resolution"): the mean squared difference between VGG16 activations of
    prediction and target, averaged over `layers`; images are normalised with the ImageNet mean
    and std first. VGG16 is torchvision's architecture with ImageNet weights read from a local
    file (nothing is downloaded); its weights are frozen, gradients flow to the prediction only.

    Args:
        weights: path of a torchvision vgg16 state dict (vgg16-397923af.pth).
        layers: activations compared, after the ReLU of each named conv
            (default ("conv1_2", "conv2_2", "conv3_3"), the deblurring recipe's).
        key: the config key that gives `weights`, named in error messages
            (default "train.vgg_weights").
    """

    def __init__(
        self,
        weights: str | Path | None,
        layers: tuple[str, ...] = ("conv1_2", "conv2_2", "conv3_3"),
        key: str = "train.vgg_weights",
    ) -> None:
        super().__init__()
        indices = vgg16_layer_indices()
        unknown = [name for name in layers if name not in indices]
        if unknown or not layers:
            raise ValueError(f"unknown VGG16 layer(s) {unknown} (known: {', '.join(indices)})")
        self.taps = sorted(indices[name] for name in layers)
        self.features = load_vgg16_features(weights, self.taps[-1], key)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The VGG16 activations at the loss's layers, shallowest first."""
        out = []
        y = (x - self.mean) / self.std
        for i, layer in enumerate(self.features):
            y = layer(y)
            if i in self.taps:
                out.append(y)
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            wanted = self.activations(target)
        got = self.activations(pred)
        return torch.stack([F.mse_loss(a, b) for a, b in zip(got, wanted, strict=True)]).mean()


COMPOSITE_TERMS = LOSS_TERMS  # the config names them (config/schema.py), this module builds them


class CompositeLoss(nn.Module):
    """A weighted sum of named terms, e.g. {"l1": 1, "perceptual": 0.2, "tv": 5e-5} (the
    deblurring recipe): pixel losses ("l1", "mse", "charbonnier") and "perceptual" compare
    prediction and target, "tv" is the prediction's total variation. After each call
    `last_terms` holds every term's unweighted value (detached), for logging.

    Args:
        weights: term name -> weight; terms with weight 0 are left out.
        vgg_weights: the VGG16 weights file, needed when "perceptual" is used.
        key: config key of the term weights, named in error messages
            (default "train.loss_terms").
        vgg_key: config key of vgg_weights, named in error messages
            (default "train.vgg_weights").
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        vgg_weights: str | Path | None = None,
        key: str = "train.loss_terms",
        vgg_key: str = "train.vgg_weights",
    ) -> None:
        super().__init__()
        unknown = [name for name in weights if name not in COMPOSITE_TERMS]
        if unknown:
            raise UserError(
                f"{key}.{unknown[0]}: unknown loss term (known: {', '.join(COMPOSITE_TERMS)})"
            )
        self.weights = {name: float(w) for name, w in weights.items() if w != 0}
        if not self.weights:
            raise UserError(f"{key}: no loss term with a non-zero weight")
        self.perceptual = (
            PerceptualLoss(vgg_weights, key=vgg_key) if "perceptual" in self.weights else None
        )
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        terms = {}
        for name in self.weights:
            if name == "perceptual":
                terms[name] = self.perceptual(pred, target)
            elif name == "tv":
                terms[name] = total_variation(pred)
            else:
                terms[name] = LOSSES[name](pred, target)
        self.last_terms = {name: value.detach() for name, value in terms.items()}
        return sum(self.weights[name] * value for name, value in terms.items())


GAN_MODES = ("vanilla", "lsgan")


def _gan_target(logits: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    target = torch.full_like(logits, 1.0 if real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(logits, target)
    if mode == "lsgan":
        return F.mse_loss(logits, target)
    raise ValueError(f"GAN loss mode must be one of {', '.join(GAN_MODES)}, got '{mode}'")


def gan_generator_loss(fake_logits: torch.Tensor, mode: str = "vanilla") -> torch.Tensor:
    """The generator's adversarial loss: how far the discriminator's logits for generated
    images are from "real". "vanilla" is the non-saturating -log D(G(x)) of Goodfellow et al.
    2014 (as SRGAN's 1e-3 adversarial term and pix2pix); "lsgan" is (D(G(x)) - 1)^2 (Mao et
    al. 2017). Call it with the discriminator's output on the generator's output, not
    detached, so the gradient reaches the generator."""
    return _gan_target(fake_logits, True, mode)


def gan_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: str = "vanilla"
) -> torch.Tensor:
    """The discriminator's loss: real images towards "real", generated ones towards "fake",
    the two halves averaged (pix2pix's 0.5 factor, which slows D relative to G). Compute the
    fake logits on generator outputs detached from the generator's graph."""
    return 0.5 * (_gan_target(real_logits, True, mode) + _gan_target(fake_logits, False, mode))
