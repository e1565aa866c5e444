"""Network Deconvolution: a conv layer that whitens its input patches, a drop-in for nn.Conv2d."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def isqrt_newton_schulz(a: torch.Tensor, n_iter: int) -> torch.Tensor:
    """A^(-1/2) of a symmetric positive definite matrix by the coupled Newton-Schulz iteration
    (Higham 2008, as used by Network Deconvolution): Y -> A^(1/2), Z -> A^(-1/2) after scaling A
    by its Frobenius norm, which puts every eigenvalue in (0, 1] where the iteration converges.
    Only matrix products, so it is differentiable and fast on a GPU; the error shrinks
    quadratically once the scaled eigenvalues are near 1, so a badly conditioned A needs more
    iterations."""
    norm = a.norm()
    eye = torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
    y = a / norm
    z = eye
    for _ in range(n_iter):
        t = 0.5 * (3.0 * eye - z @ y)
        y = y @ t
        z = t @ z
    return z / norm.sqrt()


class Deconv2d(nn.Conv2d):
    """Network Deconvolution (Ye et al. 2020, "Network Deconvolution", ICLR): a conv layer that
    first removes the pixel-wise and channel-wise correlation of its input. Each input patch
    (the im2col column a k x k conv reads) is split into blocks of `block` channels; in training
    the blocks' mean and covariance over the batch give D = Cov^(-1/2) (coupled Newton-Schulz,
    `n_iter` steps), and the layer computes conv(D (x - mean)). That is folded into the conv
    itself, W' = W D and b' = b - W' mean, so the cost is one ordinary conv plus the statistics.
    Running averages of the mean and of D (momentum `momentum`, as BatchNorm) replace the batch
    statistics in eval mode, where the layer is exactly a plain conv with the folded weights
    (`folded()`). Gradients flow through D in training, as in the authors' FastDeconv.

    The statistics are computed in float32 with autocast off, whatever the input dtype.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, bias: as nn.Conv2d (square
            kernels, no groups or dilation).
        block: channels per whitening block, capped at in_channels and reduced to a divisor of
            it; the covariance is (block * k * k)^2 (default 64, the paper's).
        n_iter: Newton-Schulz iterations (default 5, the paper's).
        eps: added to the covariance's diagonal (default 1e-5).
        momentum: weight of a batch's statistics in the running ones (default 0.1).
        sampling_stride: the statistics use every sampling_stride-th patch position in each
            direction, 1/9 of them at the default 3 (the paper's speed-up).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        block: int = 64,
        n_iter: int = 5,
        eps: float = 1e-5,
        momentum: float = 0.1,
        sampling_stride: int = 3,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.block = math.gcd(min(block, in_channels), in_channels)
        self.groups_of_channels = in_channels // self.block
        self.features = self.block * kernel_size * kernel_size
        self.n_iter = n_iter
        self.eps = eps
        self.momentum = momentum
        self.sampling_stride = sampling_stride
        self.register_buffer("running_mean", torch.zeros(self.features))
        self.register_buffer("running_deconv", torch.eye(self.features))

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """The sampled im2col patches of x as rows of `features` values, one row per patch
        position and channel block: (samples, block * k * k)."""
        cols = F.unfold(
            x,
            self.kernel_size,
            padding=self.padding,
            stride=self.stride[0] * self.sampling_stride,
        )  # (N, C*k*k, L); the C*k*k axis is channel-major, so blocks of channels are contiguous
        n, _, positions = cols.shape
        cols = cols.view(n, self.groups_of_channels, self.features, positions)
        return cols.permute(0, 1, 3, 2).reshape(-1, self.features)

    def batch_statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, Cov^(-1/2)) of x's patches, in float32."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            rows = self.patches(x.float())
            mean = rows.mean(0)
            centred = rows - mean
            eye = torch.eye(self.features, dtype=rows.dtype, device=rows.device)
            cov = centred.T @ centred / rows.shape[0] + self.eps * eye
            return mean, isqrt_newton_schulz(cov, self.n_iter)

    def folded(
        self, mean: torch.Tensor | None = None, deconv: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight and bias of the plain conv this layer equals for the given statistics
        (default: the running ones, what eval mode uses)."""
        mean = self.running_mean if mean is None else mean
        deconv = self.running_deconv if deconv is None else deconv
        out = self.out_channels
        w = self.weight.float().reshape(out, self.groups_of_channels, self.features) @ deconv
        bias = -(w @ mean).sum(1)
        if self.bias is not None:
            bias = bias + self.bias.float()
        return w.reshape(self.weight.shape), bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean, deconv = self.batch_statistics(x)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_deconv.lerp_(deconv.detach(), self.momentum)
        else:
            mean, deconv = self.running_mean, self.running_deconv
        w, b = self.folded(mean, deconv)
        return F.conv2d(x, w.to(x.dtype), b.to(x.dtype), self.stride, self.padding)
