"""Network Deconvolution: it whitens its input patches in training and is a plain conv at eval."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.models.deconv import Deconv2d, isqrt_newton_schulz


def correlated(seed: int) -> torch.Tensor:
    """Feature maps whose channels are mixed and whose horizontal neighbours are correlated."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 8, 32, 32, generator=g)
    mix = torch.eye(8) + 0.5 * torch.randn(8, 8, generator=g)
    x = torch.einsum("oc,nchw->nohw", mix, x) + 0.5
    return x + 0.5 * torch.roll(x, 1, 3)


def covariance(rows: torch.Tensor) -> torch.Tensor:
    centred = rows - rows.mean(0)
    return centred.T @ centred / rows.shape[0]


def whitened_conv(
    layer: Deconv2d, x: torch.Tensor, mean: torch.Tensor, deconv: torch.Tensor
) -> torch.Tensor:
    """What the layer stands for, computed the long way: every im2col patch split into channel
    blocks, each block whitened as D (block - mean), then the conv's own weights applied."""
    n, c, h, w = x.shape
    k = layer.kernel_size[0]
    cols = F.unfold(x, k, padding=layer.padding)  # (N, C*k*k, H*W), channel-major
    groups = c // layer.block
    blocks = cols.view(n, groups, layer.block * k * k, h * w) - mean[None, None, :, None]
    white = torch.einsum("fe,ngel->ngfl", deconv, blocks)
    weight = layer.weight.reshape(layer.out_channels, groups, -1)
    out = torch.einsum("ogf,ngfl->nol", weight, white) + layer.bias[None, :, None]
    return out.view(n, layer.out_channels, h, w)


def test_newton_schulz_gives_the_inverse_square_root():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 2, 20, dtype=torch.float64)) @ q.T  # condition 100
    z = isqrt_newton_schulz(a, 30)
    values, vectors = torch.linalg.eigh(a)
    expected = vectors @ torch.diag(values**-0.5) @ vectors.T
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-8)
    torch.testing.assert_close(z @ a @ z, torch.eye(20, dtype=torch.float64), rtol=0, atol=1e-8)


def test_training_mode_whitens_the_patches_the_conv_sees():
    x = correlated(0)
    for n_iter, tolerance in [(5, 0.15), (10, 1e-4)]:  # the paper's 5, and converged
        layer = Deconv2d(8, 4, 3, padding=1, block=4, n_iter=n_iter, sampling_stride=1)
        rows = layer.patches(x)
        assert rows.shape == (4 * 32 * 32 * 2, 36)  # every position, two blocks of 4 channels
        raw = covariance(rows)
        assert (raw - torch.eye(36)).abs().max() > 3  # far from white to begin with
        mean, deconv = layer.batch_statistics(x)
        white = covariance((rows - mean) @ deconv)
        assert (white - torch.eye(36)).abs().max() < tolerance, n_iter
    # And the training-mode output is the conv applied to those whitened patches.
    layer.train()
    torch.testing.assert_close(layer(x), whitened_conv(layer, x, mean, deconv), atol=1e-4, rtol=0)


def test_sampling_stride_uses_a_subset_of_positions():
    layer = Deconv2d(8, 4, 3, padding=1, block=8)  # sampling stride 3: 11 x 11 positions
    assert layer.patches(correlated(0)).shape == (4 * 11 * 11, 72)


def test_running_statistics_follow_the_batches():
    torch.manual_seed(0)
    layer = Deconv2d(8, 4, 3, padding=1, block=8, momentum=0.1).train()
    x = correlated(1)
    mean, deconv = layer.batch_statistics(x)
    layer(x)
    torch.testing.assert_close(layer.running_mean, 0.1 * mean)
    torch.testing.assert_close(layer.running_deconv, 0.9 * torch.eye(72) + 0.1 * deconv)
    # With momentum 1 the running statistics are the last batch's, and eval mode then gives
    # exactly what training mode gave on that batch.
    layer.momentum = 1.0
    train_out = layer(x)
    layer.eval()
    torch.testing.assert_close(layer(x), train_out)


def test_eval_mode_is_a_plain_conv_with_the_folded_weights():
    torch.manual_seed(0)
    layer = Deconv2d(8, 6, 3, padding=1, block=4).train()
    for seed in range(3):
        layer(correlated(seed))
    layer.eval()
    x = correlated(7)
    with torch.no_grad():
        out = layer(x)
        weight, bias = layer.folded()
        conv = nn.Conv2d(8, 6, 3, padding=1)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        torch.testing.assert_close(out, conv(x))
        expected = whitened_conv(layer, x, layer.running_mean, layer.running_deconv)
        torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)
        # Eval mode uses the running statistics, not the batch's.
        assert not torch.allclose(
            out, F.conv2d(x, *layer.folded(*layer.batch_statistics(x)), padding=1)
        )


def test_gradients_reach_the_weights_through_the_whitening():
    layer = Deconv2d(8, 4, 3, padding=1, block=4).train()
    x = correlated(0).requires_grad_(True)
    layer(x).square().mean().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_statistics_stay_in_float32_under_autocast():
    layer = Deconv2d(8, 4, 3, padding=1, block=8).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(correlated(0))
    assert torch.isfinite(out).all()
    assert layer.running_deconv.dtype == torch.float32
    assert not torch.equal(layer.running_deconv, torch.eye(72))
